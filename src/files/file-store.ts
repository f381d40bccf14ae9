import fs from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

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
    if (!/^[\w-]+$/.test(p.jobId) || !/^\w+$/.test(p.extension)) throw new Error('invalid file name');
    const name = `${randomBytes(9).toString('base64url')}.${p.extension}`;
    const dir = path.join(this.root, p.jobId);
    await fs.mkdir(dir, { recursive: true });
    // Written under a temporary name and renamed, so a crash never leaves a half file at a served URL.
    const tmp = path.join(dir, `.${name}.tmp`);
    await fs.writeFile(tmp, p.data);
    await fs.rename(tmp, path.join(dir, name));
    return `${this.publicUrl}/files/${p.jobId}/${name}`;
  }
}
