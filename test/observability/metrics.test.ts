import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { packageRoot } from '../../src/paths.js';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { sample } from './samples.js';

async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.server.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body;
}

const value = async (app: TestApp, name: string, labels: Record<string, string> = {}) => sample(await scrape(app), name, labels) ?? 0;

async function runJob(app: TestApp, auth: { authorization: string }, input: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input, ...extra } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().id as string;
}

const statusOf = async (app: TestApp, id: string) => (await app.store.jobGetById({ id }))?.status;

describe('GET /metrics', () => {
  it('counts jobs created and finished by status, model and run type, their dispatch and run times and the credits', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 100 });
    const before = await scrape(app);
    assert.equal(sample(before, 'genjobs_jobs_created_total', { model: 'local/test' }), undefined);
    const ok = await runJob(app, auth, {});
    const bad = await runJob(app, auth, { outcome: 'failed' });
    await eventually(async () => ((await statusOf(app, ok)) === 'completed' && (await statusOf(app, bad)) === 'failed' ? true : undefined));
    // The counters follow the store's write (the job's news is told after it): wait for both jobs'
    // ends to be counted, not for one and then read the other at once.
    const text = await eventually(async () => {
      const s = await scrape(app);
      const finished = (status: string) => sample(s, 'genjobs_jobs_finished_total', { status });
      return finished('failed') === 1 && finished('completed') === 1 ? s : undefined;
    });
    assert.equal(sample(text, 'genjobs_jobs_created_total', { model: 'local/test', run_type: 'model' }), 2);
    assert.equal(sample(text, 'genjobs_jobs_finished_total', { status: 'completed', model: 'local/test', run_type: 'model' }), 1);
    assert.equal(sample(text, 'genjobs_jobs_finished_total', { status: 'failed', model: 'local/test', run_type: 'model' }), 1);
    assert.equal(sample(text, 'genjobs_job_dispatch_seconds_count', { model: 'local/test' }), 2);
    assert.equal(sample(text, 'genjobs_job_run_seconds_count', { model: 'local/test', status: 'completed' }), 1);
    assert.equal(sample(text, 'genjobs_job_run_seconds_count', { model: 'local/test', status: 'failed' }), 1);
    const charged = (await app.store.jobGetById({ id: ok }))!.creditsCharged;
    assert.ok(charged > 0);
    assert.equal(sample(text, 'genjobs_credits_charged_total'), 2 * charged);
    const refunded = (await app.store.jobGetById({ id: bad }))!.creditsRefunded;
    assert.equal(sample(text, 'genjobs_credits_refunded_total'), refunded);
  });

  it('reads the queue depth per model and the oldest pending job\'s age from the store, and counts a cancel with its refund', async (t) => {
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 100 });
    const empty = await scrape(app);
    assert.equal(sample(empty, 'genjobs_queue_oldest_pending_seconds'), 0, 'no job waits');
    assert.equal(sample(empty, 'genjobs_queue_depth', { model: 'local/test' }), undefined);
    const first = await runJob(app, auth, {});
    const second = await runJob(app, auth, {});
    // The gauges are read from the store at most every 2 s: they follow at a later scrape.
    const waiting = await eventually(async () => {
      const s = await scrape(app);
      return sample(s, 'genjobs_queue_depth', { model: 'local/test' }) === 2 && (sample(s, 'genjobs_queue_oldest_pending_seconds') ?? 0) > 0 ? s : undefined;
    }, 10_000, 'two pending jobs, the oldest aging');
    assert.ok(sample(waiting, 'genjobs_queue_oldest_pending_seconds')! < 60);
    const cancel = await app.server.inject({ method: 'POST', url: `/api/v1/jobs/${first}/cancel`, headers: auth });
    assert.equal(cancel.statusCode, 200, cancel.body);
    await eventually(async () => ((await value(app, 'genjobs_queue_depth', { model: 'local/test' })) === 1 ? true : undefined), 10_000, 'the queue depth to drop');
    const after = await scrape(app);
    assert.equal(sample(after, 'genjobs_jobs_finished_total', { status: 'cancelled', model: 'local/test' }), 1);
    assert.equal(sample(after, 'genjobs_credits_refunded_total'), (await app.store.jobGetById({ id: first }))!.creditsRefunded);
    assert.equal((await app.server.inject({ method: 'POST', url: `/api/v1/jobs/${second}/cancel`, headers: auth })).statusCode, 200);
    await eventually(async () => {
      const s = await scrape(app);
      return sample(s, 'genjobs_queue_depth', { model: 'local/test' }) === 0 && sample(s, 'genjobs_queue_oldest_pending_seconds') === 0 ? true : undefined;
    }, 10_000, 'an empty queue: the model at 0, no age');
  });

  it('counts app runs under model "app" and run type "app"', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account({ credits: 100 });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const made = await app.server.inject({
      method: 'POST', url: `/admin/v1/users/${userId}/apps`, headers: admin,
      payload: { name: 'Two steps', nodes: [{ id: 'a', model: 'local/test', settings: {} }, { id: 'b', model: 'local/test', settings: {} }] },
    });
    assert.equal(made.statusCode, 201, made.body);
    const res = await app.server.inject({ method: 'POST', url: '/api/v1/apps/run', headers: auth, payload: { app_id: made.json().id, inputs: {} } });
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().id as string;
    await eventually(async () => ((await statusOf(app, id)) === 'completed' ? true : undefined), 10_000, 'the app run');
    const text = await eventually(async () => {
      const s = await scrape(app);
      return sample(s, 'genjobs_jobs_finished_total', { model: 'app' }) === 1 ? s : undefined;
    });
    assert.equal(sample(text, 'genjobs_jobs_created_total', { model: 'app', run_type: 'app' }), 1);
    assert.equal(sample(text, 'genjobs_jobs_finished_total', { status: 'completed', model: 'app', run_type: 'app' }), 1);
    assert.equal(sample(text, 'genjobs_job_dispatch_seconds_count', { model: 'app' }), 1);
    assert.equal(sample(text, 'genjobs_job_run_seconds_count', { model: 'app', status: 'completed' }), 1);
    assert.equal(sample(text, 'genjobs_credits_charged_total'), (await app.store.jobGetById({ id }))!.creditsCharged);
    assert.equal(sample(text, 'genjobs_jobs_created_total', { model: 'local/test' }), undefined, 'the nodes are not jobs of their own');
  });

  it('counts webhook attempts by outcome, given-up deliveries, and the oldest undelivered age', async (t) => {
    const answers = [500, 200, 410];
    let calls = 0;
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(answers[Math.min(calls++, answers.length - 1)]!).end(); });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    // The retry waits long enough for a scrape (cached for 2 s) to see the delivery owed.
    const app = await testApp({ GENJOBS_WEBHOOK_BACKOFF_MS: '5000' });
    t.after(async () => { await app.dispose(); await new Promise<void>((r) => srv.close(() => r())); });
    const { auth } = await app.account({ credits: 100 });
    const first = await runJob(app, auth, {}, { webhook_url: url });
    // The first attempt is refused (500): the delivery is owed and aging.
    await eventually(async () => ((await value(app, 'genjobs_webhook_attempts_total', { outcome: 'retry' })) === 1 ? true : undefined), 10_000, 'a retry');
    assert.ok((await eventually(async () => {
      const age = await value(app, 'genjobs_webhook_oldest_undelivered_seconds');
      return age > 0 ? age : undefined;
    }, 10_000, 'an undelivered age')) > 0);
    await eventually(async () => ((await app.store.jobGetById({ id: first }))?.webhookDelivered ? true : undefined), 10_000, 'the delivery');
    // Counted once the dispatcher's write has returned, which the store can show a moment before.
    await eventually(async () => ((await value(app, 'genjobs_webhook_attempts_total', { outcome: 'delivered' })) === 1 ? true : undefined), 10_000, 'the delivery counted');
    // The next job's endpoint answers 410 Gone: given up at once.
    await runJob(app, auth, {}, { webhook_url: url });
    await eventually(async () => ((await value(app, 'genjobs_webhook_failures_total')) === 1 ? true : undefined), 10_000, 'a failure');
    assert.equal(await value(app, 'genjobs_webhook_attempts_total', { outcome: 'failed' }), 1);
    await eventually(async () => ((await value(app, 'genjobs_webhook_oldest_undelivered_seconds')) === 0 ? true : undefined), 10_000, 'no delivery owed');
  });

  it('counts rate-limit rejections and HTTP requests by route and status with their times', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ rateLimitPerMinute: 1 });
    assert.equal((await app.server.inject({ method: 'GET', url: '/api/v1/jobs', headers: auth })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'GET', url: '/api/v1/jobs', headers: auth })).statusCode, 429);
    await app.server.inject({ method: 'GET', url: '/no/such/route/4711' });
    const text = await scrape(app);
    assert.equal(sample(text, 'genjobs_rate_limited_total'), 1);
    assert.equal(sample(text, 'genjobs_http_requests_total', { method: 'GET', route: '/api/v1/jobs', status: '200' }), 1);
    assert.equal(sample(text, 'genjobs_http_requests_total', { method: 'GET', route: '/api/v1/jobs', status: '429' }), 1);
    assert.equal(sample(text, 'genjobs_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.equal(sample(text, 'genjobs_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/jobs' }), 2);
    assert.equal(text.includes('/no/such/route/4711'), false, 'unknown paths make no series');
  });

  it('counts open event streams, and serves the process\'s own metrics', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
    const stream = new AbortController();
    const res = await fetch(`${base}/api/v1/jobs/events`, { headers: auth, signal: stream.signal });
    assert.equal(res.status, 200);
    assert.equal(await value(app, 'genjobs_event_streams'), 1);
    stream.abort();
    await eventually(async () => ((await value(app, 'genjobs_event_streams')) === 0 ? true : undefined), 5_000, 'the stream to close');
    const text = await scrape(app);
    for (const name of ['genjobs_process_cpu_user_seconds_total', 'genjobs_process_resident_memory_bytes', 'genjobs_nodejs_eventloop_lag_seconds', 'genjobs_nodejs_heap_size_used_bytes']) {
      assert.ok(sample(text, name) !== undefined, `${name} is served`);
    }
  });

  it('asks for GENJOBS_METRICS_TOKEN when it is set', async (t) => {
    const token = 'metrics-token-0123456789abcdef';
    const app = await testApp({ GENJOBS_METRICS_TOKEN: token });
    t.after(() => app.dispose());
    const none = await app.server.inject({ method: 'GET', url: '/metrics' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'missing_token');
    const wrong = await app.server.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-wrong-0123456789' } });
    assert.deepEqual(wrong.json(), { error: 'Invalid metrics token', code: 'invalid_metrics_token' });
    assert.ok((sample(await scrape(app, { authorization: `Bearer ${token}` }), 'genjobs_http_requests_total', { route: '/metrics', status: '401' }) ?? 0) >= 2);
  });

  it('is each documented in operations.md\'s table of metrics, and the table names none that is not served', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const served = [...(await scrape(app)).matchAll(/^# TYPE (genjobs_\w+) /gm)].map((m) => m[1]!)
      .filter((n) => !/^genjobs_(process|nodejs)_/.test(n));
    assert.ok(served.length >= 16, served.join(', '));
    const doc = fs.readFileSync(path.join(packageRoot, 'docs', 'operations.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Metrics'), doc.indexOf('\n## ', doc.indexOf('\n## Metrics') + 1));
    const rows = new Set([...section.matchAll(/^\| `[^|]*\|/gm)].flatMap((m) => [...m[0].matchAll(/`(genjobs_\w+)`/g)].map((x) => x[1]!)));
    for (const name of served) assert.ok(rows.has(name), `${name} is not in the table of docs/operations.md#metrics`);
    for (const name of rows) assert.ok(served.includes(name), `operations.md lists ${name}, which /metrics does not serve`);
  });
});
