import { createHash } from 'node:crypto';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from './font5x7.js';

export type Rgb = readonly [number, number, number];

/**
 * Deterministic PRNG (mulberry32) seeded from sha256 of the prompt, so the same
 * prompt always renders the same bytes. `salt` keeps the image, sound and text
 * streams independent of each other.
 */
export function promptRandom(prompt: string, salt: string, seed = 0): () => number {
  let state = createHash('sha256').update(`${salt}\0${seed}\0${prompt}`).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HSL (all 0..1) to 8-bit RGB; hue-based palettes keep the random colours harmonious. */
export function hsl(h: number, s: number, l: number): Rgb {
  const f = (n: number): number => {
    const k = (n + h * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Rejects sizes that would be meaningless or exhaust memory before any allocation. */
export function checkSize(width: number, height: number, max = 4096): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new RangeError(`${name} must be an integer between 1 and ${max}, got ${v}`);
    }
  }
}

/** A minimal opaque RGBA canvas; every draw blends with `alpha` so overlapping shapes stay visible. */
export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number) {
    this.data = new Uint8Array(width * height * 4);
  }

  private blend(x: number, y: number, c: Rgb, alpha: number): void {
    const i = (y * this.width + x) * 4;
    const d = this.data;
    d[i] = Math.round(d[i]! + (c[0] - d[i]!) * alpha);
    d[i + 1] = Math.round(d[i + 1]! + (c[1] - d[i + 1]!) * alpha);
    d[i + 2] = Math.round(d[i + 2]! + (c[2] - d[i + 2]!) * alpha);
    d[i + 3] = 255;
  }

  /** Diagonal gradient: uses both axes so even 1-pixel-tall images are not flat. */
  fillGradient(from: Rgb, to: Rgb): void {
    const span = Math.max(1, this.width + this.height - 2);
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const t = (x + y) / span;
        const i = (y * this.width + x) * 4;
        this.data[i] = Math.round(from[0] + (to[0] - from[0]) * t);
        this.data[i + 1] = Math.round(from[1] + (to[1] - from[1]) * t);
        this.data[i + 2] = Math.round(from[2] + (to[2] - from[2]) * t);
        this.data[i + 3] = 255;
      }
    }
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.blend(px, py, c, alpha);
  }

  fillCircle(cx: number, cy: number, r: number, c: Rgb, alpha = 1): void {
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + r));
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + r));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        // Soften the last pixel of the rim so edges do not look jagged.
        const edge = r - Math.hypot(px + 0.5 - cx, py + 0.5 - cy);
        if (edge > 0) this.blend(px, py, c, alpha * Math.min(1, edge));
      }
    }
  }

  /** Draws text with the 5x7 font; characters the font lacks are skipped. Returns the drawn width. */
  drawText(text: string, x: number, y: number, scale: number, c: Rgb, alpha = 1): number {
    let cursor = x;
    for (const ch of text) {
      const rows = glyphRows(ch);
      if (!rows) continue;
      rows.forEach((bits, row) => {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (bits & (0x10 >> col)) this.fillRect(cursor + col * scale, y + row * scale, scale, scale, c, alpha);
        }
      });
      cursor += (GLYPH_WIDTH + 1) * scale;
    }
    return cursor - x;
  }
}

/** Keeps only characters the font can draw, so layout maths matches what is rendered. */
export function drawableText(text: string): string {
  return [...text.toUpperCase()].filter((ch) => glyphRows(ch) !== undefined).join('').replace(/\s+/g, ' ').trim();
}

/**
 * Draws a caption (the prompt's first characters) centred near the bottom, on a
 * translucent band with a drop shadow so it reads over any background.
 */
export function drawCaption(canvas: Canvas, prompt: string, ink: Rgb): void {
  const margin = Math.max(2, Math.floor(canvas.width / 16));
  const maxChars = Math.floor((canvas.width - 2 * margin) / (GLYPH_WIDTH + 1));
  const full = drawableText(prompt);
  let text = full.slice(0, Math.min(24, maxChars));
  // Prefer ending on a whole word when the prompt had to be cut.
  if (text.length < full.length && text.lastIndexOf(' ') > 0) text = text.slice(0, text.lastIndexOf(' '));
  text = text.replace(/[\s,:/-]+$/, '');
  if (text.length === 0 || canvas.height < GLYPH_HEIGHT + 4) return;
  const fit = Math.floor((canvas.width - 2 * margin) / (text.length * (GLYPH_WIDTH + 1)));
  const scale = Math.max(1, Math.min(fit, Math.floor(canvas.height / 5 / GLYPH_HEIGHT)));
  const textW = text.length * (GLYPH_WIDTH + 1) * scale - scale;
  const x = Math.round((canvas.width - textW) / 2);
  const y = canvas.height - margin - GLYPH_HEIGHT * scale;
  canvas.fillRect(0, y - 2 * scale, canvas.width, (GLYPH_HEIGHT + 4) * scale, [0, 0, 0], 0.35);
  canvas.drawText(text, x + Math.max(1, scale >> 1), y + Math.max(1, scale >> 1), scale, [0, 0, 0], 0.6);
  canvas.drawText(text, x, y, scale, ink);
}

export interface Shape {
  kind: 'circle' | 'rect';
  x: number; y: number; size: number; // centre and radius / half-side, in pixels
  dx: number; dy: number; phase: number; // orbit used by animations
  color: Rgb; alpha: number;
}

export interface Scene { from: Rgb; to: Rgb; ink: Rgb; shapes: Shape[] }

/** Picks a harmonious palette and a handful of shapes, all from the prompt hash. */
export function planScene(prompt: string, width: number, height: number, seed = 0): Scene {
  const rand = promptRandom(prompt, 'scene', seed);
  const hue = rand();
  const minSide = Math.min(width, height);
  const shapes: Shape[] = [];
  const count = 5 + Math.floor(rand() * 5);
  for (let i = 0; i < count; i++) {
    shapes.push({
      kind: rand() < 0.6 ? 'circle' : 'rect',
      x: rand() * width,
      y: rand() * height,
      size: minSide * (0.06 + rand() * 0.18),
      dx: width * (0.05 + rand() * 0.15) * (rand() < 0.5 ? -1 : 1),
      dy: height * (0.05 + rand() * 0.15) * (rand() < 0.5 ? -1 : 1),
      phase: rand(),
      // Analogous and complementary hues so shapes contrast with the background.
      color: hsl((hue + [0.08, 0.5, 0.58, 0.92][i % 4]! + rand() * 0.05) % 1, 0.55 + rand() * 0.4, 0.35 + rand() * 0.35),
      alpha: 0.55 + rand() * 0.35,
    });
  }
  return {
    from: hsl(hue, 0.6, 0.25 + rand() * 0.15),
    to: hsl((hue + 0.15 + rand() * 0.2) % 1, 0.7, 0.6 + rand() * 0.15),
    ink: hsl((hue + 0.5) % 1, 0.3, 0.92),
    shapes,
  };
}

/** Paints the scene at animation time `t` in [0, 1); t = 0 is the still image. */
export function paintScene(canvas: Canvas, scene: Scene, prompt: string, t = 0): void {
  canvas.fillGradient(scene.from, scene.to);
  for (const s of scene.shapes) {
    // Sine/cosine of a whole turn makes every shape return to its start, so loops are seamless.
    const a = 2 * Math.PI * (t + s.phase);
    const x = s.x + s.dx * (Math.sin(a) - Math.sin(2 * Math.PI * s.phase));
    const y = s.y + s.dy * (Math.cos(a) - Math.cos(2 * Math.PI * s.phase));
    if (s.kind === 'circle') canvas.fillCircle(x, y, s.size, s.color, s.alpha);
    else canvas.fillRect(x - s.size, y - s.size, 2 * s.size, 2 * s.size, s.color, s.alpha);
  }
  drawCaption(canvas, prompt, scene.ink);
}
