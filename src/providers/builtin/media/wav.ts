import { promptRandom } from './raster.js';

const MAX_SECONDS = 600;
const HEADER_BYTES = 44;
// Major pentatonic: any sequence of these sounds consonant, so random picks stay musical.
const PENTATONIC = [0, 2, 4, 7, 9, 12, 14, 16];

const midiToHz = (note: number): number => 440 * 2 ** ((note - 69) / 12);

/**
 * Renders a short deterministic melody for a prompt as 16-bit mono PCM WAV.
 * Every note ramps up from and back down to silence, so there are no clicks at note boundaries.
 */
export function renderWav(p: { prompt: string; seconds: number; sampleRate?: number }): Buffer {
  const sampleRate = p.sampleRate ?? 22050;
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 192000) {
    throw new RangeError(`sampleRate must be an integer between 8000 and 192000, got ${sampleRate}`);
  }
  if (!Number.isFinite(p.seconds) || p.seconds <= 0 || p.seconds > MAX_SECONDS) {
    throw new RangeError(`seconds must be in (0, ${MAX_SECONDS}], got ${p.seconds}`);
  }
  const total = Math.max(1, Math.round(p.seconds * sampleRate));
  const samples = new Float32Array(total);

  const rand = promptRandom(p.prompt, 'melody');
  const root = 52 + Math.floor(rand() * 12);
  const beat = Math.round(sampleRate * (0.18 + rand() * 0.14));
  for (let start = 0; start < total; ) {
    const length = Math.min(total - start, beat * (rand() < 0.7 ? 1 : 2));
    const rest = rand() < 0.1; // an occasional rest gives the line some phrasing
    if (!rest) addNote(samples, start, length, midiToHz(root + PENTATONIC[Math.floor(rand() * PENTATONIC.length)]!), sampleRate);
    start += length;
  }
  // A quiet drone on the root an octave down keeps rests from being dead silence.
  addNote(samples, 0, total, midiToHz(root - 12), sampleRate, 0.12);

  const dataBytes = total * 2;
  const out = Buffer.alloc(HEADER_BYTES + dataBytes);
  writeHeader(out, sampleRate, dataBytes);
  for (let i = 0; i < total; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(Math.round(v * 32767), HEADER_BYTES + i * 2);
  }
  return out;
}

/** Adds a sine with a little second harmonic, shaped by attack / exponential decay / release. */
function addNote(buf: Float32Array, start: number, length: number, hz: number, rate: number, gain = 0.45): void {
  const attack = Math.min(length / 2, Math.round(rate * 0.01));
  const release = Math.min(length / 2, Math.round(rate * 0.03));
  for (let i = 0; i < length; i++) {
    const t = i / rate;
    let env = Math.exp(-3 * t / (length / rate));
    if (i < attack) env *= i / attack;
    if (i > length - release) env *= (length - i) / release;
    const phase = 2 * Math.PI * hz * t;
    buf[start + i]! += gain * env * (Math.sin(phase) + 0.3 * Math.sin(2 * phase));
  }
}

/** The canonical 44-byte RIFF/WAVE header for 16-bit mono PCM. */
function writeHeader(out: Buffer, sampleRate: number, dataBytes: number): void {
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4); // everything after this field
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16); // PCM fmt chunk size
  out.writeUInt16LE(1, 20); // format: PCM
  out.writeUInt16LE(1, 22); // channels
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
}
