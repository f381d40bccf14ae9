import { LocalFileStorage } from './local-storage.js';
import type { S3Config } from '../types/s3-config.js';
import type { FileStorage } from './storage.js';

/**
 * The file storage the configuration names (GENJOBS_STORAGE; the Config's fields of the same
 * names). The S3 adapter, and the AWS SDK with it, is loaded only when configured: importing the
 * SDK takes a second or more, which a process on the local folder should not pay at every start.
 */
export async function createFileStorage(config: { dataDir: string; storage: 'local' | 's3'; s3: S3Config | null }): Promise<FileStorage> {
  if (config.storage === 's3' && config.s3) {
    const { S3FileStorage, s3Client } = await import('./s3-storage.js');
    return new S3FileStorage(s3Client(config.s3), config.s3.bucket, config.s3.prefix);
  }
  return new LocalFileStorage(config.dataDir);
}

/** Checks at start that the storage can be used (an S3 bucket: reachable, with access), with a message that says what to fix. */
export async function verifyFileStorage(storage: FileStorage): Promise<void> {
  const check = (storage as { verify?: () => Promise<void> }).verify;
  if (check) await check.call(storage);
}
