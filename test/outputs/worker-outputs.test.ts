import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultCatalogPath } from '../../src/paths.js';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';
import { readerAt } from './processes.js';

/*
 * A worker uploads its files and completes its job with the URLs the uploads answered. The job
 * stores references to the files, whichever API process took the upload and the completion, and
 * shows links of the process that answers. Runs on both stores.
 */

type Json = Record<string, any>;
const A = 'http://a.genjobs.test';
const B = 'http://b.genjobs.test';

async function workerSetup(t: TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-worker-outputs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
  catalog.models.push({ id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } });
  const catalogPath = path.join(dir, 'catalog.json');
  fs.writeFileSync(catalogPath, JSON.stringify(catalog));
  const a: TestApp = await testApp({ PUBLIC_URL: A, GENJOBS_CATALOG: catalogPath });
  t.after(() => a.dispose());
  const b = await readerAt(t, a, B, { GENJOBS_CATALOG: catalogPath });
  const { auth } = await a.account();
  const issued = await a.server.inject({ method: 'POST', url: '/admin/v1/workers', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { models: ['gpu/echo'] } });
  const worker = { authorization: `Bearer ${issued.json().token as string}` };
  const run = await a.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'gpu/echo', input: {} } });
  const claim = (await a.server.inject({ method: 'POST', url: '/worker/v1/jobs/claim', headers: worker, payload: {} })).json().job as Json;
  assert.equal(claim.id, run.json().id);
  const upload = async (app: { server: TestApp['server'] }, data: Buffer, name: string) => {
    const res = await app.server.inject({ method: 'POST', url: `/worker/v1/jobs/${claim.id}/files?lease_token=${claim.lease_token}&name=${name}`, headers: { ...worker, 'content-type': 'application/octet-stream' }, payload: data });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().url as string;
  };
  const complete = (app: { server: TestApp['server'] }, output: unknown) =>
    app.server.inject({ method: 'POST', url: `/worker/v1/jobs/${claim.id}/complete`, headers: worker, payload: { lease_token: claim.lease_token, output } });
  return { a, b, auth, jobId: claim.id as string, upload, complete };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('worker outputs', () => {
  it('an upload answered by one process and a completion taken by another store references; each process links them itself', async (t) => {
    const { a, b, auth, jobId, upload, complete } = await workerSetup(t);
    const first = randomBytes(3000);
    const second = randomBytes(5000);
    // The upload answers with a URL of the process that took it, as before.
    const url1 = await upload(a, first, 'one.png');
    const url2 = await upload(b, second, 'two.png');
    assert.ok(url1.startsWith(`${A}/files/${jobId}/`) && url2.startsWith(`${B}/files/${jobId}/`), `${url1} ${url2}`);

    // Completed through B: B took the second upload (checksum known), A the first (found in storage).
    const done = await complete(b, { outputImage: url2, outputs: [url1, url2], note: 'made on gpu-box-1' });
    assert.equal(done.statusCode, 200, done.body);
    const stored = (await a.store.jobGetById({ id: jobId }))!.outputData as Json;
    const key1 = new URL(url1).pathname.slice('/files/'.length);
    const key2 = new URL(url2).pathname.slice('/files/'.length);
    assert.deepEqual(stored, {
      outputImage: { $file: { key: key2, size: second.length, contentType: 'image/png', sha256: sha(second) } },
      outputs: [{ $file: { key: key1, size: first.length, contentType: 'image/png' } }, { $file: { key: key2, size: second.length, contentType: 'image/png', sha256: sha(second) } }],
      note: 'made on gpu-box-1',
    });
    for (const [app, origin] of [[a, A], [b, B]] as const) {
      const shown = (await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}`, headers: auth })).json().output_data as Json;
      assert.deepEqual(shown, { outputImage: `${origin}/files/${key2}`, outputs: [`${origin}/files/${key1}`, `${origin}/files/${key2}`], note: 'made on gpu-box-1' });
    }
  });

  it('a URL of this job\'s files that names no upload is refused with a 400, and nothing is completed', async (t) => {
    const { a, jobId, complete } = await workerSetup(t);
    const res = await complete(a, { outputImage: `${A}/files/${jobId}/never-uploaded.png` });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'invalid_parameter');
    assert.match(res.json().error, /no file uploaded for this job/);
    assert.equal((await a.store.jobGetById({ id: jobId }))!.status, 'processing');
  });

  it('what a worker reports can never pass for a reference: a forged "$file" stays data, shown as sent', async (t) => {
    const { a, auth, jobId, complete } = await workerSetup(t);
    const forged = { outputImage: 'https://cdn.example/x.png', meta: { $file: { key: 'another-job/secret.png' } }, other: `${A}/files/another-job/x.png` };
    const res = await complete(a, forged);
    assert.equal(res.statusCode, 200, res.body);
    const stored = (await a.store.jobGetById({ id: jobId }))!.outputData as Json;
    assert.deepEqual(stored.meta, { $$file: { key: 'another-job/secret.png' } });
    assert.equal(stored.other, `${A}/files/another-job/x.png`, 'another job\'s file URL stays a string');
    const shown = (await a.server.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}`, headers: auth })).json().output_data as Json;
    assert.deepEqual(shown, forged);
  });
});
