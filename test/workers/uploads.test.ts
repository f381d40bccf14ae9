import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { defaultCatalogPath } from '../../src/paths.js';

interface Claimed { app: TestApp; token: string; jobId: string; leaseToken: number; dir: string }

/** An app with a worker model, a worker token, and one job of it claimed. */
async function claimedJob(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}): Promise<Claimed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-uploads-'));
  const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
  catalog.models.push({ id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } });
  fs.writeFileSync(path.join(dir, 'catalog.json'), JSON.stringify(catalog));
  const app = await testApp({ GENJOBS_CATALOG: path.join(dir, 'catalog.json'), ...env });
  t.after(async () => { await app.dispose(); fs.rmSync(dir, { recursive: true, force: true }); });
  const { auth } = await app.account();
  const issued = await app.server.inject({ method: 'POST', url: '/admin/v1/workers', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { models: ['gpu/echo'] } });
  const token = issued.json().token as string;
  const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'gpu/echo', input: {} } });
  const claim = await app.server.inject({ method: 'POST', url: '/worker/v1/jobs/claim', headers: { authorization: `Bearer ${token}` }, payload: {} });
  assert.equal(claim.json().job.id, run.json().id);
  return { app, token, jobId: run.json().id as string, leaseToken: claim.json().job.lease_token as number, dir };
}

const uploadUrl = (c: Claimed, name = 'out.bin') => `/worker/v1/jobs/${c.jobId}/files?lease_token=${c.leaseToken}&name=${name}`;
const jobDir = (c: Claimed) => path.join(c.app.dataDir, 'files', c.jobId);
const filesIn = (c: Claimed) => (fs.existsSync(jobDir(c)) ? fs.readdirSync(jobDir(c)) : []);

/** Sends a raw request on a fresh connection; resolves with the status line and the JSON body. */
function rawRequest(port: number, parts: Array<string | Buffer | (() => Promise<void>)>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      (async () => {
        for (const part of parts) {
          if (typeof part === 'function') await part();
          else socket.write(part);
        }
      })().catch((err: unknown) => {
        socket.destroy();
        reject(err);
      });
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(text)?.[1] ?? NaN);
      if (end >= 0 && text.length >= end + 4 + length) {
        socket.destroy();
        resolve({ status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(end + 4, end + 4 + length)) });
      }
    });
    socket.on('error', reject);
  });
}

describe('worker uploads', () => {
  it('are written to storage as they arrive, not gathered in memory first', async (t) => {
    const c = await claimedJob(t);
    await c.app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = c.app.server.server.address() as AddressInfo;
    const data = randomBytes(4 * 1024 * 1024);
    const half = 2 * 1024 * 1024;
    const head = `POST ${uploadUrl(c)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${c.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`;
    const res = await rawRequest(port, [head, data.subarray(0, half), async () => {
      // Half the file is on disk before the other half is even sent.
      await eventually(() => {
        const partial = filesIn(c).find((f) => f.endsWith('.tmp'));
        return partial && fs.statSync(path.join(jobDir(c), partial)).size >= 1024 * 1024 ? true : undefined;
      }, 10_000, 'the first half to reach the disk');
    }, data.subarray(half)]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const served = await c.app.server.inject({ method: 'GET', url: new URL(res.body.url as string).pathname });
    assert.equal(served.rawPayload.length, data.length);
    assert.ok(served.rawPayload.equals(data), 'the stored file is the upload, byte for byte');
  });

  it('answers 413 naming the upload limit, not the JSON body limit, and keeps nothing', async (t) => {
    const c = await claimedJob(t, { GENJOBS_WORKER_UPLOAD_LIMIT: '2048', GENJOBS_BODY_LIMIT: '1024' });
    const expected = { error: 'The upload is larger than the limit of 2048 bytes (GENJOBS_WORKER_UPLOAD_LIMIT)', code: 'upload_too_large' };
    const declared = await c.app.server.inject({
      method: 'POST', url: uploadUrl(c), headers: { authorization: `Bearer ${c.token}`, 'content-type': 'image/png' }, payload: randomBytes(4096),
    });
    assert.equal(declared.statusCode, 413);
    assert.deepEqual(declared.json(), expected);

    // Without a Content-Length (chunked), the limit is enforced as the bytes arrive.
    await c.app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = c.app.server.server.address() as AddressInfo;
    const chunk = randomBytes(1500);
    const head = `POST ${uploadUrl(c)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${c.token}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const frame = `${chunk.length.toString(16)}\r\n`;
    const streamed = await rawRequest(port, [head, frame, chunk, '\r\n', frame, chunk, '\r\n', '0\r\n\r\n']);
    assert.equal(streamed.status, 413);
    assert.deepEqual(streamed.body, expected);
    assert.deepEqual(filesIn(c), [], 'no file and no partial file is left');

    // Above the JSON body limit but within the upload limit: accepted.
    const fits = await c.app.server.inject({
      method: 'POST', url: uploadUrl(c), headers: { authorization: `Bearer ${c.token}`, 'content-type': 'image/png' }, payload: randomBytes(2000),
    });
    assert.equal(fits.statusCode, 201, fits.body);
  });

  it('says an empty upload is empty, with or without a Content-Length', async (t) => {
    const c = await claimedJob(t);
    const expected = { error: 'The upload is empty: send the file\'s bytes as the request body', code: 'empty_upload' };
    const empty = await c.app.server.inject({ method: 'POST', url: uploadUrl(c), headers: { authorization: `Bearer ${c.token}`, 'content-type': 'image/png' }, payload: '' });
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(empty.json(), expected);
    const none = await c.app.server.inject({ method: 'POST', url: uploadUrl(c), headers: { authorization: `Bearer ${c.token}` } });
    assert.deepEqual([none.statusCode, none.json()], [400, expected]);
    await c.app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = c.app.server.server.address() as AddressInfo;
    const chunked = await rawRequest(port, [`POST ${uploadUrl(c)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${c.token}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`]);
    assert.deepEqual([chunked.status, chunked.body], [400, expected]);
    assert.deepEqual(filesIn(c), []);
  });

  it('stores a JSON file as a file, whatever its Content-Type', async (t) => {
    const c = await claimedJob(t);
    const json = '{"boxes": [[1, 2, 3, 4]]}';
    const res = await c.app.server.inject({ method: 'POST', url: uploadUrl(c, 'boxes.json'), headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' }, payload: json });
    assert.equal(res.statusCode, 201, res.body);
    const served = await c.app.server.inject({ method: 'GET', url: new URL(res.json().url as string).pathname });
    assert.equal(served.body, json);
  });

  it('refuses a Content-Type that contradicts the file\'s name with 415, keeping nothing; a name-less upload takes its type\'s extension', async (t) => {
    const c = await claimedJob(t);
    const headers = (type: string) => ({ authorization: `Bearer ${c.token}`, 'content-type': type });
    const html = await c.app.server.inject({ method: 'POST', url: uploadUrl(c, 'out.png'), headers: headers('text/html'), payload: '<script>alert(1)</script>' });
    assert.equal(html.statusCode, 415, html.body);
    assert.equal(html.json().code, 'upload_type_mismatch');
    assert.match(html.json().error, /sent as text\/html, which a \.png file is not/);
    assert.deepEqual(filesIn(c), []);
    for (const type of ['image/png', 'application/octet-stream', 'image/png; charset=binary']) {
      const ok = await c.app.server.inject({ method: 'POST', url: uploadUrl(c, 'out.png'), headers: headers(type), payload: 'png bytes' });
      assert.equal(ok.statusCode, 201, `${type}: ${ok.body}`);
    }
    const nameless = await c.app.server.inject({ method: 'POST', url: `/worker/v1/jobs/${c.jobId}/files?lease_token=${c.leaseToken}`, headers: headers('audio/wav'), payload: 'RIFF....WAVE' });
    assert.equal(nameless.statusCode, 201, nameless.body);
    assert.match(nameless.json().url as string, /\.wav$/);
  });
});
