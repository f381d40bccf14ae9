import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FileSizeError } from './storage.js';

/** A file's bytes on their way into storage, counted and hashed as they pass (one pass, nothing kept). */
export interface Intake {
  /** The bytes; reading past `limit` fails the stream with a FileSizeError. */
  body: Readable;
  /** Size and hex SHA-256 of what `body` gave; call it once `body` has ended. */
  totals(): { size: number; sha256: string };
  /**
   * What stopped `body`, if the source failed or the limit was passed. A storage client may
   * report a failure of its own instead (an S3 service refusing to abort the upload), which
   * must not hide the real cause.
   */
  failure(): unknown;
}

async function* chunksOf(source: Readable | Buffer | Uint8Array): AsyncGenerator<Buffer> {
  if (source instanceof Uint8Array) {
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return;
  }
  for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
}

/**
 * Waits for the first byte before handing the stream on, so an empty file is refused before any
 * storage is touched (an S3 upload cannot be made invisible afterwards). Stopping early (a
 * failure downstream, the limit) destroys the source.
 */
export async function intake(source: Readable | Buffer | Uint8Array, limit: number): Promise<Intake> {
  const hash = createHash('sha256');
  let size = 0;
  let sha256: string | null = null;
  let failure: unknown;
  const take = (chunk: Buffer): Buffer => {
    size += chunk.length;
    if (size > limit) throw new FileSizeError('too_large', limit);
    hash.update(chunk);
    return chunk;
  };
  const chunks = chunksOf(source);
  let first = await chunks.next();
  while (!first.done && first.value.length === 0) first = await chunks.next();
  if (first.done) throw new FileSizeError('empty', limit);
  try {
    take(first.value);
  } catch (err) {
    await chunks.return(undefined);
    throw err;
  }
  async function* rest(head: Buffer): AsyncGenerator<Buffer> {
    try {
      yield head;
      for await (const chunk of { [Symbol.asyncIterator]: () => chunks }) yield take(chunk);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      await chunks.return(undefined);
    }
  }
  return {
    body: Readable.from(rest(first.value), { objectMode: false }),
    totals: () => ({ size, sha256: (sha256 ??= hash.digest('hex')) }),
    failure: () => failure,
  };
}

/** Passes the first `count` bytes of a stream and ends there, closing the source. */
export function limitBytes(count: number): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    let left = count;
    for await (const chunk of source) {
      if (left <= 0) break;
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      yield part;
      if (left <= 0) break;
    }
  };
}
