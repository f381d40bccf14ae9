import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { renderOutput } from '../../src/outputs/render.js';
import { waitBound } from './waits.js';

/** The bytes a provider stored for a job, read back from its genjobs URL (PUBLIC_URL http://genjobs.test). */
export function storedFile(files: { root: string }, url: unknown, jobId = 'job-1'): Buffer {
  assert.equal(typeof url, 'string');
  const prefix = `http://genjobs.test/files/${jobId}/`;
  assert.ok((url as string).startsWith(prefix), `${url as string} is not a genjobs URL`);
  return fs.readFileSync(path.join(files.root, jobId, (url as string).slice(prefix.length)));
}

/** The PUBLIC_URL the provider tests show outputs at. */
export const TEST_PUBLIC_URL = 'http://genjobs.test';

/** A provider's stored output as a client would see it from a process at http://genjobs.test. */
export async function served<T>(output: T): Promise<T> {
  return renderOutput(output, (file) => `${TEST_PUBLIC_URL}/files/${file.key}`) as Promise<T>;
}

/** Waits until `check()` holds, failing after `ms` (raised to MIN_WAIT_MS for a loaded machine, see waits.ts). */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + waitBound(ms);
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
