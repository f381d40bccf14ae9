import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { renderPng } from '../../src/providers/builtin/media/png.js';
import { renderGifAnimation } from '../../src/providers/builtin/media/gif.js';
import { renderWav } from '../../src/providers/builtin/media/wav.js';
import { renderText } from '../../src/providers/builtin/media/text.js';

/** Walks the GIF block structure so we check real frames, not stray 0x2C bytes inside LZW data. */
function parseGif(buf: Buffer): { width: number; height: number; frames: Buffer[]; controlExts: number; loops: boolean } {
  let pos = 13;
  const flags = buf[10]!;
  if (flags & 0x80) pos += 3 * 2 ** ((flags & 7) + 1);
  const skipSubBlocks = (): void => {
    while (buf[pos] !== 0) {
      assert.ok(pos < buf.length, 'sub-block runs past end of file');
      pos += buf[pos]! + 1;
    }
    pos += 1;
  };
  const frames: Buffer[] = [];
  let controlExts = 0;
  let loops = false;
  for (;;) {
    const tag = buf[pos];
    if (tag === 0x3b) {
      assert.equal(pos, buf.length - 1, 'trailer must be the last byte');
      break;
    } else if (tag === 0x21) {
      const label = buf[pos + 1];
      if (label === 0xf9) controlExts++;
      if (label === 0xff && buf.toString('ascii', pos + 3, pos + 14) === 'NETSCAPE2.0') loops = true;
      pos += 2;
      skipSubBlocks();
    } else if (tag === 0x2c) {
      const local = buf[pos + 9]!;
      pos += 10;
      if (local & 0x80) pos += 3 * 2 ** ((local & 7) + 1);
      const start = pos;
      pos += 1; // LZW minimum code size
      skipSubBlocks();
      frames.push(buf.subarray(start, pos));
    } else {
      assert.fail(`unexpected GIF block 0x${tag?.toString(16)} at ${pos}`);
    }
  }
  return { width: buf.readUInt16LE(6), height: buf.readUInt16LE(8), frames, controlExts, loops };
}

describe('renderPng', () => {
  it('decodes to the requested size and is not a single colour', () => {
    const out = renderPng({ prompt: 'a red fox in the snow', width: 96, height: 64 });
    const png = PNG.sync.read(out);
    assert.equal(png.width, 96);
    assert.equal(png.height, 64);
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) colours.add(png.data.readUInt32BE(i));
    assert.ok(colours.size > 50, `expected a varied picture, got ${colours.size} colours`);
  });

  it('is deterministic per prompt and seed', () => {
    const a = renderPng({ prompt: 'sunset over hills', width: 40, height: 30 });
    assert.deepEqual(a, renderPng({ prompt: 'sunset over hills', width: 40, height: 30 }));
    assert.notDeepEqual(a, renderPng({ prompt: 'a blue whale', width: 40, height: 30 }));
    assert.notDeepEqual(a, renderPng({ prompt: 'sunset over hills', width: 40, height: 30, seed: 7 }));
  });

  it('handles tiny sizes and empty prompts, rejects bad sizes', () => {
    assert.equal(PNG.sync.read(renderPng({ prompt: '', width: 1, height: 1 })).width, 1);
    assert.throws(() => renderPng({ prompt: 'x', width: 0, height: 10 }), RangeError);
    assert.throws(() => renderPng({ prompt: 'x', width: 10.5, height: 10 }), RangeError);
  });
});

describe('renderGifAnimation', () => {
  it('writes a well-formed looping GIF89a with one frame per request', () => {
    const out = renderGifAnimation({ prompt: 'bouncing balls', width: 48, height: 32, frames: 6, fps: 10 });
    assert.equal(out.toString('ascii', 0, 6), 'GIF89a');
    const gif = parseGif(out);
    assert.equal(gif.width, 48);
    assert.equal(gif.height, 32);
    assert.equal(gif.frames.length, 6);
    // Moving shapes mean the compressed pixel data must change between frames.
    assert.ok(new Set(gif.frames.map((f) => f.toString('base64'))).size > 1, 'frames are all identical');
    assert.equal(gif.controlExts, 6);
    assert.ok(gif.loops, 'expected a NETSCAPE2.0 loop extension');
    assert.equal(out[out.length - 1], 0x3b);
  });

  it('is deterministic and prompt-dependent', () => {
    const p = { prompt: 'orbiting moons', width: 24, height: 24, frames: 3, fps: 8 };
    assert.deepEqual(renderGifAnimation(p), renderGifAnimation(p));
    assert.notDeepEqual(renderGifAnimation(p), renderGifAnimation({ ...p, prompt: 'falling leaves' }));
  });

  it('rejects invalid frame counts', () => {
    assert.throws(() => renderGifAnimation({ prompt: 'x', width: 8, height: 8, frames: 0, fps: 10 }), RangeError);
  });
});

describe('renderWav', () => {
  it('writes a consistent 16-bit mono PCM RIFF file of the right length', () => {
    const seconds = 1.5;
    const out = renderWav({ prompt: 'a calm piano tune', seconds });
    assert.equal(out.toString('ascii', 0, 4), 'RIFF');
    assert.equal(out.readUInt32LE(4), out.length - 8);
    assert.equal(out.toString('ascii', 8, 12), 'WAVE');
    assert.equal(out.toString('ascii', 12, 16), 'fmt ');
    assert.equal(out.readUInt32LE(16), 16);
    assert.equal(out.readUInt16LE(20), 1, 'PCM');
    assert.equal(out.readUInt16LE(22), 1, 'mono');
    assert.equal(out.readUInt32LE(24), 22050);
    assert.equal(out.readUInt32LE(28), 22050 * 2);
    assert.equal(out.readUInt16LE(32), 2);
    assert.equal(out.readUInt16LE(34), 16);
    assert.equal(out.toString('ascii', 36, 40), 'data');
    const dataBytes = out.readUInt32LE(40);
    assert.equal(dataBytes, out.length - 44);
    const samples = dataBytes / 2;
    assert.ok(Math.abs(samples - seconds * 22050) <= 1, `got ${samples} samples`);
    let peak = 0;
    for (let i = 44; i < out.length; i += 2) peak = Math.max(peak, Math.abs(out.readInt16LE(i)));
    assert.ok(peak > 3000, `expected audible output, peak ${peak}`);
  });

  it('honours a custom sample rate and is deterministic per prompt', () => {
    const out = renderWav({ prompt: 'drums', seconds: 0.25, sampleRate: 8000 });
    assert.equal(out.readUInt32LE(24), 8000);
    assert.equal(out.readUInt32LE(40), 2000 * 2);
    assert.deepEqual(out, renderWav({ prompt: 'drums', seconds: 0.25, sampleRate: 8000 }));
    assert.notDeepEqual(out, renderWav({ prompt: 'flute', seconds: 0.25, sampleRate: 8000 }));
    assert.throws(() => renderWav({ prompt: 'x', seconds: -1 }), RangeError);
  });
});

describe('renderText', () => {
  it('is non-empty, deterministic and mentions the prompt', () => {
    const text = renderText({ prompt: 'A lighthouse during a storm' });
    assert.ok(text.length > 40);
    assert.equal(text, renderText({ prompt: 'A lighthouse during a storm' }));
    assert.match(text, /lighthouse/);
    assert.notEqual(text, renderText({ prompt: 'A garden in spring' }));
  });

  it('returns a sentence for an empty prompt and respects maxWords', () => {
    const empty = renderText({ prompt: '   ' });
    assert.match(empty, /^[A-Z].*\.$/);
    const short = renderText({ prompt: 'mountain cabin at dawn', maxWords: 5 });
    assert.equal(short.split(' ').length, 5);
    assert.match(short, /\.$/);
  });
});
