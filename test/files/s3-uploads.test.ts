import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';
import { startS3Server, type TestS3 } from '../helpers/s3-server.js';
import { defaultCatalogPath } from '../../src/paths.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('worker uploads with GENJOBS_STORAGE=s3', () => {
  let s3: TestS3;
  let app: TestApp;
  let dir: string;
  let token: string;
  let auth: { authorization: string };
  before(async () => {
    s3 = await startS3Server();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-s3-uploads-'));
    const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
    catalog.models.push({ id: 'gpu/echo', name: 'GPU echo', modality: 'video', cost: 1, outputType: 'video', provider: { type: 'worker' } });
    fs.writeFileSync(path.join(dir, 'catalog.json'), JSON.stringify(catalog));
    app = await testApp({ ...s3.env, GENJOBS_CATALOG: path.join(dir, 'catalog.json'), GENJOBS_WORKER_UPLOAD_LIMIT: String(20 * 1024 * 1024) });
    ({ auth } = await app.account());
    const issued = await app.server.inject({ method: 'POST', url: '/admin/v1/workers', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { models: ['gpu/echo'] } });
    token = issued.json().token as string;
  });
  after(async () => {
    await app.dispose();
    await s3.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a job of the worker model and claims it. */
  async function claim(): Promise<{ jobId: string; leaseToken: number }> {
    const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'gpu/echo', input: {} } });
    const claimed = await app.server.inject({ method: 'POST', url: '/worker/v1/jobs/claim', headers: { authorization: `Bearer ${token}` }, payload: {} });
    assert.equal(claimed.json().job.id, run.json().id);
    return { jobId: run.json().id as string, leaseToken: claimed.json().job.lease_token as number };
  }

  it('stores a multipart-sized upload in the bucket, served back byte for byte and by range', async () => {
    const { jobId, leaseToken } = await claim();
    const data = randomBytes(18 * 1024 * 1024);
    const res = await app.server.inject({
      method: 'POST', url: `/worker/v1/jobs/${jobId}/files?lease_token=${leaseToken}&name=clip.mp4`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, payload: data,
    });
    assert.equal(res.statusCode, 201, res.body);
    const url = new URL(res.json().url as string);
    assert.match(url.pathname, new RegExp(`^/files/${jobId}/[\\w-]+\\.mp4$`));
    assert.deepEqual(await s3.keys(`${jobId}/`), [url.pathname.slice('/files/'.length)]);
    const whole = await app.server.inject({ method: 'GET', url: url.pathname });
    assert.equal(whole.headers['content-type'], 'video/mp4');
    assert.equal(sha256(whole.rawPayload), sha256(data));
    const tail = await app.server.inject({ method: 'GET', url: url.pathname, headers: { range: `bytes=${data.length - 1000}-` } });
    assert.equal(tail.statusCode, 206);
    assert.ok(tail.rawPayload.equals(data.subarray(data.length - 1000)));
  });

  it('refuses an upload over the limit with 413, and the bucket keeps nothing of it', async () => {
    const { jobId, leaseToken } = await claim();
    const res = await app.server.inject({
      method: 'POST', url: `/worker/v1/jobs/${jobId}/files?lease_token=${leaseToken}&name=big.mp4`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      payload: randomBytes(20 * 1024 * 1024 + 1),
    });
    assert.equal(res.statusCode, 413, res.body);
    assert.equal(res.json().code, 'upload_too_large');
    assert.deepEqual(await s3.keys(`${jobId}/`), []);
  });
});
