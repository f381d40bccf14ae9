import type { Config } from '../config/config.js';
import { LocalFileStorage } from './local-storage.js';
import type { FileStorage } from './storage.js';

/** The file storage the configuration names (GENJOBS_STORAGE). */
export function createFileStorage(config: Pick<Config, 'dataDir' | 'storage' | 's3'>): FileStorage {
  if (config.storage === 's3') throw new Error('the S3 storage is not built yet');
  return new LocalFileStorage(config.dataDir);
}
