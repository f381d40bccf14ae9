import fs from 'node:fs/promises';
import { createReadStream, createWriteStream, mkdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { assertTypeMatches, contentTypeOf } from './content-type.js';
import { intake } from './intake.js';
import { resolveRange } from './range.js';
import {
  FileSizeError, validJobId, validKey,
  type FileHead, type FileListing, type FileRange, type FileStorage, type ListedFile, type OpenedFile, type StoredFile, type SuffixRange,
} from './storage.js';

/** A new file name: 72 random bits, so a link cannot be guessed. */
export const randomName = (extension: string): string => `${randomBytes(9).toString('base64url')}.${extension}`;

/** Checks what becomes part of a key: a job id without separators, a short alphanumeric extension. */
export function assertNameParts(jobId: string, extension: string): void {
  if (!validJobId(jobId) || !/^\w{1,16}$/.test(extension)) throw new Error(`invalid file name parts: job ${JSON.stringify(jobId)}, extension ${JSON.stringify(extension)}`);
}

/** The hidden temporary file of a write under way (`.<name>.tmp`); one left by a crash is a partial file. */
const PARTIAL = /^\.[\w-]{1,64}\.\w{1,16}\.tmp$/;

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/**
 * Output files in a folder of this machine, `DATA_DIR/files/<job id>/<name>` (the default).
 * Every process that serves them must see the same folder; for several machines use S3.
 */
export class LocalFileStorage implements FileStorage {
  readonly kind = 'local';
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'files');
    mkdirSync(this.root, { recursive: true });
  }

  /** Written to a hidden temporary file and renamed into place: a crash or a refusal never leaves a half file under a key. */
  async put(p: { jobId: string; extension: string; contentType?: string; source: import('node:stream').Readable | Buffer | Uint8Array; limit: number }): Promise<StoredFile> {
    assertNameParts(p.jobId, p.extension);
    assertTypeMatches(p.contentType, p.extension);
    const incoming = await intake(p.source, p.limit);
    const name = randomName(p.extension);
    const dir = path.join(this.root, p.jobId);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${name}.tmp`);
    try {
      await pipeline(incoming.body, createWriteStream(tmp, { flags: 'wx' }));
      await fs.rename(tmp, path.join(dir, name));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    const { size, sha256 } = incoming.totals();
    return { key: `${p.jobId}/${name}`, size, contentType: contentTypeOf(p.extension), sha256 };
  }

  async head(key: string): Promise<FileHead | null> {
    const stats = await this.stat(key);
    return stats && describe(key, stats);
  }

  async open(key: string, range?: FileRange | SuffixRange): Promise<OpenedFile | null> {
    const stats = await this.stat(key);
    if (!stats) return null;
    const file = describe(key, stats);
    if (!range) return { ...file, body: createReadStream(this.pathOf(key)) };
    const bytes = resolveRange(range, stats.size);
    return { ...file, body: createReadStream(this.pathOf(key), bytes), range: bytes };
  }

  async read(key: string, limit: number): Promise<Buffer | null> {
    const stats = await this.stat(key);
    if (!stats) return null;
    if (stats.size > limit) throw new FileSizeError('too_large', limit);
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async deleteJob(jobId: string): Promise<void> {
    if (!validJobId(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
    await fs.rm(path.join(this.root, jobId), { recursive: true, force: true });
  }

  /**
   * Job folders in name order, each one's files in name order (hidden temporary files too, as
   * partial). Each page reads the folder names once: on a folder of millions of jobs, a page
   * costs a second or so, which a sweep every few minutes can afford.
   */
  async list(p: { after?: string | null; limit: number }): Promise<FileListing> {
    const slash = p.after ? p.after.indexOf('/') : -1;
    const afterJob = p.after ? (slash < 0 ? p.after : p.after.slice(0, slash)) : null;
    const afterName = p.after && slash >= 0 ? p.after.slice(slash + 1) : null;
    const jobs = (await fs.readdir(this.root)).filter((j) => validJobId(j) && (afterJob === null || j >= afterJob)).sort();
    const files: ListedFile[] = [];
    for (const jobId of jobs) {
      let names: string[];
      try {
        names = (await fs.readdir(path.join(this.root, jobId))).sort();
      } catch (err) {
        if (missing(err)) continue;
        throw err;
      }
      for (const name of names) {
        if (jobId === afterJob && afterName !== null && name <= afterName) continue;
        const key = `${jobId}/${name}`;
        const partial = PARTIAL.test(name);
        if (!partial && !validKey(key)) continue;
        const stats = await fs.stat(path.join(this.root, key)).catch((err: unknown) => {
          if (missing(err)) return null;
          throw err;
        });
        if (!stats?.isFile()) continue;
        files.push({ key, lastModified: stats.mtime, ...(partial ? { partial: true } : {}) });
        if (files.length >= p.limit) return { files, next: key };
      }
    }
    return { files, next: null };
  }

  /** Removes each file, then its job's folder if that left it empty. */
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) if (!this.deletable(key)) throw new Error(`not a key of this storage: ${JSON.stringify(key)}`);
    for (const key of keys) await fs.rm(this.pathOf(key), { force: true });
    for (const jobId of new Set(keys.map((k) => k.slice(0, k.indexOf('/'))))) {
      // A folder still holding files (or given one meanwhile) stays.
      await fs.rmdir(path.join(this.root, jobId)).catch(() => undefined);
    }
  }

  private deletable(key: string): boolean {
    if (validKey(key)) return true;
    const slash = key.indexOf('/');
    return slash > 0 && validJobId(key.slice(0, slash)) && PARTIAL.test(key.slice(slash + 1));
  }

  private pathOf(key: string): string {
    return path.join(this.root, key);
  }

  /** The file's stats, or null when the key is malformed or names no regular file. */
  private async stat(key: string): Promise<Stats | null> {
    if (!validKey(key)) return null;
    try {
      const stats = await fs.stat(this.pathOf(key));
      return stats.isFile() ? stats : null;
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }
}

function describe(key: string, stats: Stats): FileHead {
  return {
    size: stats.size,
    contentType: contentTypeOf(path.extname(key).slice(1)),
    // Files never change once renamed into place: size and time identify the bytes.
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
    lastModified: stats.mtime,
  };
}
