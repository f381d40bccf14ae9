import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MaintenanceService, type Chore } from '../../src/maintenance/service.js';
import { cancelJobsPastDeadline, failAbandonedJobs, pruneRateLimitCounts, RATE_LIMIT_KEEP_MS } from '../../src/maintenance/chores.js';
import { JobEvents } from '../../src/jobs/events.js';
import { cancelRefund } from '../../src/jobs/cancel-job.js';
import { newId } from '../../src/ids.js';
import type { JobRecord, Store } from '../../src/store/store.js';
import { freshSharedStores, freshStore, testStoreKind } from '../helpers/store.js';
import { testApp } from '../helpers/app.js';

const logger = pino({ level: 'silent' });

/** A chore that counts its runs. */
function counting(name = 'count', everyMs = 0): Chore & { runs: number[] } {
  const runs: number[] = [];
  return { name, everyMs, runs, run: async (now) => { runs.push(now); return 1; } };
}

async function storeFor(t: TestContext): Promise<Store> {
  const store = await freshStore();
  t.after(() => store.close());
  return store;
}

async function account(store: Store, credits = 100) {
  return store.userCreate({ name: 'u', credits, now: Date.now() });
}

async function createJob(store: Store, userId: string, p: { now: number; cancelAfterAt?: number }): Promise<JobRecord> {
  const r = await store.jobCreateCharged({
    id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} }, webhookUrl: null,
    cost: 10, now: p.now, cancelAfterAt: p.cancelAfterAt ?? null,
  });
  assert.ok(r.ok);
  return r.job;
}

describe('maintenance service', () => {
  it('runs each chore when it is due, on its own schedule, and a failing chore stops none of the others', async (t) => {
    const store = await storeFor(t);
    const often = counting('often', 0);
    const hourly = counting('hourly', 3_600_000);
    const broken: Chore = { name: 'broken', everyMs: 0, run: async () => { throw new Error('nope'); } };
    const service = new MaintenanceService({ store, logger, chores: [broken, often, hourly] });
    t.after(() => service.stop());
    await service.tick(1_000);
    await service.tick(2_000);
    await service.tick(3_600_999);
    await service.tick(3_601_000);
    assert.deepEqual(often.runs, [1_000, 2_000, 3_600_999, 3_601_000]);
    assert.deepEqual(hourly.runs, [1_000, 3_601_000]);
    assert.equal(service.isLeader, true);
  });

  it('with two services on one PostgreSQL database, one leads and runs the chores; when it stops, the other takes over', async (t) => {
    const stores = await freshSharedStores();
    if (!stores) return t.skip('a SQLite database belongs to one process: it always leads');
    const [storeA, storeB] = stores;
    t.after(async () => { await storeA.close(); await storeB.close(); });
    const choreA = counting();
    const choreB = counting();
    const a = new MaintenanceService({ store: storeA, logger, chores: [choreA] });
    const b = new MaintenanceService({ store: storeB, logger, chores: [choreB] });
    t.after(async () => { await a.stop(); await b.stop(); });

    await a.tick(1);
    await b.tick(2);
    await Promise.all([a.tick(3), b.tick(4)]);
    assert.deepEqual([a.isLeader, b.isLeader], [true, false]);
    assert.deepEqual(choreA.runs, [1, 3]);
    assert.deepEqual(choreB.runs, [], 'the process that does not lead sweeps nothing');

    await a.stop();
    await b.tick(5);
    assert.equal(b.isLeader, true);
    assert.deepEqual(choreB.runs, [5]);
    assert.deepEqual(choreA.runs, [1, 3]);
  });

  it('a leader whose store closes (as when its process dies) hands over to the next to ask', async (t) => {
    const stores = await freshSharedStores();
    if (!stores) return t.skip('a SQLite database belongs to one process: it always leads');
    const [storeA, storeB] = stores;
    t.after(() => storeB.close());
    assert.equal(await storeA.leaderTryAcquire({ name: 'maintenance' }), true);
    assert.equal(await storeA.leaderTryAcquire({ name: 'maintenance' }), true, 'asking again while leading keeps it');
    assert.equal(await storeB.leaderTryAcquire({ name: 'maintenance' }), false);
    assert.equal(await storeB.leaderTryAcquire({ name: 'other chores' }), true, 'each name has its own leader');
    await storeA.close();
    assert.equal(await storeB.leaderTryAcquire({ name: 'maintenance' }), true);
  });

  it('is started by the application and leads there', async (t) => {
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    assert.ok(app.maintenance);
    await app.maintenance.tick();
    assert.equal(app.maintenance.isLeader, true);
    const off = await testApp({ GENJOBS_EXECUTOR: 'false', GENJOBS_MAINTENANCE: 'false' });
    t.after(() => off.dispose());
    assert.equal(off.maintenance, null);
  });
});

describe('maintenance chores', () => {
  it('fail-abandoned-jobs fails and refunds a job whose last allowed lease ran out, and tells listeners', async (t) => {
    const store = await storeFor(t);
    const events = new JobEvents();
    const u = await account(store);
    const at = Date.now();
    const job = await createJob(store, u.id, { now: at });
    const [claimed] = await store.jobClaim({ owner: 'dead-executor', limit: 1, leaseMs: 1_000, now: at + 1, excludeModels: [], maxAttempts: 1 });
    assert.equal(claimed?.id, job.id);
    const told: string[] = [];
    events.onChanged((n) => told.push(`${n.id}:${n.status}`));
    const chore = failAbandonedJobs({ store, events, logger }, { maxAttempts: 1, everyMs: 0 });
    assert.equal(await chore.run(at + 500), 0, 'the lease still runs');
    assert.equal(await chore.run(at + 2_000), 1);
    const failed = await store.jobGetById({ id: job.id });
    assert.deepEqual([failed?.status, failed?.creditsRefunded], ['failed', 10]);
    assert.match(failed?.errorMessage ?? '', /abandoned/);
    assert.deepEqual(told, [`${job.id}:failed`]);
    assert.equal((await store.userGetById({ id: u.id }))?.credits, 100);
  });

  it('cancel-jobs-past-deadline cancels unfinished jobs past their Cancel-After, refunded per the policy', async (t) => {
    const store = await storeFor(t);
    const events = new JobEvents();
    const u = await account(store);
    const at = Date.now();
    const due = await createJob(store, u.id, { now: at, cancelAfterAt: at + 1_000 });
    const later = await createJob(store, u.id, { now: at, cancelAfterAt: at + 60_000 });
    const chore = cancelJobsPastDeadline({ store, events }, { refundFor: cancelRefund(50), everyMs: 0 });
    assert.equal(await chore.run(at + 999), 0);
    assert.equal(await chore.run(at + 1_000), 1);
    const cancelled = await store.jobGetById({ id: due.id });
    assert.deepEqual([cancelled?.status, cancelled?.creditsRefunded], ['cancelled', 10], 'a pending job gets all of it back');
    assert.equal((await store.jobGetById({ id: later.id }))?.status, 'pending');
  });

  it('prune-rate-limit-counts deletes the counts no window reaches any more, and only those', async (t) => {
    const store = await storeFor(t);
    const u = await account(store);
    const key = await store.apiKeyCreate({ userId: u.id, name: null, keyPrefix: 'gj_test', keyHash: newId(), expiresAt: null, rateLimitPerMinute: 10, now: Date.now() });
    const at = Date.now();
    await store.rateLimitConsume({ keyId: key.id, limit: 10, now: at - RATE_LIMIT_KEEP_MS - 5_000 });
    await store.rateLimitConsume({ keyId: key.id, limit: 10, now: at });
    const chore = pruneRateLimitCounts({ store }, { everyMs: 0 });
    if (testStoreKind === 'sqlite') {
      assert.equal(await chore.run(at), 0, 'SQLite counts in memory: nothing stored to prune');
      return;
    }
    assert.equal(await chore.run(at), 1, 'the old second goes');
    assert.equal(await chore.run(at), 0);
    assert.equal((await store.rateLimitConsume({ keyId: key.id, limit: 10, now: at })).remaining, 8, 'the current second still counts');
  });
});
