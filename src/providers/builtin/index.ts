import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { renderPng } from './media/png.js';
import { renderGifAnimation } from './media/gif.js';
import { renderWav } from './media/wav.js';
import { renderText } from './media/text.js';
import { decodePng, encodePng, resize, sideBySide } from './media/image-ops.js';
import type { FileStore } from '../../files/file-store.js';

/**
 * The built-in models: they run offline on this machine and produce real files, so the whole
 * path (charge, queue, execute, store, serve, refund) can be exercised without any service.
 */
const SIZES: Record<string, [number, number]> = {
  '1:1': [512, 512], '16:9': [640, 360], '9:16': [360, 640], '4:3': [512, 384], '3:4': [384, 512],
};

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
const size = (input: Record<string, unknown>, scale = 1): [number, number] => {
  const [w, h] = SIZES[str(input.aspect_ratio, '1:1')] ?? [512, 512];
  return [Math.round(w * scale), Math.round(h * scale)];
};

/** Reads an image input: only files this server stored (no network fetches from built-in models). */
async function readImage(files: FileStore, url: string): Promise<ReturnType<typeof decodePng>> {
  const bytes = await files.readByUrl(url);
  if (!bytes) throw new ProviderError(`cannot read ${url}: built-in models read only images stored by this server`);
  try {
    return decodePng(bytes);
  } catch (err) {
    throw new ProviderError(`${url}: ${(err as Error).message}`);
  }
}

const HANDLERS: Record<string, (ctx: RunContext) => Promise<Record<string, unknown>>> = {
  async image({ jobId, input, files }) {
    const [width, height] = size(input);
    const png = renderPng({ prompt: str(input.prompt), width, height, seed: num(input.seed, 0) });
    return { outputImage: await files.save({ jobId, extension: 'png', data: png }) };
  },

  /** Enlarges a PNG by `scale` with bilinear filtering. */
  async upscale({ jobId, input, files, signal }) {
    const picture = await readImage(files, str(input.image_url));
    const scale = num(input.scale, 2);
    await sleep(0, undefined, { signal });
    const bigger = resize(picture, picture.width * scale, picture.height * scale);
    return { outputImage: await files.save({ jobId, extension: 'png', data: encodePng(bigger) }) };
  },

  /** Sets several PNGs side by side at one height. */
  async collage({ jobId, input, files, signal }) {
    const urls = Array.isArray(input.images) ? (input.images as string[]) : [];
    const pictures = await Promise.all(urls.map((u) => readImage(files, u)));
    await sleep(0, undefined, { signal });
    const sheet = sideBySide(pictures, num(input.height, 256));
    return { outputImage: await files.save({ jobId, extension: 'png', data: encodePng(sheet) }) };
  },

  async video({ jobId, input, files, signal }) {
    const [width, height] = size(input, 0.5);
    const fps = 10;
    const frames = Math.max(1, Math.round(num(input.duration_seconds, 2) * fps));
    // Yield once so a cancel that arrives right after the claim is seen before the work starts.
    await sleep(0, undefined, { signal });
    const gif = renderGifAnimation({ prompt: str(input.prompt), width, height, frames, fps });
    return { outputVideo: await files.save({ jobId, extension: 'gif', data: gif }) };
  },

  async audio({ jobId, input, files, signal }) {
    await sleep(0, undefined, { signal });
    const wav = renderWav({ prompt: str(input.prompt), seconds: num(input.duration_seconds, 3) });
    return { outputAudio: await files.save({ jobId, extension: 'wav', data: wav }) };
  },

  async text({ input }) {
    return { outputText: renderText({ prompt: str(input.prompt), maxWords: num(input.max_words, 80) }) };
  },

  /** For exercising clients: waits `duration_ms`, then ends with the requested `outcome`. */
  async test({ input, signal }) {
    const ms = num(input.duration_ms, 0);
    if (ms > 0) await sleep(ms, undefined, { signal });
    if (str(input.outcome, 'completed') === 'failed') {
      throw new ProviderError(str(input.error_message) || 'local/test failed, as its input asked');
    }
    return { outputText: `local/test completed after ${ms} ms` };
  },
};

export const BUILTIN_NAMES = Object.keys(HANDLERS);

export function builtinProvider(name: string, modelId: string): Provider {
  const handler = HANDLERS[name];
  if (!handler) throw new Error(`Model ${modelId}: unknown builtin provider "${name}" (known: ${BUILTIN_NAMES.join(', ')})`);
  return { run: handler };
}
