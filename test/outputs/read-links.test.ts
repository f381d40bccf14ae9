import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { eventually, testApp, type TestApp } from '../helpers/app.js';
import { readerAt } from './processes.js';
import { openSse } from '../jobs/sse.js';

/*
 * Outputs are stored as references and linked by the process that shows them: a job produced by
 * a process at PUBLIC_URL A and read through a process at PUBLIC_URL B shows B's links, in every
 * answer (GET, list, run answer, event streams, webhooks). Runs on both stores.
 */

type Json = Record<string, any>;
const A = 'http://a.genjobs.test';
const B = 'http://b.genjobs.test';

async function producerAt(t: TestContext, publicUrl: string, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await testApp({ PUBLIC_URL: publicUrl, GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  return app;
}

const json = async (app: { server: TestApp['server'] }, auth: Json, method: 'GET' | 'POST', url: string, body?: unknown) => {
  const res = await app.server.inject({ method, url, headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  return { status: res.statusCode, body: res.json() as Json };
};

const linkOf = (origin: string, key: string) => `${origin}/files/${key}`;

/** Runs `local/image` (a sync model) on `app` and returns its answer. */
async function image(app: TestApp, auth: Json): Promise<Json> {
  const res = await json(app, auth, 'POST', '/api/v1/models/run', { model: 'local/image', input: { prompt: 'a lighthouse at dusk' } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

describe('outputs stored as references, linked when read', () => {
  it('a built-in model stores a reference to its file (key, size, type, checksum), never a URL', async (t) => {
    const a = await producerAt(t, A);
    const { auth } = await a.account();
    const job = await image(a, auth);
    const stored = await a.store.jobGetById({ id: job.id });
    const ref = (stored!.outputData as Json).outputImage.$file;
    assert.match(ref.key, new RegExp(`^${job.id}/[\\w-]+\\.png$`));
    const bytes = fs.readFileSync(path.join(a.dataDir, 'files', ref.key));
    assert.deepEqual(ref, { key: ref.key, size: bytes.length, contentType: 'image/png', sha256: createHash('sha256').update(bytes).digest('hex') });
    assert.equal(JSON.stringify(stored!.outputData).includes('http'), false, 'no URL is stored');
    // The run's own answer links it at the process that answered.
    assert.equal(job.output_data.outputImage, linkOf(A, ref.key));
    assert.equal(job.output.outputImage, linkOf(A, ref.key));
  });

  it('GET, the list and a retry answer show the links of the process that answers, not of the one that produced', async (t) => {
    const a = await producerAt(t, A);
    const b = await readerAt(t, a, B);
    const { auth } = await a.account();
    const job = await image(a, auth);
    const key = ((await a.store.jobGetById({ id: job.id }))!.outputData as Json).outputImage.$file.key as string;

    const got = await json(b, auth, 'GET', `/api/v1/jobs/${job.id}`);
    assert.equal(got.body.output_data.outputImage, linkOf(B, key));
    // Read again (the final job comes from the read cache): still B's.
    assert.equal((await json(b, auth, 'GET', `/api/v1/jobs/${job.id}`)).body.output_data.outputImage, linkOf(B, key));
    assert.equal((await json(a, auth, 'GET', `/api/v1/jobs/${job.id}`)).body.output_data.outputImage, linkOf(A, key));
    const list = await json(b, auth, 'GET', '/api/v1/jobs');
    assert.equal(list.body.data.find((j: Json) => j.id === job.id).output_data.outputImage, linkOf(B, key));

    // The link B gives is served by B.
    const file = await b.server.inject({ method: 'GET', url: `/files/${key}` });
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'image/png');
  });

  it('an app run stores each node\'s file as a reference; the later node read the earlier one\'s file', async (t) => {
    const a = await producerAt(t, A);
    const b = await readerAt(t, a, B);
    const { auth } = await a.account();
    const run = await json(a, auth, 'POST', '/api/v1/apps/run', { app_id: '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11', inputs: { prompt: 'a small boat' } });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const done = await eventually(async () => {
      const j = await a.store.jobGetById({ id: run.body.id });
      return j && j.status !== 'pending' && j.status !== 'processing' ? j : undefined;
    }, 20_000, 'the app job to finish');
    assert.equal(done.status, 'completed', done.errorMessage ?? '');
    const nodes = (done.outputData as Json).node_outputs;
    const render = nodes.render.outputImage.$file;
    const upscale = nodes.upscale.outputImage.$file;
    assert.ok(render && upscale, JSON.stringify(nodes));
    assert.ok(upscale.size > render.size, 'the upscaled image is the larger: the upscale node read the render node\'s file');
    const shown = (await json(b, auth, 'GET', `/api/v1/jobs/${run.body.id}`)).body;
    assert.deepEqual(shown.output_data.node_outputs, { render: { outputImage: linkOf(B, render.key) }, upscale: { outputImage: linkOf(B, upscale.key) } });
    assert.equal(shown.output_data.app_name, 'Render and Upscale');
  });

  it('the event stream of a job shows the links of the process it is read from', async (t) => {
    const a = await producerAt(t, A);
    const b = await readerAt(t, a, B);
    const { auth } = await a.account();
    const job = await image(a, auth);
    const key = ((await a.store.jobGetById({ id: job.id }))!.outputData as Json).outputImage.$file.key as string;
    const base = await b.server.listen({ port: 0, host: '127.0.0.1' });
    const stream = await openSse(`${base}/api/v1/jobs/${job.id}/events`, auth);
    const status = await stream.waitFor((e) => e.event === 'status', 5000, 'the job\'s status');
    assert.equal(status.data.output_data.outputImage, linkOf(B, key));
    stream.close();
  });

  it('the account stream shows a job finished elsewhere with the links of the process it is read from', async (t) => {
    const a = await producerAt(t, A);
    const b = await readerAt(t, a, B);
    const { auth } = await a.account();
    const base = await b.server.listen({ port: 0, host: '127.0.0.1' });
    const stream = await openSse(`${base}/api/v1/jobs/events`, auth);
    t.after(() => stream.close());
    // Started once the stream is open: a comment line says it is.
    await eventually(() => (stream.status === 200 ? true : undefined), 5000);
    const job = await image(a, auth);
    // B hears of A's change through the shared store's notices (PostgreSQL) or its poll sweep.
    b.events.changed((await b.store.jobGetById({ id: job.id }))!);
    const done = await stream.waitFor((e) => e.event === 'status' && e.data.id === job.id && e.data.status === 'completed', 10_000, 'the finished job');
    const key = ((await a.store.jobGetById({ id: job.id }))!.outputData as Json).outputImage.$file.key as string;
    assert.equal(done.data.output_data.outputImage, linkOf(B, key));
  });

  it('a webhook is rendered by the dispatcher\'s process when it sends it', async (t) => {
    // A sends no webhooks: B's dispatcher (another process, links of B) sends the delivery.
    const a = await producerAt(t, A, { GENJOBS_WEBHOOKS: 'false' });
    const { auth } = await a.account();
    const bodies: Json[] = [];
    const receiver = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => { text += c; });
      req.on('end', () => { bodies.push(JSON.parse(text)); res.end('ok'); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => receiver.close(() => r())));
    const port = (receiver.address() as { port: number }).port;
    const res = await json(a, auth, 'POST', '/api/v1/models/run', { model: 'local/image', input: { prompt: 'fog' }, webhook_url: `http://127.0.0.1:${port}/hook` });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const key = ((await a.store.jobGetById({ id: res.body.id }))!.outputData as Json).outputImage.$file.key as string;
    const dispatcher = new WebhookDispatcher({
      store: a.store, events: a.events, logger: pino({ level: 'silent' }), allowPrivate: true, timeoutMs: 2_000, backoffMs: 20, retryForMs: 60_000, pollMs: 50,
      links: { link: (f) => linkOf(B, f.key), stable: true },
    });
    dispatcher.start();
    t.after(() => dispatcher.stop());
    const body = await eventually(() => bodies.find((x) => x.job?.id === res.body.id), 10_000, 'the delivery');
    assert.equal(body.job.output_data.outputImage, linkOf(B, key));
    assert.equal(body.job.output.outputImage, linkOf(B, key));
  });
});
