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
