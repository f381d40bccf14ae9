import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionError, GenJobs, RateLimitError, ServerError, TimeoutError } from '@genjobs/sdk';
import { liveApp, json, scriptedServer } from './live-server.js';
import type { TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';

const job = { id: '01a2', object: 'job', status: 'completed', output_data: null };

describe('@genjobs/sdk: rate limits against a live server', { timeout: 120_000 }, () => {
  let app: TestApp & { url: string };
  before(async () => { app = await liveApp(); });
  after(() => app.dispose());

  it('throws RateLimitError with retryAfter once the key is over its limit and retries are spent', async () => {
    const { key } = await app.account({ rateLimitPerMinute: 2 });
    const client = new GenJobs({ baseUrl: app.url, apiKey: key, maxRetries: 0 });
    await client.models.list();
    await client.models.list();
    const err = await client.models.list().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limited');
    assert.ok(err.retryAfter !== null && err.retryAfter > 0, `retryAfter ${err.retryAfter}`);
  });

  it('does not sit out a Retry-After longer than maxRetryAfterMs: it throws at once', async () => {
    const { key } = await app.account({ rateLimitPerMinute: 1 });
    const client = new GenJobs({ baseUrl: app.url, apiKey: key, maxRetries: 5, maxRetryAfterMs: 1_000 });
    await client.account.get();
    await assert.rejects(client.account.get(), (e: unknown) => e instanceof RateLimitError && (e.retryAfter ?? 0) > 1);
  });
});

describe('@genjobs/sdk: retries', { timeout: 90_000 }, () => {
  const servers: { close(): Promise<void> }[] = [];
  after(async () => { for (const s of servers) await s.close(); });
  const scripted = async (...answers: Parameters<typeof scriptedServer>[0]) => {
    const s = await scriptedServer(answers);
    servers.push(s);
    return s;
  };

  it('honours Retry-After on a 429, then succeeds', async () => {
    const s = await scripted(json(429, { error: 'Rate limit exceeded', code: 'rate_limited' }, { 'retry-after': '1' }), json(200, job));
    const client = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', maxRetries: 1 });
    assert.equal((await client.jobs.get('01a2')).status, 'completed');
    assert.equal(s.requests.length, 2);
    assert.ok(s.requests[1]!.at - s.requests[0]!.at >= 900, `the retry came ${s.requests[1]!.at - s.requests[0]!.at} ms later`);
  });

  it('retries a GET after a 503 and a run that carries an idempotency key, with the same key', async () => {
    const s = await scripted(json(503, { error: 'down', code: 'unavailable' }), json(502, { error: 'bad gateway' }), json(200, job));
    const client = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', maxRetries: 2 });
    await client.jobs.get('01a2');
    assert.equal(s.requests.length, 3);

    const r = await scripted(json(500, { error: 'oops', code: 'internal_error' }), json(200, job));
    const runClient = new GenJobs({ baseUrl: r.url, apiKey: 'sk_live_x', maxRetries: 2 });
    await runClient.run('local/image', { prompt: 'x' });
    assert.equal(r.requests.length, 2);
    const keys = r.requests.map((q) => q.headers['idempotency-key']);
    assert.ok(keys[0] && keys[0] === keys[1], `the same key both times: ${keys.join(', ')}`);
    assert.deepEqual(JSON.parse(r.requests[0]!.body), { model: 'local/image', input: { prompt: 'x' } });
  });

  it('never repeats a run sent without an idempotency key', async () => {
    const s = await scripted(json(500, { error: 'oops', code: 'internal_error' }), json(200, job));
    const client = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', maxRetries: 3 });
    await assert.rejects(client.run('local/image', {}, { idempotencyKey: null }), (e: unknown) => e instanceof ServerError && e.status === 500 && e.code === 'internal_error');
    assert.equal(s.requests.length, 1);
    assert.equal(s.requests[0]!.headers['idempotency-key'], undefined);
  });

  it('stops after maxRetries', async () => {
    const s = await scripted(json(503, { error: 'down' }));
    const client = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', maxRetries: 2 });
    await assert.rejects(client.models.list(), ServerError);
    assert.equal(s.requests.length, 3);
  });

  it('fails an attempt that takes longer than timeoutMs (per client or per call) with TimeoutError', async () => {
    const s = await scripted(() => { /* never answers */ });
    const client = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', timeoutMs: 150, maxRetries: 0 });
    await assert.rejects(client.models.list(), (e: unknown) => e instanceof TimeoutError && e.status === null);
    const patient = new GenJobs({ baseUrl: s.url, apiKey: 'sk_live_x', timeoutMs: 60_000, maxRetries: 0 });
    await assert.rejects(patient.account.get({ timeoutMs: 150 }), TimeoutError);
  });

  it('throws ConnectionError when nothing listens', async () => {
    const port = await freePort();
    const client = new GenJobs({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'sk_live_x', maxRetries: 1 });
    await assert.rejects(client.models.list(), (e: unknown) => e instanceof ConnectionError && /ECONNREFUSED/.test(e.message));
  });
});
