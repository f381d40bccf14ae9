import { LocalFileStorage } from './local-storage.js';
import { S3FileStorage, s3Client, type S3Settings } from './s3-storage.js';
import type { FileStorage } from './storage.js';

/** The file storage the configuration names (GENJOBS_STORAGE): the Config's fields of the same names. */
export function createFileStorage(config: { dataDir: string; storage: 'local' | 's3'; s3: S3Settings | null }): FileStorage {
  if (config.storage === 's3' && config.s3) return new S3FileStorage(s3Client(config.s3), config.s3.bucket, config.s3.prefix);
  return new LocalFileStorage(config.dataDir);
}

/** Checks at start that the storage can be used, with a message that says what to fix. */
export async function verifyFileStorage(storage: FileStorage): Promise<void> {
  if (storage instanceof S3FileStorage) await storage.verify();
}
