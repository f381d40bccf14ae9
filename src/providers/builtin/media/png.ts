import { PNG } from 'pngjs';
import { Canvas, checkSize, paintScene, planScene } from './raster.js';

/**
 * Renders a deterministic PNG for a prompt: a gradient, a few translucent
 * shapes and the prompt's first characters as a caption. `seed` lets callers
 * ask for variations of the same prompt.
 */
export function renderPng(p: { prompt: string; width: number; height: number; seed?: number }): Buffer {
  checkSize(p.width, p.height);
  const canvas = new Canvas(p.width, p.height);
  paintScene(canvas, planScene(p.prompt, p.width, p.height, p.seed ?? 0), p.prompt);
  const png = new PNG({ width: p.width, height: p.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  // Opaque RGB output (colorType 2) is about a quarter smaller than RGBA and loses nothing here.
  return PNG.sync.write(png, { colorType: 2 });
}
