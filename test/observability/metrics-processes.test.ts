import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { createUser, createApiKey } from '../../src/accounts/admin.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/store/store.js';
import { eventually } from '../helpers/app.js';
import { freshSharedStores, testStoreKind } from '../helpers/store.js';
import { sample } from './samples.js';

/**
 * On PostgreSQL several processes share one store and hear each other's job changes. Each counts
 * only what happened in it, so a counter summed over the processes is the deployment's total:
 * nothing counted twice, nothing missed. The backlog gauges read the shared store: every process
 * reports the same figure.
 */
const skip = testStoreKind !== 'postgres' ? 'needs PostgreSQL: a SQLite store belongs to one process' : false;

interface Proc {
  app: App;
  /** The job ids of the job changes this process heard, by status (its own and relayed). */
  heard: Map<string, Set<string>>;
  /** Its log lines. */
  lines: () => Record<string, unknown>[];
}

/** A genjobs process on `store` (one of the shared stores), with `env`. */
async function processOn(t: TestContext, store: Store, env: Record<string, string>): Promise<Proc> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-metrics-'));
  const text: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { text.push(chunk.toString()); done(); } });
  const config = loadConfig({ DATA_DIR: dataDir, PUBLIC_URL: 'http://genjobs.test', LOG_LEVEL: 'info', GENJOBS_POLL_MS: '50', ...env });
  const app = await createApp(config, { logger: createLogger('info', stream), store });
  t.after(async () => { await app.close(); fs.rmSync(dataDir, { recursive: true, force: true }); });
  await app.server.ready();
  app.startBackground();
  const heard = new Map<string, Set<string>>();
  const note = (status: string, id: string) => { if (!heard.has(status)) heard.set(status, new Set()); heard.get(status)!.add(id); };
  app.events.onCreated((job) => { if (job) note('pending', job.id); });
  app.events.onChanged((job) => note(job.status, job.id));
  const lines = () => text.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { app, heard, lines };
}

const scrape = async (p: Proc) => {
  const res = await p.app.server.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  return res.body;
};
/** A counter's sample summed over the processes, as Prometheus' sum() would. */
const total = async (procs: Proc[], name: string, labels: Record<string, string> = {}) => {
  let n = 0;
  for (const p of procs) n += sample(await scrape(p), name, labels) ?? 0;
  return n;
};
const hears = (p: Proc, status: string, ids: string[]) => ids.every((id) => p.heard.get(status)?.has(id)) ? true : undefined;

async function run(p: Proc, auth: { authorization: string }, input: Record<string, unknown>): Promise<string> {
  const res = await p.app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().id as string;
}

describe('metrics across processes sharing PostgreSQL', { skip }, () => {
  it('counts each job, finish, dispatch, run time, charge and refund in one process only, so the sums over the processes are exact; job lines are written once', async (t) => {
    const [apiStore, execStore] = (await freshSharedStores())!;
    // An API process without an executor, and a process that runs the executor (and takes requests too).
    const api = await processOn(t, apiStore, { GENJOBS_EXECUTOR: 'false' });
    const exec = await processOn(t, execStore, {});
    const procs = [api, exec];
    const user = await createUser(apiStore, { credits: 1_000, api_access: true });
    const { key } = await createApiKey(apiStore, user.id, { rate_limit_per_minute: 100_000 }, { rateLimitPerMinute: 60 });
    const auth = { authorization: `Bearer ${key}` };

    // Three runs through the API process, one through the executor's; all run by the executor.
    const ok = await run(api, auth, {});
    const bad = await run(api, auth, { outcome: 'failed' });
    const long = await run(api, auth, { duration_ms: 60_000 });
    const own = await run(exec, auth, {});
    await eventually(async () => ((await apiStore.jobGetById({ id: long }))?.status === 'processing' ? true : undefined), 10_000, 'the long job to start');
    // Cancelled through the API process while the executor runs it.
    const cancel = await api.app.server.inject({ method: 'POST', url: `/api/v1/jobs/${long}/cancel`, headers: auth });
    assert.equal(cancel.statusCode, 200, cancel.body);
    // Wait until each process has heard every change, its own and the other's: a change counted
    // twice would be counted by now.
    for (const p of procs) {
      await eventually(() => hears(p, 'pending', [ok, bad, long, own]), 10_000, 'the creations');
      await eventually(() => hears(p, 'completed', [ok, own]) && hears(p, 'failed', [bad]) && hears(p, 'cancelled', [long]), 15_000, 'the finishes');
    }

    const jobs = await Promise.all([ok, bad, long, own].map(async (id) => (await apiStore.jobGetById({ id }))!));
    const charged = jobs.reduce((s, j) => s + j.creditsCharged, 0);
    const refunded = jobs.reduce((s, j) => s + j.creditsRefunded, 0);
    assert.ok(charged > 0 && refunded > 0);
    const m = { model: 'local/test', run_type: 'model' };
    assert.equal(await total(procs, 'genjobs_jobs_created_total', m), 4);
    assert.equal(sample(await scrape(api), 'genjobs_jobs_created_total', m), 3, 'created where the request came in');
    assert.equal(await total(procs, 'genjobs_jobs_finished_total', { ...m, status: 'completed' }), 2);
    assert.equal(await total(procs, 'genjobs_jobs_finished_total', { ...m, status: 'failed' }), 1);
    assert.equal(await total(procs, 'genjobs_jobs_finished_total', { ...m, status: 'cancelled' }), 1);
    assert.equal(sample(await scrape(api), 'genjobs_jobs_finished_total', { ...m, status: 'cancelled' }), 1, 'cancelled where the cancel came in');
    assert.equal(await total(procs, 'genjobs_job_dispatch_seconds_count', { model: 'local/test' }), 4);
    for (const [status, n] of [['completed', 2], ['failed', 1], ['cancelled', 1]] as const) {
      assert.equal(await total(procs, 'genjobs_job_run_seconds_count', { model: 'local/test', status }), n, `run times of ${status} jobs`);
    }
    assert.equal(await total(procs, 'genjobs_credits_charged_total'), charged);
    assert.equal(await total(procs, 'genjobs_credits_refunded_total'), refunded);

    // The job lines follow the same rule: each change is logged by one process.
    const all = [...api.lines(), ...exec.lines()];
    for (const [id, end] of [[ok, 'job completed'], [bad, 'job failed'], [long, 'job cancelled'], [own, 'job completed']] as const) {
      const msgs = all.filter((l) => l.jobId === id && /^job /.test(String(l.msg))).map((l) => l.msg).sort();
      assert.deepEqual(msgs, ['job created', 'job started', end].sort(), `the lines of ${id}`);
    }
  });

  it('reports the same shared queue figures from every process', async (t) => {
    const [a, b] = (await freshSharedStores())!;
    const first = await processOn(t, a, { GENJOBS_EXECUTOR: 'false' });
    const second = await processOn(t, b, { GENJOBS_EXECUTOR: 'false' });
    const user = await createUser(a, { credits: 100, api_access: true });
    const { key } = await createApiKey(a, user.id, { rate_limit_per_minute: 100_000 }, { rateLimitPerMinute: 60 });
    await run(first, { authorization: `Bearer ${key}` }, {});
    await run(second, { authorization: `Bearer ${key}` }, {});
    for (const p of [first, second]) {
      await eventually(async () => {
        const text = await scrape(p);
        return sample(text, 'genjobs_queue_depth', { model: 'local/test' }) === 2 && (sample(text, 'genjobs_queue_oldest_pending_seconds') ?? 0) > 0 ? true : undefined;
      }, 10_000, 'both pending jobs in the queue gauges');
    }
  });
});
