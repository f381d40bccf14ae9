import gifenc from 'gifenc';
import { Canvas, checkSize, paintScene, planScene } from './raster.js';

// gifenc is CommonJS; Node only exposes its exports object as the default import.
const { GIFEncoder, quantize, applyPalette } = gifenc;

/** Upper bound on frames so a single request cannot tie up the process for long. */
const MAX_FRAMES = 600;

/**
 * Renders a looping animated GIF: the still-image scene with its shapes
 * orbiting so the last frame flows back into the first.
 */
export function renderGifAnimation(p: { prompt: string; width: number; height: number; frames: number; fps: number }): Buffer {
  checkSize(p.width, p.height, 1024);
  if (!Number.isInteger(p.frames) || p.frames < 1 || p.frames > MAX_FRAMES) {
    throw new RangeError(`frames must be an integer between 1 and ${MAX_FRAMES}, got ${p.frames}`);
  }
  if (!Number.isFinite(p.fps) || p.fps <= 0 || p.fps > 100) {
    throw new RangeError(`fps must be a number in (0, 100], got ${p.fps}`);
  }
  const scene = planScene(p.prompt, p.width, p.height);
  const frameBytes = p.width * p.height * 4;
  const all = new Uint8Array(frameBytes * p.frames);
  for (let f = 0; f < p.frames; f++) {
    const canvas = new Canvas(p.width, p.height);
    paintScene(canvas, scene, p.prompt, f / p.frames);
    all.set(canvas.data, f * frameBytes);
  }
  // One palette for the whole clip keeps colours stable between frames (no flicker)
  // and lets every frame reuse the global colour table.
  const palette = quantize(all, 256);
  const gif = GIFEncoder();
  const delay = Math.round(1000 / p.fps);
  for (let f = 0; f < p.frames; f++) {
    // slice (a copy), not subarray: applyPalette views `rgba.buffer` from offset 0,
    // so a subarray would silently re-encode the first frame every time.
    const index = applyPalette(all.slice(f * frameBytes, (f + 1) * frameBytes), palette);
    gif.writeFrame(index, p.width, p.height, f === 0 ? { palette, delay, repeat: 0 } : { delay });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}
