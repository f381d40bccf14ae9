import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { spawnSync } from 'node:child_process';
import { CLI, cli, freePort, startServer, type ServerProcess } from '../helpers/process.js';
import { Children, fileChildren } from '../helpers/children.js';
import { processStoreEnv } from '../helpers/store.js';
import { openStore } from '../../src/store/open.js';

/**
 * The real thing over a real socket: the CLI creates an account and a key, `genjobs serve` runs
 * jobs, and is killed (-9) or stopped (SIGTERM) in the middle of them.
 */
describe('genjobs as a process', { timeout: 300_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let key: string;
  let userId: string;
  let server: ServerProcess | undefined;
  // Every server of the suite, killed in `after` even while it is still starting; one a test
  // body starts after the suite timed out is killed at once.
  const children = new Children(fileChildren);
  const start = (e: Record<string, string>) => startServer(e, [], children);

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-e2e-'));
    const port = await freePort();
    env = { ...processStoreEnv(), DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, GENJOBS_LEASE_MS: '1500', GENJOBS_POLL_MS: '100' };
    userId = cli(['users', 'create', '--name', 'e2e', '--credits', '1000', '--quiet'], env);
    key = cli(['keys', 'create', userId, '--rate-limit', '10000', '--quiet'], env);
  });
  after(async () => {
    await children.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${server!.url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  // A bound for a loaded machine; each wait ends as soon as the job gets there.
  const waitFor = async (id: string, statuses: string[], ms = 60_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const { body } = await api('GET', `/jobs/${id}`);
      if (statuses.includes(body.status)) return body;
      // Waiting for `processing` and the job has finished already: the poll missed it; say so now.
      if (['completed', 'failed', 'cancelled'].includes(body.status)) throw new Error(`job ${id} is ${body.status}, not ${statuses.join(' or ')}`);
      if (Date.now() > until) throw new Error(`job ${id} stayed ${body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const ledgerFor = async (jobId: string) => (await api('GET', '/account/ledger')).body.data.filter((e: any) => e.job_id === jobId);
  const credits = async () => (await api('GET', '/account')).body.credits as number;
  /** The job as the store holds it, read while no server runs. */
  const stored = async (id: string) => {
    const store = await openStore({ dataDir, databaseUrl: env.DATABASE_URL ?? null, databaseSchema: env.GENJOBS_DB_SCHEMA ?? null, databasePoolSize: 1 });
    try {
      return (await store.jobGetById({ id }))!;
    } finally {
      await store.close();
    }
  };

  it('serves a synchronous image run whose URL downloads a valid PNG', async () => {
    server = await start(env);
    const { status, body } = await api('POST', '/models/run', { model: 'local/image', input: { prompt: 'a lighthouse at dusk', aspect_ratio: '4:3' } });
    assert.equal(status, 200);
    assert.equal(body.status, 'completed');
    const res = await fetch(body.output.outputImage);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    assert.deepEqual([png.width, png.height], [512, 384]);
  });

  it('finishes an asynchronous video run that a polling client sees complete', async () => {
    const { status, body } = await api('POST', '/models/run', { model: 'local/video', input: { prompt: 'waves on a shore' } });
    assert.equal(status, 202);
    const done = await waitFor(body.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed');
    const res = await fetch(done.output_data.outputVideo);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 6).toString('latin1'), 'GIF89a');
  });

  it('runs a job again after kill -9, charging it once', async () => {
    const before = await credits();
    // Long enough that a poll every 100 ms sees it running even when requests are slow (a loaded
    // machine can stall one for seconds).
    const { body } = await api('POST', '/models/run', { model: 'local/test', input: { duration_ms: 8000 } });
    await waitFor(body.id, ['processing']);
    server!.child.kill('SIGKILL');
    await server!.exited;
    server = await start(env);
    const done = await waitFor(body.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed');
    assert.equal(done.credits_refunded, 0);
    assert.equal(await credits(), before - 1);
    assert.deepEqual((await ledgerFor(body.id)).map((e: any) => [e.kind, e.amount]), [['charge', -1]]);
  });

  it('fails and refunds, once, a job that exhausted its attempts in crashes', async () => {
    server!.child.kill('SIGKILL');
    await server!.exited;
    const oneTry = { ...env, GENJOBS_MAX_ATTEMPTS: '1' };
    server = await start(oneTry);
    const before = await credits();
    const { body } = await api('POST', '/models/run', { model: 'local/test', input: { duration_ms: 60_000 } });
    await waitFor(body.id, ['processing']);
    server.child.kill('SIGKILL');
    await server.exited;
    server = await start(oneTry);
    const done = await waitFor(body.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'failed');
    assert.match(done.error_message, /abandoned/);
    assert.equal(done.credits_refunded, 1);
    assert.equal(await credits(), before);
    assert.deepEqual((await ledgerFor(body.id)).map((e: any) => [e.kind, e.amount]).sort(), [['charge', -1], ['refund', 1]]);
  });

  it('on SIGTERM lets a running job finish, then exits 0', async () => {
    const { body } = await api('POST', '/models/run', { model: 'local/test', input: { duration_ms: 6000 } });
    await waitFor(body.id, ['processing']);
    server!.child.kill('SIGTERM');
    assert.equal(await server!.exited, 0);
    server = await start(env);
    assert.equal((await api('GET', `/jobs/${body.id}`)).body.status, 'completed');
  });

  it('on SIGTERM gives back a job that outlasts the grace period, and the next start runs it', async () => {
    server!.child.kill('SIGTERM');
    await server!.exited;
    const shortGrace = { ...env, GENJOBS_SHUTDOWN_GRACE_MS: '100' };
    server = await start(shortGrace);
    const { body } = await api('POST', '/models/run', { model: 'local/test', input: { duration_ms: 10_000 } });
    await waitFor(body.id, ['processing']);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    // It did not wait for the job: the job was left unfinished, its lease handed back.
    const left = await stored(body.id);
    assert.equal(left.status, 'processing');
    assert.equal(left.completedAt, null);
    assert.ok(left.leaseExpiresAt === null || left.leaseExpiresAt <= Date.now(), 'the lease was given back');
    server = await start(env);
    const done = await waitFor(body.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed');
    assert.deepEqual((await ledgerFor(body.id)).map((e: any) => e.kind), ['charge']);
  });
});

describe('genjobs serve with a bad configuration', () => {
  it('refuses to start and says which variable to fix', async () => {
    const r = spawnSync(process.execPath, [CLI, 'serve'], { env: { ...process.env, PORT: 'eighty', DATA_DIR: os.tmpdir() }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /PORT="eighty" is not valid: set it to a whole number/);
  });
});
