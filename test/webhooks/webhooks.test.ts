import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../../src/paths.js';
import { eventually, testApp, type TestApp } from '../helpers/app.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local receiver: answers each request with the next of `answers` (the last repeats). */
async function receiver(answers: { status: number; headers?: Record<string, string> }[] = [{ status: 200 }]) {
  const got: Received[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      const a = answers[Math.min(got.length - 1, answers.length - 1)]!;
      res.writeHead(a.status, a.headers).end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return { base, url: `${base}/hook`, got, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

async function setup(env: Record<string, string> = {}) {
  const app = await testApp({ GENJOBS_WEBHOOK_BACKOFF_MS: '20', GENJOBS_POLL_MS: '50', ...env });
  const account = await app.account({ credits: 100 });
  return { app, ...account };
}

const runWithHook = async (app: TestApp, auth: { authorization: string }, url: string, input: Record<string, unknown> = {}) => {
  const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input, webhook_url: url } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().id as string;
};
const secretOf = async (app: TestApp, auth: { authorization: string }) =>
  (await app.server.inject({ method: 'GET', url: '/api/v1/webhooks/secret', headers: auth })).json() as { secret: string; previous_secret_expires_at: string | null };
const deliveries = async (app: TestApp, auth: { authorization: string }, id: string) =>
  (await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}/webhook_deliveries`, headers: auth })).json().data as any[];

/** Standard Webhooks verification, written from the scheme, independent of the server's code. */
function verifyStandard(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
  return String(r.headers['webhook-signature']).split(' ').some((s) => s === `v1,${expected}`);
}
const hexSignature = (secret: string, body: string) => `sha256=${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(body).digest('hex')}`;

// A budget for the whole suite (node's describe timeout covers all its tests), for a loaded machine.
describe('webhooks', { timeout: 120_000 }, () => {
  it('delivers job.completed signed both ways, verifiable with the account\'s secret, and marks it delivered', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver();
    t.after(async () => { await hook.close(); await app.dispose(); });
    const { secret } = await secretOf(app, auth);
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    const id = await runWithHook(app, auth, hook.url);
    await eventually(() => (hook.got.length >= 1 ? true : undefined), 5_000, 'the delivery');
    const [r] = hook.got;
    const body = JSON.parse(r!.body);
    assert.equal(body.event, 'job.completed');
    assert.deepEqual([body.job.id, body.job.status, body.job.output], [id, 'completed', { outputText: 'local/test completed after 0 ms' }]);
    assert.ok(body.job.completed_at);
    assert.ok(verifyStandard(secret, r!), 'Standard Webhooks signature verifies');
    assert.equal(r!.headers['x-armox-signature'], hexSignature(secret, r!.body));
    assert.ok(Math.abs(Number(r!.headers['webhook-timestamp']) - Date.now() / 1000) < 30);
    await eventually(async () => ((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json().webhook_delivered ? true : undefined));
  });

  it('sends job.failed and job.cancelled too', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver();
    t.after(async () => { await hook.close(); await app.dispose(); });
    await runWithHook(app, auth, hook.url, { outcome: 'failed', error_message: 'nope' });
    const slow = await runWithHook(app, auth, hook.url, { duration_ms: 30_000 });
    await eventually(async () => ((await app.store.jobGetById({ id: slow }))?.status === 'processing' ? true : undefined));
    await app.server.inject({ method: 'POST', url: `/api/v1/jobs/${slow}/cancel`, headers: auth });
    await eventually(() => (hook.got.length >= 2 ? true : undefined), 5_000, 'two deliveries');
    assert.deepEqual(hook.got.map((r) => JSON.parse(r.body).event).sort(), ['job.cancelled', 'job.failed']);
  });

  it('retries a receiver that fails three times, with the same webhook-id and body, until it succeeds', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver([{ status: 500 }, { status: 502 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 204 }]);
    t.after(async () => { await hook.close(); await app.dispose(); });
    const id = await runWithHook(app, auth, hook.url);
    // Delivered is final: the dispatcher sends only pending deliveries, so none comes after it.
    await eventually(async () => ((await deliveries(app, auth, id))[0]?.status === 'delivered' ? true : undefined), 10_000, 'the delivery to succeed');
    assert.equal(hook.got.length, 4, 'no attempt after the success');
    assert.equal(new Set(hook.got.map((r) => r.headers['webhook-id'])).size, 1);
    assert.equal(new Set(hook.got.map((r) => r.body)).size, 1);
    const [d] = await deliveries(app, auth, id);
    assert.deepEqual([d.status, d.attempts, d.attempt_log.map((a: any) => a.status_code)], ['delivered', 4, [500, 502, 429, 204]]);
    assert.equal(d.id, hook.got[0]!.headers['webhook-id']);
  });

  it('still delivers after a crash between the terminal status and the delivery', async (t) => {
    // The process that finished the job sends no webhook (as if it died right after the commit).
    const { app, auth } = await setup({ GENJOBS_WEBHOOKS: 'false' });
    const hook = await receiver();
    let dispatcher: WebhookDispatcher | undefined;
    t.after(async () => { await dispatcher?.stop(); await hook.close(); await app.dispose(); });
    const id = await runWithHook(app, auth, hook.url);
    await eventually(async () => ((await app.store.jobGetById({ id }))?.status === 'completed' ? true : undefined));
    assert.equal(app.webhooks, null, 'this process has no dispatcher: nothing can send the delivery');
    assert.equal(hook.got.length, 0);
    assert.equal((await deliveries(app, auth, id))[0]?.status, 'pending', 'the outbox row was written with the status');
    // The next process to start sends it.
    dispatcher = new WebhookDispatcher({ store: app.store, events: app.events, logger: pino({ level: 'silent' }), allowPrivate: true, timeoutMs: 2_000, backoffMs: 20, retryForMs: 60_000, pollMs: 50, links: app.jobs.links });
    dispatcher.start();
    await eventually(() => (hook.got.length === 1 ? true : undefined), 5_000, 'the delivery after restart');
    assert.equal(JSON.parse(hook.got[0]!.body).job.id, id);
  });

  it('stops retrying an endpoint that answers 410 Gone', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver([{ status: 410 }]);
    t.after(async () => { await hook.close(); await app.dispose(); });
    const id = await runWithHook(app, auth, hook.url);
    const [gone] = await eventually(async () => {
      const list = await deliveries(app, auth, id);
      return list[0]?.status === 'failed' ? list : undefined;
    }, 5_000);
    // Failed is final (only pending deliveries are sent), after one attempt and with none planned.
    assert.deepEqual([gone.attempts, gone.next_attempt_at], [1, null]);
    assert.equal(hook.got.length, 1);
  });

  it('does not follow a redirect: a 3xx is a failed attempt, retried at the same URL', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver([{ status: 302, headers: { location: '/elsewhere' } }, { status: 200 }]);
    t.after(async () => { await hook.close(); await app.dispose(); });
    const id = await runWithHook(app, auth, hook.url);
    await eventually(() => (hook.got.length >= 2 ? true : undefined), 5_000);
    assert.deepEqual(hook.got.map((r) => r.path), ['/hook', '/hook']);
    const [d] = await deliveries(app, auth, id);
    assert.equal(d.attempt_log[0].status_code, 302);
    assert.match(d.attempt_log[0].error, /redirects are not followed/);
  });

  it('honours Retry-After before the next attempt', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver([{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }]);
    t.after(async () => { await hook.close(); await app.dispose(); });
    await runWithHook(app, auth, hook.url);
    await eventually(() => (hook.got.length >= 2 ? true : undefined), 5_000);
    const [first, second] = hook.got.map((r) => Number(r.headers['webhook-timestamp']));
    assert.ok(second! - first! >= 1, 'waited at least the second it was asked to');
  });

  it('refuses a private target unless the operator allows it', async (t) => {
    const { app, auth } = await setup({ GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'false' });
    const hook = await receiver();
    t.after(async () => { await hook.close(); await app.dispose(); });
    for (const url of [hook.url, hook.url.replace('127.0.0.1', 'localhost')]) {
      const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: {}, webhook_url: url } });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error, /private or local address.*GENJOBS_WEBHOOK_ALLOW_PRIVATE/);
    }
    // Allowed, the same target is called.
    const { app: open, auth: openAuth } = await setup({ GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true' });
    t.after(() => open.dispose());
    await runWithHook(open, openAuth, hook.url);
    await eventually(() => (hook.got.length >= 1 ? true : undefined), 5_000, 'the allowed private target to be called');
  });

  it('signs with both secrets during a rotation\'s grace period', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver();
    t.after(async () => { await hook.close(); await app.dispose(); });
    const old = (await secretOf(app, auth)).secret;
    const rotated = (await app.server.inject({ method: 'POST', url: '/api/v1/webhooks/secret/rotate', headers: auth })).json();
    assert.notEqual(rotated.secret, old);
    assert.ok(Date.parse(rotated.previous_secret_expires_at) > Date.now());
    await runWithHook(app, auth, hook.url);
    await eventually(() => (hook.got.length >= 1 ? true : undefined), 5_000);
    const [r] = hook.got;
    assert.ok(verifyStandard(rotated.secret, r!) && verifyStandard(old, r!), 'either secret verifies');
    assert.equal(String(r!.headers['webhook-signature']).split(' ').length, 2);
    assert.equal(r!.headers['x-armox-signature'], hexSignature(rotated.secret, r!.body));
    assert.equal(r!.headers['x-armox-signature-previous'], hexSignature(old, r!.body));
  });

  it('is verified by the Python example of docs/examples', async (t) => {
    const { app, auth } = await setup();
    const hook = await receiver();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-verify-'));
    t.after(async () => { await hook.close(); await app.dispose(); fs.rmSync(dir, { recursive: true, force: true }); });
    const { secret } = await secretOf(app, auth);
    await runWithHook(app, auth, hook.url);
    await eventually(() => (hook.got.length >= 1 ? true : undefined), 5_000);
    const [r] = hook.got;
    fs.writeFileSync(path.join(dir, 'headers.json'), JSON.stringify(r!.headers));
    fs.writeFileSync(path.join(dir, 'body'), r!.body);
    const script = path.join(packageRoot, 'docs', 'examples', 'verify_webhook.py');
    const ok = spawnSync('python3', [script, secret, path.join(dir, 'headers.json'), path.join(dir, 'body')], { encoding: 'utf8' });
    assert.equal(ok.stdout.trim(), 'ok', ok.stderr);
    fs.writeFileSync(path.join(dir, 'body'), r!.body.replace('completed', 'c0mpleted'));
    const tampered = spawnSync('python3', [script, secret, path.join(dir, 'headers.json'), path.join(dir, 'body')], { encoding: 'utf8' });
    assert.equal(tampered.status, 1, 'a changed body does not verify');
  });

  it('lists deliveries only for the job\'s owner', async (t) => {
    const { app, auth } = await setup();
    t.after(() => app.dispose());
    const other = await app.account();
    const id = await runWithHook(app, auth, 'http://127.0.0.1:9/hook');
    const res = await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}/webhook_deliveries`, headers: other.auth });
    assert.equal(res.statusCode, 404);
  });
});

// Its own suite: it runs 24 jobs and deliveries, which must not eat the time budget of the suite above.
describe('webhook delivery concurrency', { timeout: 120_000 }, () => {
  it('sends GENJOBS_WEBHOOK_CONCURRENCY deliveries at once, not 16, to a receiver that is slow to answer', async (t) => {
    const n = 24;
    const { app, auth } = await setup({ GENJOBS_WEBHOOK_CONCURRENCY: String(n), GENJOBS_WEBHOOK_TIMEOUT_MS: '60000' });
    // Holds every request open until n are in flight together, then answers them all; a request
    // the sender gave up on leaves the count.
    const held: http.ServerResponse[] = [];
    let most = 0;
    const srv = http.createServer((req, res) => {
      req.resume();
      res.on('close', () => { const i = held.indexOf(res); if (i >= 0) held.splice(i, 1); });
      req.on('end', () => {
        held.push(res);
        most = Math.max(most, held.length);
        if (held.length >= n) for (const r of held.splice(0)) r.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.after(async () => {
      for (const r of held.splice(0)) r.writeHead(200).end('ok');
      await new Promise<void>((r) => srv.close(() => r()));
      await app.dispose();
    });
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await runWithHook(app, auth, url));
    await eventually(() => (most >= n ? true : undefined), 10_000, `${n} deliveries in flight at once`);
    assert.equal(most, n);
    for (const id of ids) {
      await eventually(async () => ((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json().webhook_delivered ? true : undefined));
    }
  });
});
