import { PNG } from 'pngjs';
import { checkSize } from './raster.js';

/** An RGBA picture in memory. */
export interface Picture {
  width: number;
  height: number;
  data: Buffer;
}

/** Decodes a PNG; anything else is refused with a message for the job's owner. */
export function decodePng(bytes: Buffer): Picture {
  try {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, data: png.data };
  } catch {
    throw new Error('the image is not a PNG file that can be read');
  }
}

export function encodePng(p: Picture): Buffer {
  const png = new PNG({ width: p.width, height: p.height });
  png.data = p.data;
  // One row filter (Paeth) instead of trying all five per row: about twice as fast, and as small
  // (within 0.1 %) on these pictures.
  return PNG.sync.write(png, { filterType: 4 });
}

/**
 * Bilinear resize: smooth enough for an upscaler that runs offline. The source columns and
 * weights of each output column are worked out once, not once per pixel and channel.
 */
export function resize(src: Picture, width: number, height: number): Picture {
  checkSize(width, height);
  const out = Buffer.alloc(width * height * 4);
  const data = src.data;
  const sx = src.width / width;
  const sy = src.height / height;
  const left = new Int32Array(width);
  const right = new Int32Array(width);
  const wxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(src.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    const x0 = Math.floor(fx);
    left[x] = x0 * 4;
    right[x] = Math.min(src.width - 1, x0 + 1) * 4;
    wxs[x] = fx - x0;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(src.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const row0 = y0 * src.width * 4;
    const row1 = Math.min(src.height - 1, y0 + 1) * src.width * 4;
    let o = y * width * 4;
    for (let x = 0; x < width; x++) {
      const wx = wxs[x]!;
      const a = row0 + left[x]!;
      const b = row0 + right[x]!;
      const c = row1 + left[x]!;
      const d = row1 + right[x]!;
      for (let ch = 0; ch < 4; ch++) {
        const top = data[a + ch]! * (1 - wx) + data[b + ch]! * wx;
        const bottom = data[c + ch]! * (1 - wx) + data[d + ch]! * wx;
        out[o++] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { width, height, data: out };
}

/** Places pictures side by side at one height, with a thin gap. */
export function sideBySide(pictures: Picture[], height: number, gap = 8): Picture {
  const scaled = pictures.map((p) => resize(p, Math.max(1, Math.round((p.width * height) / p.height)), height));
  const width = scaled.reduce((w, p) => w + p.width, 0) + gap * (scaled.length - 1);
  checkSize(width, height);
  const out = Buffer.alloc(width * height * 4, 255);
  let left = 0;
  for (const p of scaled) {
    for (let y = 0; y < height; y++) p.data.copy(out, (y * width + left) * 4, y * p.width * 4, (y + 1) * p.width * 4);
    left += p.width + gap;
  }
  return { width, height, data: out };
}
