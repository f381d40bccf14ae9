import type { Readable } from 'node:stream';
import { LocalFileStorage } from './local-storage.js';
import { keyOfServedLink, servedLink } from './links.js';
import { FileSizeError, type FileStorage } from './storage.js';

export { FileSizeError } from './storage.js';

/** Largest file the built-in models produce or read as an input. (64 MiB) */
const BUILTIN_FILE_LIMIT = 64 * 1024 * 1024;

/**
 * The URL-minded face of the file storage that producers used before outputs were stored as
 * references: each file goes to the configured FileStorage (local folder or S3) and comes back
 * as its served link, `PUBLIC_URL/files/<key>`. Those links are fixed when written, so they are
 * always served ones, never presigned (a presigned link would expire in the job's output).
 */
export class FileStore {
  readonly storage: FileStorage;
  /** The local folder (`DATA_DIR/files`), where the local storage keeps files. */
  readonly root: string;

  /** `storage`: where files go. (Default: the local folder under `dataDir`) */
  constructor(dataDir: string, private readonly publicUrl: string, storage?: FileStorage) {
    const local = new LocalFileStorage(dataDir);
    this.storage = storage ?? local;
    this.root = local.root;
  }

  /**
   * Reads a file this server stored, given its public URL; null for any other URL. Built-in
   * models read their image inputs this way, so they never fetch from the network.
   */
  async readByUrl(url: string): Promise<Buffer | null> {
    const key = keyOfServedLink(this.publicUrl, url);
    if (key === null) return null;
    try {
      return await this.storage.read(key, BUILTIN_FILE_LIMIT);
    } catch (err) {
      if (err instanceof FileSizeError) return null;
      throw err;
    }
  }

  /** Writes one output file of a job and returns its absolute URL. */
  async save(p: { jobId: string; extension: string; data: Buffer | Uint8Array }): Promise<string> {
    return this.link(await this.storage.put({ jobId: p.jobId, extension: p.extension, source: p.data, limit: Math.max(BUILTIN_FILE_LIMIT, p.data.byteLength) }));
  }

  /**
   * Writes a file as it streams in, with memory bounded by the stream's buffers whatever its
   * size. More than `limit` bytes stops the copy; no byte at all is refused too. Either way
   * nothing is kept and a FileSizeError says which.
   */
  async saveStream(p: { jobId: string; extension: string; source: Readable; limit: number; contentType?: string }): Promise<string> {
    return this.link(await this.storage.put(p));
  }

  /** Removes every file of the job; a job without files, or already removed, is no error. */
  deleteJob(jobId: string): Promise<void> {
    return this.storage.deleteJob(jobId);
  }

  private link(file: { key: string }): string {
    return servedLink(this.publicUrl, file.key);
  }
}
