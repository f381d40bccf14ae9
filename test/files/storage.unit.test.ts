import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { startS3Server } from '../helpers/s3-server.js';
import { fileStorageConformance } from './conformance.js';

fileStorageConformance('local folder', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-files-'));
  const storage = new LocalFileStorage(dataDir);
  return {
    storage,
    names: async (jobId) => {
      try {
        return fs.readdirSync(path.join(storage.root, jobId));
      } catch {
        return [];
      }
    },
    dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
});

fileStorageConformance('S3 (s3rver over HTTP, with a key prefix)', async () => {
  const s3 = await startS3Server();
  const prefix = 'genjobs/outputs/';
  return {
    storage: s3.storage({ prefix, deleteBatch: 2 }),
    names: async (jobId) => (await s3.keys(`${prefix}${jobId}/`)).map((k) => k.slice(`${prefix}${jobId}/`.length)),
    dispose: () => s3.close(),
  };
});

describe('the local folder\'s leftovers', () => {
  it('lists a temporary file a crashed write left as partial, deletes it, and removes the folder it emptied', async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-files-'));
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const storage = new LocalFileStorage(dataDir);
    const kept = await storage.put({ jobId: 'job-a', extension: 'png', source: Buffer.from('kept'), limit: 10 });
    fs.mkdirSync(path.join(storage.root, 'job-b'));
    fs.writeFileSync(path.join(storage.root, 'job-b', '.Ab3_x-9QzLmN.png.tmp'), 'half');
    fs.writeFileSync(path.join(storage.root, 'job-b', 'notes'), 'not a file of ours');
    const { files, next } = await storage.list({ limit: 10 });
    assert.equal(next, null);
    assert.deepEqual(files.map((f) => [f.key, f.partial === true]), [[kept.key, false], ['job-b/.Ab3_x-9QzLmN.png.tmp', true]]);
    await storage.delete(['job-b/.Ab3_x-9QzLmN.png.tmp']);
    assert.deepEqual(fs.readdirSync(path.join(storage.root, 'job-b')), ['notes'], 'a folder that still holds something stays');
    fs.rmSync(path.join(storage.root, 'job-b', 'notes'));
    await storage.delete([kept.key]);
    assert.deepEqual(fs.readdirSync(storage.root), ['job-b'], 'the folder the deletion emptied is gone');
  });
});
