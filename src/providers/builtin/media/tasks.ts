import { renderPng } from './png.js';
import { renderGifAnimation } from './gif.js';
import { renderWav } from './wav.js';
import { decodePng, encodePng, resize, sideBySide, type Picture } from './image-ops.js';

/**
 * The CPU-heavy part of each built-in model, as plain data in and bytes out, so it can run on a
 * worker thread (media-thread.ts) or, for tools and unit tests, on the calling thread. Files are
 * read and written by the caller: a task never touches the disk or the network.
 */
export type MediaTask =
  | { kind: 'image'; prompt: string; width: number; height: number; seed: number }
  | { kind: 'upscale'; image: Uint8Array; name: string; scale: number }
  | { kind: 'collage'; images: Uint8Array[]; names: string[]; height: number }
  | { kind: 'video'; prompt: string; width: number; height: number; frames: number; fps: number }
  | { kind: 'audio'; prompt: string; seconds: number };

/** Decodes an input picture; a file that is not a readable PNG is named in the message. */
function picture(bytes: Uint8Array, name: string): Picture {
  try {
    return decodePng(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/** Runs one task to its encoded file (PNG, GIF or WAV). */
export function runMediaTask(task: MediaTask): Buffer {
  switch (task.kind) {
    case 'image':
      return renderPng(task);
    case 'upscale': {
      const source = picture(task.image, task.name);
      return encodePng(resize(source, source.width * task.scale, source.height * task.scale));
    }
    case 'collage': {
      const pictures = task.images.map((bytes, i) => picture(bytes, task.names[i] ?? `image ${i + 1}`));
      return encodePng(sideBySide(pictures, task.height));
    }
    case 'video':
      return renderGifAnimation(task);
    case 'audio':
      return renderWav(task);
  }
}
