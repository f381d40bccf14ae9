import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/config.js';
import { S3FileStorage, s3Client } from '../../src/files/s3-storage.js';

/** A local S3-compatible server (s3rver) over real HTTP on a free loopback port, with one empty bucket. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The variables that point genjobs at this bucket (GENJOBS_STORAGE=s3 and the rest). */
  env: Record<string, string>;
  client: S3Client;
  /** An S3 adapter on this bucket; `prefix` as GENJOBS_S3_PREFIX. */
  storage(p?: { prefix?: string; deleteBatch?: number }): S3FileStorage;
  /** Every object key in the bucket under `prefix`, listed straight from the server. */
  keys(prefix?: string): Promise<string[]>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/**
 * s3rver 3.7.1 deletes the keys of one DeleteObjects request all at once, and each then removes
 * the folders left empty: two keys of one folder race, and the loser answers InternalError
 * (ENOENT). S3 itself has no folders; the fake's deletes are made one at a time.
 */
function serialiseDeletes(server: S3rver): void {
  const store = (server as unknown as { context: { store: { deleteObject(bucket: string, key: string): Promise<void> } } }).context.store;
  const deleteObject = store.deleteObject.bind(store);
  let queue: Promise<unknown> = Promise.resolve();
  store.deleteObject = (bucket, key) => {
    const done = queue.then(() => deleteObject(bucket, key));
    queue = done.catch(() => undefined);
    return done;
  };
}

export async function startS3Server(): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-s3-'));
  const bucket = 'genjobs-test';
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  serialiseDeletes(server);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    GENJOBS_STORAGE: 's3', GENJOBS_S3_BUCKET: bucket, GENJOBS_S3_ENDPOINT: endpoint, GENJOBS_S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
  const s3 = loadConfig(env).s3!;
  const client = s3Client(s3);
  return {
    endpoint, bucket, env, client,
    storage: (p = {}) => new S3FileStorage(client, bucket, p.prefix ?? '', p.deleteBatch),
    async keys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    },
    async close() {
      client.destroy();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
