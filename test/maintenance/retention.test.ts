import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { deleteOldJobs, type JobFiles, type RetentionKind } from '../../src/maintenance/retention.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { newId } from '../../src/ids.js';
import type { JobRecord, Store } from '../../src/store/store.js';
import { freshStore } from '../helpers/store.js';
import { eventually, testApp } from '../helpers/app.js';
import { startS3Server } from '../helpers/s3-server.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const RETAIN = { completed: 30 * DAY, failed: 90 * DAY, cancelled: null };

/** A logger whose JSON lines the test reads. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { logger, lines };
}

async function setup(t: TestContext) {
  const store = await freshStore();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-retention-'));
  t.after(async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const files = new LocalFileStorage(dir);
  const user = await store.userCreate({ name: 'r', credits: 10_000, now: T0 });
  /** A job that reached `status` at `at`, with one output file (a pending job gets a file too, as a half-run app might). */
  const job = async (status: 'completed' | 'failed' | 'pending', at: number): Promise<{ job: JobRecord; file: string }> => {
    const r = await store.jobCreateCharged({
      id: newId(), userId: user.id, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} }, webhookUrl: null, cost: 10, now: at - 1_000,
    });
    assert.ok(r.ok);
    const stored = await files.put({ jobId: r.job.id, extension: 'png', source: Buffer.from('png bytes'), limit: 1_000 });
    const file = path.join(files.root, stored.key);
    if (status !== 'pending') {
      const [claimed] = await store.jobClaim({ owner: 'exec', limit: 1, leaseMs: 60_000, now: at - 500, maxAttempts: 3 });
      assert.equal(claimed?.id, r.job.id);
      if (status === 'completed') assert.ok(await store.jobComplete({ id: r.job.id, leaseToken: claimed.leaseToken, outputData: { image: { $file: stored } }, now: at }));
      else assert.ok(await store.jobFail({ id: r.job.id, leaseToken: claimed.leaseToken, errorMessage: 'boom', now: at }));
    }
    return { job: r.job, file };
  };
  return { store, files, user, job };
}

const countsOf = () => {
  const counts: Partial<Record<RetentionKind, number>> = {};
  return { counts, onDeleted: (kind: RetentionKind, n: number) => { counts[kind] = (counts[kind] ?? 0) + n; } };
};

const ledgerSum = async (store: Store, userId: string) => (await store.ledgerList({ userId, limit: 10_000 })).reduce((s, e) => s + e.amount, 0);

describe('retention chore', () => {
  it('deletes old finished jobs in batches with their output files, keeps the rest, counts and logs the pass', async (t) => {
    const { store, files, user, job } = await setup(t);
    const now = T0 + 200 * DAY;
    const old: { job: JobRecord; file: string }[] = [];
    for (let i = 0; i < 4; i++) old.push(await job('completed', now - 40 * DAY + i));
    old.push(await job('failed', now - 100 * DAY));
    const young = await job('completed', now - 10 * DAY);
    const youngFailed = await job('failed', now - 50 * DAY);
    const unfinished = await job('pending', now - 150 * DAY);
    const { logger, lines } = recordingLogger();
    const { counts, onDeleted } = countsOf();
    // Files go only once their job's row is gone: a crash in between leaves orphan files, never a job without its files.
    const rowsLeftAtFileRemoval: string[] = [];
    const checked: JobFiles = {
      deleteJob: async (jobId) => {
        if (await store.jobGetById({ id: jobId })) rowsLeftAtFileRemoval.push(jobId);
        await files.deleteJob(jobId);
      },
    };
    const forgotten: string[] = [];
    const chore = deleteOldJobs({ store, files: checked, logger, onDeleted, onJobsDeleted: (ids) => forgotten.push(...ids) }, { retain: RETAIN, batchSize: 2, everyMs: 60_000, pauseMs: 0 });

    assert.equal(await chore.run(now), 5);
    assert.deepEqual(rowsLeftAtFileRemoval, []);
    assert.deepEqual(new Set(forgotten), new Set(old.map((o) => o.job.id)), 'listeners hear of every deleted job');
    for (const o of old) {
      assert.equal(await store.jobGetById({ id: o.job.id }), null);
      assert.equal(fs.existsSync(path.dirname(o.file)), false, 'the job\'s folder of files is gone');
    }
    for (const kept of [young, youngFailed, unfinished]) {
      assert.ok(await store.jobGetById({ id: kept.job.id }));
      assert.ok(fs.existsSync(kept.file), 'a kept job keeps its file');
    }
    assert.deepEqual(counts, { jobs: 5, job_files: 5, ledger_job_refs: 6 }, 'five charges and the failed job\'s refund lose their job reference');
    const pass = lines.find((l) => l.msg === 'retention: old finished jobs deleted');
    assert.ok(pass, 'the pass is logged');
    assert.equal(pass.level, 30, 'at info');
    assert.equal(pass.jobs, 5);
    assert.equal(pass.batches, 3, 'batches of 2, 2 and 1');
    assert.equal(await ledgerSum(store, user.id), (await store.userGetById({ id: user.id }))!.credits, 'the ledger still sums to the balance');

    assert.equal(await chore.run(now), 0, 'nothing is left to delete');
    assert.ok(lines.some((l) => l.msg === 'retention: nothing old enough to delete' && l.level === 20));
  });

  it('a folder that cannot be removed is logged and stops nothing: the rows are gone, the other folders too', async (t) => {
    const { store, files, job } = await setup(t);
    const now = T0 + 200 * DAY;
    const a = await job('completed', now - 40 * DAY);
    const b = await job('completed', now - 40 * DAY + 1);
    const flaky: JobFiles = {
      deleteJob: async (jobId) => {
        if (jobId === a.job.id) throw new Error('disk says no');
        await files.deleteJob(jobId);
      },
    };
    const { logger, lines } = recordingLogger();
    const { counts, onDeleted } = countsOf();
    const chore = deleteOldJobs({ store, files: flaky, logger, onDeleted }, { retain: RETAIN, batchSize: 10, everyMs: 60_000, pauseMs: 0 });
    assert.equal(await chore.run(now), 2);
    assert.equal(await store.jobGetById({ id: a.job.id }), null);
    assert.ok(fs.existsSync(a.file), 'left as an orphan');
    assert.equal(fs.existsSync(b.file), false);
    assert.equal(counts.job_files, 1);
    const warn = lines.find((l) => l.msg === 'retention: the files of a deleted job could not be removed');
    assert.equal(warn?.jobId, a.job.id);
  });

  it('ends a pass after the batch under way when the service stops', async (t) => {
    const { store, files, job } = await setup(t);
    const now = T0 + 200 * DAY;
    const made: JobRecord[] = [];
    for (let i = 0; i < 5; i++) made.push((await job('completed', now - 40 * DAY + i)).job);
    const stopping = new AbortController();
    const stopAtFirstFile: JobFiles = { deleteJob: async (id) => { stopping.abort(); await files.deleteJob(id); } };
    const chore = deleteOldJobs({ store, files: stopAtFirstFile, logger: pino({ level: 'silent' }) }, { retain: RETAIN, batchSize: 2, everyMs: 60_000, pauseMs: 0 });
    assert.equal(await chore.run(now, stopping.signal), 2, 'one batch, then it stops');
    assert.equal((await Promise.all(made.map((j) => store.jobGetById({ id: j.id })))).filter((j) => j !== null).length, 3);
    assert.equal(await chore.run(now), 3, 'the next pass takes the rest');
  });

  it('does nothing while every status is kept for ever', async (t) => {
    const { store, files, job } = await setup(t);
    const old = await job('completed', T0);
    const chore = deleteOldJobs({ store, files, logger: pino({ level: 'silent' }) }, { retain: { completed: null, failed: null, cancelled: null }, batchSize: 10, everyMs: 60_000 });
    assert.equal(await chore.run(T0 + 10_000 * DAY), 0);
    assert.ok(await store.jobGetById({ id: old.job.id }));
  });
});

describe('retention in the application', () => {
  it('is off by default, and when configured deletes a finished job, its file and rows; the account and its ledger still read right', async (t) => {
    const off = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => off.dispose());
    assert.deepEqual(off.maintenance!.choreNames, ['fail-abandoned-jobs', 'cancel-jobs-past-deadline', 'prune-rate-limit-counts', 'rewrite-old-outputs'], 'no retention chore without GENJOBS_RETAIN_*');

    const app = await testApp({ GENJOBS_RETAIN_COMPLETED: '1d', GENJOBS_RETENTION_BATCH: '2', GENJOBS_RETENTION_PAUSE_MS: '0' });
    t.after(() => app.dispose());
    assert.ok(app.maintenance!.choreNames.includes('retention'));
    const { auth } = await app.account({ credits: 100 });
    const ran = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/image', input: { prompt: 'a lighthouse' } } });
    assert.equal(ran.statusCode, 200, ran.body);
    const id = ran.json().id as string;
    const fileUrl = new URL(JSON.stringify(ran.json().output).match(/http:\/\/genjobs\.test\/files\/[^"]+/)![0]);
    assert.equal((await app.server.inject({ method: 'GET', url: fileUrl.pathname })).statusCode, 200);
    // Read once: the finished job is now in the process's cache of final jobs, which must forget it.
    assert.equal((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).statusCode, 200);
    const accountBefore = (await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).json();
    const ledgerBefore = (await app.server.inject({ method: 'GET', url: '/api/v1/account/ledger', headers: auth })).json().data as { amount: number; job_id: string | null }[];
    assert.ok(ledgerBefore.some((e) => e.job_id === id));

    // Two days on: the service's next round finds the job old enough.
    const later = Date.now() + 2 * DAY;
    await eventually(async () => {
      await app.maintenance!.tick(later);
      return (await app.store.jobGetById({ id })) === null ? true : undefined;
    }, 10_000, 'the job to be deleted');

    assert.equal((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).statusCode, 404);
    assert.equal((await app.server.inject({ method: 'GET', url: fileUrl.pathname })).statusCode, 404, 'its file is gone too');
    assert.equal(fs.existsSync(path.join(app.dataDir, 'files', id)), false);
    const account = (await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).json();
    assert.equal(account.credits, accountBefore.credits);
    assert.equal(account.usage.credits_used_last_30d, accountBefore.usage.credits_used_last_30d);
    const ledger = (await app.server.inject({ method: 'GET', url: '/api/v1/account/ledger', headers: auth })).json().data as { amount: number; job_id: string | null }[];
    assert.deepEqual(ledger.map((e) => e.amount), ledgerBefore.map((e) => e.amount), 'every entry stays, with its amount');
    assert.equal(ledger.some((e) => e.job_id === id), false, 'only the job reference went');
    assert.equal(ledger.reduce((s, e) => s + e.amount, 0), account.credits);
    const metrics = await app.metrics.registry.getSingleMetricAsString('genjobs_retention_deleted_total');
    assert.match(metrics, /genjobs_retention_deleted_total\{kind="jobs"\} 1/);
    assert.match(metrics, /genjobs_retention_deleted_total\{kind="job_files"\} 1/);
  });
});

describe('retention with GENJOBS_STORAGE=s3', () => {
  it('deletes old jobs in batches with every object of theirs in the bucket, and no other job\'s', async (t) => {
    const s3 = await startS3Server();
    t.after(() => s3.close());
    const app = await testApp({ ...s3.env, GENJOBS_RETAIN_COMPLETED: '1d', GENJOBS_RETENTION_BATCH: '2', GENJOBS_RETENTION_PAUSE_MS: '0' });
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 1_000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ran = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/image', input: { prompt: `lighthouse ${i}` } } });
      assert.equal(ran.statusCode, 200, ran.body);
      ids.push(ran.json().id as string);
    }
    // An app run keeps one object per node: a job with several files.
    const appRun = await app.server.inject({ method: 'POST', url: '/api/v1/apps/run', headers: auth, payload: { app_id: '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11', inputs: { prompt: 'a boat' } } });
    assert.equal(appRun.statusCode, 202, appRun.body);
    const appId = appRun.json().id as string;
    await eventually(async () => ((await app.store.jobGetById({ id: appId }))?.status === 'completed' ? true : undefined), 30_000, 'the app run to finish');
    ids.push(appId);
    // A job of another file: kept (retention counts from the finish, and its status has no age here).
    const keptId = 'kept-job';
    const kept = await s3.storage().put({ jobId: keptId, extension: 'png', source: Buffer.from('kept'), limit: 100 });
    const before = await s3.keys();
    for (const id of ids) assert.ok(before.some((k) => k.startsWith(`${id}/`)), `the bucket holds the files of ${id}`);
    assert.ok(before.filter((k) => k.startsWith(`${appId}/`)).length > 1, 'the app run has several objects');

    const later = Date.now() + 2 * DAY;
    await eventually(async () => {
      await app.maintenance!.tick(later);
      const left = await Promise.all(ids.map((id) => app.store.jobGetById({ id })));
      return left.every((j) => j === null) ? true : undefined;
    }, 20_000, 'the old jobs to be deleted');
    assert.deepEqual(await s3.keys(), [kept.key], 'every object of the deleted jobs is gone, the other one stays');
    const metrics = await app.metrics.registry.getSingleMetricAsString('genjobs_retention_deleted_total');
    assert.match(metrics, /genjobs_retention_deleted_total\{kind="jobs"\} 4/);
    assert.match(metrics, /genjobs_retention_deleted_total\{kind="job_files"\} 4/);
  });
});
