import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { cli, freePort, startExecutor, startServer } from '../helpers/process.js';
import { Children, fileChildren } from '../helpers/children.js';
import { processStoreEnv } from '../helpers/store.js';
import { eventually } from '../helpers/app.js';
import { sample } from '../observability/samples.js';

/**
 * `genjobs executor` serves no API, but with GENJOBS_EXECUTOR_PORT it answers the probes and
 * serves its metrics, where the jobs it finishes and the webhooks it delivers are counted.
 */
describe('genjobs executor with GENJOBS_EXECUTOR_PORT', { timeout: 180_000 }, () => {
  const children = new Children(fileChildren);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-executor-port-'));
  const hooks: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { hooks.push(body); res.writeHead(200).end(); });
  });
  after(async () => {
    await children.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz, /readyz and /metrics (behind its token), counts what it runs, and says it is shutting down while it drains', async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    const token = 'metrics-token-for-the-executor-0123';
    const env = {
      ...processStoreEnv(), DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${apiPort}`, GENJOBS_POLL_MS: '100',
      GENJOBS_METRICS_TOKEN: token, GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true', GENJOBS_SHUTDOWN_GRACE_MS: '20000',
    };
    const userId = cli(['users', 'create', '--name', 'ops', '--credits', '1000', '--quiet'], env);
    const key = cli(['keys', 'create', userId, '--rate-limit', '10000', '--quiet'], env);
    const api = await startServer({ ...env, PORT: String(apiPort) }, ['--no-executor'], children);
    const executor = await startExecutor({ ...env, HOST: '127.0.0.1', GENJOBS_EXECUTOR_PORT: String(opsPort), GENJOBS_SHUTDOWN_GRACE_MS: '8000' }, children);
    const ops = `http://127.0.0.1:${opsPort}`;
    assert.match(executor.output(), new RegExp(`"url":"${ops}"`));

    assert.deepEqual(await (await fetch(`${ops}/healthz`)).json(), { status: 'ok' });
    const ready = await eventually(async () => {
      const res = await fetch(`${ops}/readyz`);
      return res.status === 200 ? await res.json() as { checks: Record<string, string> } : undefined;
    }, 30_000, 'the executor to be ready');
    assert.equal(ready.checks.executor, 'ok');
    // No API here.
    const none = await fetch(`${ops}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(none.status, 404);
    assert.equal(((await none.json()) as { code: string }).code, 'route_not_found');
    assert.equal((await fetch(`${ops}/metrics`)).status, 401);

    const run = async (input: Record<string, unknown>) => {
      const res = await fetch(`${api.url}/api/v1/models/run`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'local/test', input, webhook_url: hookUrl }),
      });
      assert.equal(res.status, 202);
      return ((await res.json()) as { id: string }).id;
    };
    await run({});
    await run({ outcome: 'failed' });
    const scrape = async () => {
      const res = await fetch(`${ops}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      return res.text();
    };
    const text = await eventually(async () => {
      const s = await scrape();
      return sample(s, 'genjobs_webhook_attempts_total', { outcome: 'delivered' }) === 2 ? s : undefined;
    }, 60_000, 'both jobs finished and their webhooks delivered, in the executor\'s metrics');
    assert.equal(sample(text, 'genjobs_jobs_finished_total', { status: 'completed', model: 'local/test' }), 1);
    assert.equal(sample(text, 'genjobs_jobs_finished_total', { status: 'failed', model: 'local/test' }), 1);
    assert.equal(sample(text, 'genjobs_job_dispatch_seconds_count', { model: 'local/test' }), 2);
    assert.ok((sample(text, 'genjobs_credits_refunded_total') ?? 0) > 0);
    assert.ok(sample(text, 'genjobs_process_resident_memory_bytes')! > 0);
    assert.equal(sample(text, 'genjobs_http_requests_total', { route: '/readyz', status: '200' }) !== undefined, true);
    assert.equal(hooks.length, 2);

    // A job that holds the shutdown in its grace period while the probes ask. It outlasts the
    // executor's grace period (8 s), so the drain lasts that long whatever the load, not what was
    // left of a short job when the probes come.
    const long = await run({ duration_ms: 120_000 });
    await eventually(async () => {
      const res = await fetch(`${api.url}/api/v1/jobs/${long}`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { status: string }).status === 'processing' ? true : undefined;
    }, 30_000, 'the long job to start');
    executor.child.kill('SIGTERM');
    const draining = await eventually(async () => {
      const res = await fetch(`${ops}/readyz`).catch(() => null);
      return res?.status === 503 ? await res.json() as { error: string; code: string } : undefined;
    }, 30_000, '/readyz to say the executor is shutting down');
    assert.deepEqual(draining, { error: 'Not ready: shutdown: the server is shutting down', code: 'not_ready' });
    assert.equal((await fetch(`${ops}/healthz`)).status, 200);
    assert.equal(await executor.exited, 0);
    await assert.rejects(fetch(`${ops}/healthz`), 'the port is closed once the process has stopped');
  });
});
