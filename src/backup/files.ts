import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Copies the output files under `from` (DATA_DIR/files) into `to`, folder by folder. Files still
 * being written (`.name.tmp`, renamed into place when whole) are left out; a file removed while
 * the copy runs is skipped. Returns how many files and bytes were copied.
 */
export async function copyFileTree(from: string, to: string): Promise<{ count: number; bytes: number }> {
  const total = { count: 0, bytes: 0 };
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(from, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return total;
    throw err;
  }
  await fs.mkdir(to, { recursive: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      const sub = await copyFileTree(source, target);
      total.count += sub.count;
      total.bytes += sub.bytes;
    } else if (entry.isFile()) {
      try {
        await fs.copyFile(source, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      total.count += 1;
      total.bytes += (await fs.stat(target)).size;
    }
  }
  return total;
}

/** The SHA-256 of a file, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Whether a folder is missing or holds nothing. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
