import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { defaultCatalogPath } from '../../src/paths.js';

/** A logger that keeps every line it writes, as the server's stdout would get them. */
function capture(level: 'info' | 'trace' = 'info') {
  const text: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { text.push(chunk.toString()); done(); } });
  const lines = () => text.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger: createLogger(level, stream), lines, all: () => text.join('') };
}

/** The lifecycle lines of one job (other lines, such as the executor's own, may name it too). */
const jobLines = (lines: Record<string, unknown>[], jobId: string) => lines.filter((l) => l.jobId === jobId && /^job /.test(String(l.msg))).map((l) => l.msg);

describe('request logs', () => {
  it('writes one line per request with the caller\'s X-Request-Id, echoed back, and the account, route, status and time', async (t) => {
    const log = capture();
    const app = await testApp({}, { logger: log.logger });
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/jobs?limit=5', headers: { ...auth, 'x-request-id': 'edge-7f3a.42' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-request-id'], 'edge-7f3a.42');
    const lines = log.lines().filter((l) => l.reqId === 'edge-7f3a.42');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0]!;
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/api/v1/jobs');
    assert.equal(line.path, '/api/v1/jobs');
    assert.equal(line.status, 200);
    assert.equal(line.accountId, userId);
    assert.equal(typeof line.ms, 'number');
  });

  it('makes up an id when none or an unusable one is given, and echoes it on errors too', async (t) => {
    const log = capture();
    const app = await testApp({}, { logger: log.logger });
    t.after(() => app.dispose());
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const none = await app.server.inject({ method: 'GET', url: '/api/v1/jobs' });
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['x-request-id']), uuid);
    const bad = await app.server.inject({ method: 'GET', url: '/api/v1/models', headers: { 'x-request-id': `a b${'x'.repeat(200)}` } });
    assert.match(String(bad.headers['x-request-id']), uuid);
    const lines = log.lines().filter((l) => l.msg === 'request');
    assert.deepEqual(lines.map((l) => [l.reqId, l.status]), [[none.headers['x-request-id'], 401], [bad.headers['x-request-id'], bad.statusCode]]);
    assert.equal(lines[0]!.accountId, undefined);
  });
});

describe('job lifecycle logs', () => {
  it('logs created, started and completed or failed at info with the job id, once each', async (t) => {
    const log = capture();
    const app = await testApp({}, { logger: log.logger });
    t.after(() => app.dispose());
    const { auth, userId } = await app.account();
    const run = async (input: Record<string, unknown>) => {
      const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input } });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().id as string;
    };
    const ok = await run({});
    const bad = await run({ outcome: 'failed', error_message: 'asked to fail' });
    await eventually(() => (jobLines(log.lines(), ok).includes('job completed') && jobLines(log.lines(), bad).includes('job failed') ? true : undefined));
    // Once each. Created and started may come in either order: the executor can claim the job
    // (woken by the store's notice, on PostgreSQL) before the request that created it goes on.
    assert.deepEqual(jobLines(log.lines(), ok).sort(), ['job completed', 'job created', 'job started']);
    assert.deepEqual(jobLines(log.lines(), bad).sort(), ['job created', 'job failed', 'job started']);
    for (const id of [ok, bad]) assert.match(String(jobLines(log.lines(), id).at(-1)), /^job (completed|failed)$/, 'the final line comes last');
    const created = log.lines().find((l) => l.jobId === ok && l.msg === 'job created')!;
    assert.equal(created.level, 30);
    assert.equal(created.accountId, userId);
    assert.equal(created.model, 'local/test');
  });
});

describe('job lifecycle logs: cancellations', () => {
  it('logs a cancelled job at info with its refund, once', async (t) => {
    const log = capture();
    const logged = await testApp({ GENJOBS_EXECUTOR: 'false' }, { logger: log.logger });
    t.after(() => logged.dispose());
    const { auth } = await logged.account();
    const res = await logged.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: {} } });
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().id as string;
    const cancel = await logged.server.inject({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, headers: auth });
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.deepEqual(jobLines(log.lines(), id), ['job created', 'job cancelled']);
    const line = log.lines().find((l) => l.jobId === id && l.msg === 'job cancelled')!;
    assert.equal(line.level, 30);
    assert.equal(line.status, 'cancelled');
    assert.equal(line.refunded, (await logged.store.jobGetById({ id }))!.creditsRefunded);
  });
});

/** A stand-in for an images API that refuses every call (noting the credential it was sent), and a webhook receiver at /hook. */
async function refusingProvider() {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/hook') return void res.writeHead(200).end('ok');
      seen.push(req.headers.authorization ?? '');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('no secret in the logs', () => {
  it('writes none of the scenario\'s secrets, even at trace level', async (t) => {
    const PROVIDER_ENV = 'GENJOBS_TEST_LOGS_PROVIDER_TOKEN';
    const providerToken = 'sk-provider-4b1d9e0c7a2f58e3';
    process.env[PROVIDER_ENV] = providerToken;
    const provider = await refusingProvider();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-logs-'));
    const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
    catalog.models.push(
      { id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } },
      { id: 'openai/logs', name: 'Images', modality: 'image', cost: 1, promptRequired: true, provider: { type: 'openai-images', model: 'gpt-image-1', base_url: provider.base, token_env: PROVIDER_ENV } },
    );
    fs.writeFileSync(path.join(dir, 'catalog.json'), JSON.stringify(catalog));
    const log = capture('trace');
    const metricsToken = 'metrics-4e8c1f2a9b7d3e60';
    const app: TestApp = await testApp({ GENJOBS_CATALOG: path.join(dir, 'catalog.json'), GENJOBS_METRICS_TOKEN: metricsToken }, { logger: log.logger });
    t.after(async () => {
      await app.dispose();
      await provider.close();
      fs.rmSync(dir, { recursive: true, force: true });
      delete process.env[PROVIDER_ENV];
    });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const inject = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: unknown) => {
      const res = await app.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
      assert.ok(res.statusCode < 500, `${method} ${url}: ${res.statusCode} ${res.body}`);
      return res;
    };

    // The operator: an account, its key and a worker, over the admin API.
    const user = (await inject('POST', '/admin/v1/users', admin, { credits: 100 })).json() as { id: string };
    const apiKey = (await inject('POST', `/admin/v1/users/${user.id}/keys`, admin, {})).json().key as string;
    const workerToken = (await inject('POST', '/admin/v1/workers', admin, { name: 'gpu', models: ['gpu/echo'] })).json().token as string;
    const auth = { authorization: `Bearer ${apiKey}` };
    // The account: webhook secrets, a run with a webhook, a run its provider refuses, a worker run.
    const secret = (await inject('GET', '/api/v1/webhooks/secret', auth)).json().secret as string;
    const rotated = (await inject('POST', '/api/v1/webhooks/secret/rotate', auth)).json().secret as string;
    const hook = await inject('POST', '/api/v1/models/run', auth, { model: 'local/test', input: {}, webhook_url: `${provider.base}/hook` });
    const refused = (await inject('POST', '/api/v1/models/run', auth, { model: 'openai/logs', input: { prompt: 'a fox' } })).json().id as string;
    const gpu = (await inject('POST', '/api/v1/models/run', auth, { model: 'gpu/echo', input: {} })).json().id as string;
    const worker = { authorization: `Bearer ${workerToken}` };
    const claim = (await inject('POST', '/worker/v1/jobs/claim', worker, { models: ['gpu/echo'] })).json().job as { id: string; lease_token: number };
    assert.equal(claim.id, gpu);
    await inject('POST', `/worker/v1/jobs/${gpu}/complete`, worker, { lease_token: claim.lease_token, output: { outputImage: 'http://x/y.png' } });
    // Wrong credentials are secrets too (often a right one with a typo).
    await inject('GET', '/api/v1/jobs', { authorization: 'Bearer sk_live_wrong-but-secret-0123456789' });
    await inject('GET', '/admin/v1/workers', { authorization: 'Bearer admin-token-with-a-typo-0123' });
    await inject('POST', '/worker/v1/jobs/claim', { authorization: 'Bearer wk_live_typo-secret-0123456789' }, {});
    assert.equal((await inject('GET', '/metrics', { authorization: `Bearer ${metricsToken}` })).statusCode, 200);
    await inject('GET', '/metrics', { authorization: 'Bearer metrics-typo-secret-0123456789' });
    await eventually(async () => ((await app.store.jobGetById({ id: refused }))?.status === 'failed' ? true : undefined), 10_000, 'the refused run to fail');
    await eventually(async () => ((await app.store.jobGetById({ id: hook.json().id as string }))?.webhookDelivered ? true : undefined), 10_000, 'the webhook');
    assert.ok(provider.seen.includes(`Bearer ${providerToken}`), 'the provider got the token');

    const written = log.all();
    assert.ok(log.lines().some((l) => l.msg === 'request' && l.path === '/worker/v1/jobs/claim'), 'the scenario was logged');
    const secrets = {
      'API key': apiKey, 'worker token': workerToken, 'admin token': ADMIN_TOKEN, 'webhook secret': secret, 'rotated webhook secret': rotated,
      'provider token': providerToken, 'wrong API key': 'sk_live_wrong-but-secret-0123456789', 'wrong admin token': 'admin-token-with-a-typo-0123',
      'wrong worker token': 'wk_live_typo-secret-0123456789', 'metrics token': metricsToken, 'wrong metrics token': 'metrics-typo-secret-0123456789',
    };
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(value.length >= 16, `${name} is a real secret`);
      assert.equal(written.includes(value), false, `the logs hold the ${name}`);
      // Base64 secrets appear without their prefix in signatures; a half is enough to give one away.
      assert.equal(written.includes(value.slice(value.length / 2)), false, `the logs hold the end of the ${name}`);
    }
    assert.equal(/authorization/i.test(written), false, 'no Authorization header is logged');
  });
});
