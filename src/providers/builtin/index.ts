import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { renderText } from './media/text.js';
import type { MediaTask } from './media/tasks.js';
import type { MediaRunner } from './media-pool.js';
import type { FileStorage } from '../../files/storage.js';
import { fileMarker, type FileMarker } from '../../outputs/form.js';
import { keyOfAnyFileUrl } from '../../outputs/urls.js';

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

/** Largest image a built-in model reads. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Reads an image input: only files genjobs stored (no network fetches from built-in models),
 * named by a link an app handed on, or by any link to a stored file (whichever process made it).
 */
async function readImage({ files, inputFiles }: RunContext, url: string): Promise<Buffer> {
  const key = inputFiles?.get(url) ?? keyOfAnyFileUrl(url);
  const bytes = key === null ? null : await files.read(key, MAX_INPUT_BYTES).catch((err: unknown) => {
    throw new ProviderError(`cannot read ${url}: ${(err as Error).message}`);
  });
  if (!bytes) throw new ProviderError(`cannot read ${url}: built-in models read only images stored by this server`);
  return bytes;
}

/** Runs a task on the media threads; its errors (a bad size, an unreadable PNG) are the job owner's to read. */
async function render(media: MediaRunner, task: MediaTask, signal: AbortSignal): Promise<Buffer> {
  try {
    return await media.run(task, signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new ProviderError((err as Error).message);
  }
}

type Handler = (ctx: RunContext, media: MediaRunner) => Promise<Record<string, unknown>>;

/**
 * Largest file a built-in model writes. The renderers' own bounds keep real outputs well below
 * (a 4096x4096 RGB PNG is at most about 50 MB); a render past it is a bug, and fails the job
 * rather than filling the storage.
 */
export const BUILTIN_OUTPUT_LIMIT = 128 * 1024 * 1024;

/**
 * Stores a rendered file of the job; the output names it by its marker. The file is rendered in
 * memory on a media thread (encoders need the whole picture), then streamed into storage like any
 * other file: counted, hashed, typed by its extension, refused past the limit.
 */
const store = async (files: FileStorage, jobId: string, extension: string, data: Buffer): Promise<FileMarker> =>
  fileMarker(await files.put({ jobId, extension, source: data, limit: BUILTIN_OUTPUT_LIMIT }));

const HANDLERS: Record<string, Handler> = {
  async image({ jobId, input, files, signal }, media) {
    const [width, height] = size(input);
    const png = await render(media, { kind: 'image', prompt: str(input.prompt), width, height, seed: num(input.seed, 0) }, signal);
    return { outputImage: await store(files, jobId, 'png', png) };
  },

  /** Enlarges a PNG by `scale` with bilinear filtering. */
  async upscale(ctx, media) {
    const { jobId, input, files, signal } = ctx;
    const name = str(input.image_url);
    const image = await readImage(ctx, name);
    const png = await render(media, { kind: 'upscale', image, name, scale: num(input.scale, 2) }, signal);
    return { outputImage: await store(files, jobId, 'png', png) };
  },

  /** Sets several PNGs side by side at one height. */
  async collage(ctx, media) {
    const { jobId, input, files, signal } = ctx;
    const names = Array.isArray(input.images) ? (input.images as string[]) : [];
    const images = await Promise.all(names.map((u) => readImage(ctx, u)));
    const png = await render(media, { kind: 'collage', images, names, height: num(input.height, 256) }, signal);
    return { outputImage: await store(files, jobId, 'png', png) };
  },

  async video({ jobId, input, files, signal }, media) {
    const [width, height] = size(input, 0.5);
    const fps = 10;
    const frames = Math.max(1, Math.round(num(input.duration_seconds, 2) * fps));
    const gif = await render(media, { kind: 'video', prompt: str(input.prompt), width, height, frames, fps }, signal);
    return { outputVideo: await store(files, jobId, 'gif', gif) };
  },

  async audio({ jobId, input, files, signal }, media) {
    const wav = await render(media, { kind: 'audio', prompt: str(input.prompt), seconds: num(input.duration_seconds, 3) }, signal);
    return { outputAudio: await store(files, jobId, 'wav', wav) };
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

/** A built-in model's provider; its rendering and encoding run on `media` (the app's thread pool). */
export function builtinProvider(name: string, modelId: string, media: MediaRunner): Provider {
  const handler = HANDLERS[name];
  if (!handler) throw new Error(`Model ${modelId}: unknown builtin provider "${name}" (known: ${BUILTIN_NAMES.join(', ')})`);
  return { run: (ctx) => handler(ctx, media) };
}
