import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { fileLinks } from '../../src/files/links.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { createFileStorage } from '../../src/files/create.js';
import { S3FileStorage } from '../../src/files/s3-storage.js';
import { startS3Server } from '../helpers/s3-server.js';

const S3 = { GENJOBS_STORAGE: 's3', GENJOBS_S3_BUCKET: 'outputs', AWS_REGION: 'eu-west-1' };

describe('file storage configuration', () => {
  it('keeps files in the local folder and serves their links by default', () => {
    const c = loadConfig({});
    assert.deepEqual({ storage: c.storage, s3: c.s3, fileLinks: c.fileLinks, presignSeconds: c.presignSeconds }, { storage: 'local', s3: null, fileLinks: 'served', presignSeconds: 3600 });
  });

  it('reads the S3 settings: bucket, prefix, endpoint, path style, region and explicit credentials', () => {
    const c = loadConfig({
      ...S3, GENJOBS_S3_PREFIX: 'genjobs/', GENJOBS_S3_ENDPOINT: 'http://minio:9000/', GENJOBS_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', GENJOBS_FILE_LINKS: 'presigned', GENJOBS_PRESIGN_SECONDS: '600',
    });
    assert.deepEqual(c.s3, { bucket: 'outputs', prefix: 'genjobs/', endpoint: 'http://minio:9000', forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } });
    assert.equal(c.fileLinks, 'presigned');
    assert.equal(c.presignSeconds, 600);
    assert.equal(loadConfig(S3).s3?.credentials, null, 'no keys: the SDK\'s default chain');
    assert.equal(loadConfig({ ...S3, GENJOBS_S3_PREFIX: 'prod' }).s3?.prefix, 'prod/', 'the prefix is a folder');
    assert.equal(loadConfig(S3).s3?.prefix, '');
    assert.equal(loadConfig({ GENJOBS_STORAGE: 's3', GENJOBS_S3_BUCKET: 'outputs', GENJOBS_S3_ENDPOINT: 'http://minio:9000' }).s3?.region, 'us-east-1', 'an S3-compatible service needs no region');
    assert.equal(loadConfig({ ...S3, AWS_REGION: '', AWS_DEFAULT_REGION: 'us-west-2' }).s3?.region, 'us-west-2');
  });

  it('loads the S3 adapter only when configured', async () => {
    assert.ok(await createFileStorage(loadConfig(S3)) instanceof S3FileStorage);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-create-'));
    try {
      assert.equal((await createFileStorage(loadConfig({ DATA_DIR: dataDir }))).kind, 'local');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses what cannot work, saying what to set', () => {
    const refusals: Array<[Record<string, string>, RegExp]> = [
      [{ GENJOBS_STORAGE: 'gcs' }, /GENJOBS_STORAGE="gcs" is not valid: set it to one of local, s3/],
      [{ GENJOBS_STORAGE: 's3', AWS_REGION: 'eu-west-1' }, /GENJOBS_STORAGE=s3 needs GENJOBS_S3_BUCKET/],
      [{ ...S3, GENJOBS_S3_BUCKET: 'Bad_Bucket' }, /GENJOBS_S3_BUCKET="Bad_Bucket" is not a bucket name/],
      [{ ...S3, AWS_REGION: '' }, /GENJOBS_STORAGE=s3 needs AWS_REGION/],
      [{ ...S3, GENJOBS_S3_ENDPOINT: 'minio:9000' }, /GENJOBS_S3_ENDPOINT="minio:9000"/],
      [{ ...S3, GENJOBS_S3_PREFIX: 'a b' }, /GENJOBS_S3_PREFIX="a b" is not valid/],
      [{ ...S3, GENJOBS_S3_FORCE_PATH_STYLE: 'maybe' }, /GENJOBS_S3_FORCE_PATH_STYLE="maybe" is not valid/],
      [{ ...S3, AWS_ACCESS_KEY_ID: 'id' }, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together/],
      [{ GENJOBS_FILE_LINKS: 'presigned' }, /GENJOBS_FILE_LINKS=presigned needs GENJOBS_STORAGE=s3/],
      [{ GENJOBS_FILE_LINKS: 'signed' }, /GENJOBS_FILE_LINKS="signed" is not valid/],
      [{ ...S3, GENJOBS_PRESIGN_SECONDS: '604801' }, /GENJOBS_PRESIGN_SECONDS="604801" is not valid: set it to a whole number from 1 to 604800/],
    ];
    for (const [env, message] of refusals) assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  });
});

describe('file links', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-links-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const file = { key: 'job-1/Ab3_x-9QzLmN.png', size: 3, contentType: 'image/png', sha256: 'x' };

  it('are served at the reading process\'s own PUBLIC_URL: a new address changes every link', async () => {
    const local = new LocalFileStorage(dataDir);
    const before = fileLinks({ publicUrl: 'http://old.example', fileLinks: 'served', presignSeconds: 60 }, local);
    const moved = fileLinks({ publicUrl: 'https://new.example/genjobs', fileLinks: 'served', presignSeconds: 60 }, local);
    assert.equal(await before.link(file), 'http://old.example/files/job-1/Ab3_x-9QzLmN.png');
    assert.equal(await moved.link(file), 'https://new.example/genjobs/files/job-1/Ab3_x-9QzLmN.png');
  });

  it('cannot be presigned by the local folder', () => {
    assert.throws(() => fileLinks({ publicUrl: 'http://x', fileLinks: 'presigned', presignSeconds: 60 }, new LocalFileStorage(dataDir)), /the local storage cannot/);
  });

  it('are presigned afresh at each read when configured, each fetching the file with its lifetime', async () => {
    const s3 = await startS3Server();
    try {
      const storage = s3.storage();
      const stored = await storage.put({ jobId: 'job-1', extension: 'png', source: Buffer.from('pixels'), limit: 100 });
      const links = fileLinks({ publicUrl: 'http://unused', fileLinks: 'presigned', presignSeconds: 120 }, storage);
      const first = await links.link(stored);
      assert.ok(first.startsWith(`${s3.endpoint}/${s3.bucket}/${stored.key}?`), first);
      assert.match(first, /X-Amz-Expires=120&/);
      const res = await fetch(first);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'pixels');
    } finally {
      await s3.close();
    }
  });
});
