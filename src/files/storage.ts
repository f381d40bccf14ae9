import type { Readable } from 'node:stream';

/**
 * Terms of the file storage.
 * - file: one output of a job (an image, a video, a sound), written once and never changed.
 * - key: where a file lives, `<job id>/<random>.<extension>`; the random part makes it unguessable,
 *   and the job id prefix lets retention remove every file of a job at once.
 * - adapter: one place files are kept: the local folder (`DATA_DIR/files`) or an S3 bucket.
 * - link: the URL a client is given for a file, made when a job is read (src/files/links.ts).
 */

/** What a stored file is, as recorded with the job. */
export interface StoredFile {
  /** `<job id>/<random>.<extension>`. */
  key: string;
  /** Bytes. */
  size: number;
  /** Follows the extension (see src/files/content-type.ts). */
  contentType: string;
  /** Hex SHA-256 of the bytes, computed while they streamed in. */
  sha256: string;
}

/** An inclusive byte range from `start`; without `end`, to the end of the file. */
export interface FileRange {
  start: number;
  end?: number;
}

/** The last `suffix` bytes of a file (`Range: bytes=-500`). */
export interface SuffixRange {
  suffix: number;
}

/** What is known of a stored file without reading it. */
export interface FileHead {
  size: number;
  contentType: string;
  /** A quoted strong validator, the same whichever process answers. */
  etag: string;
  lastModified: Date;
}

/** A stored file opened for reading: its bytes (all, or the range asked for) and what it is. */
export interface OpenedFile extends FileHead {
  body: Readable;
  /** The inclusive range `body` holds, when a range was asked for; `size` is still the whole file's. */
  range?: { start: number; end: number };
}

/** A file as a listing of the storage shows it (the orphan sweep reads storage this way). */
export interface ListedFile {
  /** A key as `put` makes them, or, with `partial`, the adapter's name for an unfinished write. */
  key: string;
  lastModified: Date;
  /** A write that never finished (the local folder's hidden temporary file, left by a crash): never a job's file. */
  partial?: boolean;
}

/** One page of a listing; `next` goes on from where it stopped, null at the end. */
export interface FileListing {
  files: ListedFile[];
  next: string | null;
}

/** Where output files are kept: one interface, one adapter per kind of storage, one conformance suite (test/files/conformance.ts). */
export interface FileStorage {
  readonly kind: 'local' | 's3';
  /**
   * Streams bytes into a new file of the job, hashing and counting them on the way (one pass).
   * Refuses no byte at all and more than `limit` bytes with a FileSizeError, and a `contentType`
   * that contradicts the extension with a FileTypeError; a refused or failed file is never
   * visible, not even for a moment.
   */
  put(p: { jobId: string; extension: string; contentType?: string; source: Readable | Buffer | Uint8Array; limit: number }): Promise<StoredFile>;
  /** Opens a stored file (whole or a range), or null if there is none. A range starting past the end throws UnsatisfiableRangeError. */
  open(key: string, range?: FileRange | SuffixRange): Promise<OpenedFile | null>;
  /** What a stored file is, without its bytes; null if there is none. */
  head(key: string): Promise<FileHead | null>;
  /** Reads a whole stored file into memory (built-in models read their image inputs this way), null if absent; over `limit` bytes is a FileSizeError. */
  read(key: string, limit: number): Promise<Buffer | null>;
  /** Removes every file of the job (retention uses it); resolves when none is left. */
  deleteJob(jobId: string): Promise<void>;
  /**
   * The stored files in the adapter's own order, a page of at most `limit`, going on after `after`
   * (the `next` of the page before; from the start without). Files written meanwhile may or may
   * not be listed; every file there for the whole walk is listed once.
   */
  list(p: { after?: string | null; limit: number }): Promise<FileListing>;
  /** Removes these files (keys a listing gave); one already gone is no error, a key of any other shape is refused. */
  delete(keys: readonly string[]): Promise<void>;
  /** A time-limited URL straight to the object (S3 only; the local adapter has none). */
  presign?(key: string, expiresInSeconds: number): Promise<string>;
}

/** How a StoredFile becomes a link when a job is read: served by this process, or presigned. */
export interface FileLinks {
  link(file: StoredFile): Promise<string>;
}

/** Why a streamed file was not kept: it had no bytes, or more than the limit allowed. */
export class FileSizeError extends Error {
  override name = 'FileSizeError';
  constructor(readonly reason: 'empty' | 'too_large', readonly limit: number) {
    super(reason === 'empty' ? 'the file is empty' : `the file is larger than ${limit} bytes`);
  }
}

/** A declared content type that is not what the file's extension says it is. */
export class FileTypeError extends Error {
  override name = 'FileTypeError';
  constructor(readonly contentType: string, readonly extension: string) {
    super(`a ${contentType} file cannot be stored as .${extension}`);
  }
}

/** A range that starts past the end of the file (answered 416 with the file's size). */
export class UnsatisfiableRangeError extends Error {
  override name = 'UnsatisfiableRangeError';
  constructor(readonly size: number) {
    super(`the range starts past the end of the file (${size} bytes)`);
  }
}

const JOB_ID = /^[\w-]{1,128}$/;
const KEY = /^([\w-]{1,128})\/([\w-]{1,64}\.\w{1,16})$/;

/** Whether a job id may name a folder or key prefix (no separators, no dots). */
export function validJobId(jobId: string): boolean {
  return JOB_ID.test(jobId);
}

/** Whether `key` has the shape every adapter writes (`<job id>/<name>.<ext>`): anything else is never looked up. */
export function validKey(key: string): boolean {
  return KEY.test(key);
}
