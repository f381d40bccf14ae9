import fs from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Why a streamed file was not kept: it had no bytes, or more than the limit allowed. */
export class FileSizeError extends Error {
  override name = 'FileSizeError';
  constructor(readonly reason: 'empty' | 'too_large', readonly limit: number) {
    super(reason === 'empty' ? 'the file is empty' : `the file is larger than ${limit} bytes`);
  }
}

/**
 * Output files of jobs, kept under `DATA_DIR/files/<job id>/` and served by the API at
 * `PUBLIC_URL/files/<job id>/<name>`. Names carry random bytes, so a URL cannot be guessed.
 */
export class FileStore {
  readonly root: string;

  constructor(dataDir: string, private readonly publicUrl: string) {
    this.root = path.join(dataDir, 'files');
    mkdirSync(this.root, { recursive: true });
  }

  /**
   * Reads a file this server stored, given its public URL; null for any other URL. Built-in
   * models read their image inputs this way, so they never fetch from the network.
   */
  async readByUrl(url: string): Promise<Buffer | null> {
    const prefix = `${this.publicUrl}/files/`;
    if (!url.startsWith(prefix)) return null;
    const [jobId, name, ...rest] = url.slice(prefix.length).split('/');
    if (!jobId || !name || rest.length > 0 || !/^[\w-]+$/.test(jobId) || !/^[\w-]+\.\w+$/.test(name)) return null;
    try {
      return await fs.readFile(path.join(this.root, jobId, name));
    } catch {
      return null;
    }
  }

  /** Writes one output file of a job and returns its absolute URL. */
  async save(p: { jobId: string; extension: string; data: Buffer | Uint8Array }): Promise<string> {
    return this.write(p.jobId, p.extension, (tmp) => fs.writeFile(tmp, p.data));
  }

  /**
   * Writes a file as it streams in, with memory bounded by the stream's buffers whatever its
   * size. More than `limit` bytes stops the copy; no byte at all is refused too. Either way the
   * partial file is removed and a FileSizeError says which.
   */
  async saveStream(p: { jobId: string; extension: string; source: Readable; limit: number }): Promise<string> {
    return this.write(p.jobId, p.extension, async (tmp) => {
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(size > p.limit ? new FileSizeError('too_large', p.limit) : null, chunk);
        },
      });
      await pipeline(p.source, counter, createWriteStream(tmp, { flags: 'wx' }));
      if (size === 0) throw new FileSizeError('empty', p.limit);
    });
  }

  /** Removes every file of a job (its folder); a job without files, or already removed, is no error. */
  async deleteJob(jobId: string): Promise<void> {
    if (!/^[\w-]+$/.test(jobId)) throw new Error('invalid job id');
    await fs.rm(path.join(this.root, jobId), { recursive: true, force: true });
  }

  /** Runs `fill` on a temporary file and renames it into place: a crash or a failure never leaves a half file at a served URL. */
  private async write(jobId: string, extension: string, fill: (tmp: string) => Promise<void>): Promise<string> {
    if (!/^[\w-]+$/.test(jobId) || !/^\w+$/.test(extension)) throw new Error('invalid file name');
    const name = `${randomBytes(9).toString('base64url')}.${extension}`;
    const dir = path.join(this.root, jobId);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${name}.tmp`);
    try {
      await fill(tmp);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await fs.rename(tmp, path.join(dir, name));
    return `${this.publicUrl}/files/${jobId}/${name}`;
  }
}
