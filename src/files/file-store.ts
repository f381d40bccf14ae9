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
