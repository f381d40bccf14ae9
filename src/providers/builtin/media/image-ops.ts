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
  return PNG.sync.write(png);
}

/** Bilinear resize: smooth enough for an upscaler that runs offline in a few milliseconds. */
export function resize(src: Picture, width: number, height: number): Picture {
  checkSize(width, height);
  const out = Buffer.alloc(width * height * 4);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(src.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(src.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(src.width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const at = (xx: number, yy: number) => src.data[(yy * src.width + xx) * 4 + c] as number;
        const top = at(x0, y0) * (1 - wx) + at(x1, y0) * wx;
        const bottom = at(x0, y1) * (1 - wx) + at(x1, y1) * wx;
        out[(y * width + x) * 4 + c] = Math.round(top * (1 - wy) + bottom * wy);
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
