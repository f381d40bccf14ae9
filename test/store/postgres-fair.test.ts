import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newId } from '../../src/ids.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import type { JobRecord, UserRecord } from '../../src/store/store.js';
import { testStoreKind } from '../helpers/store.js';

/**
 * Four executors' stores claiming from one PostgreSQL schema at once, each with its own pool:
 * no account ever has more jobs running than its limits allow. Checked from the database's own
 * records (a watcher counts processing jobs per account in one snapshot, over and over, while the
 * claims run) and from what the claimers hold.
 */
describe('postgres fair scheduler: four executors claiming at once', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('never lets an account run more jobs than its limit, overall or per model, and runs every job once', async () => {
    const url = process.env.GENJOBS_TEST_PG_URL!;
    const schema = `t_fair_${randomBytes(6).toString('hex')}`;
    const stores = [await PgStore.open({ url, schema, poolSize: 3 })];
    for (let i = 1; i < 4; i++) stores.push(await PgStore.open({ url, schema, poolSize: 3 }));
    const watcher = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await watcher.connect();
    try {
      const [s0] = stores as [PgStore];
      const account = async (maxRunning: number | null, maxRunningPerModel: number | null = null) => {
        const u = await s0.userCreate({ name: null, credits: 1_000_000, now: Date.now() });
        return (await s0.userSetScheduling({ userId: u.id, maxRunning, maxRunningPerModel }))!;
      };
      const limited = [await account(1), await account(2), await account(3), await account(null, 1)];
      const free = await account(null);
      const accounts: UserRecord[] = [...limited, free];
      let total = 0;
      for (const u of accounts) {
        for (let i = 0; i < 40; i++) {
          const r = await s0.jobCreateCharged({
            id: newId(), userId: u.id, runType: 'model', modelId: i % 2 ? 'm/a' : 'm/b', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now(),
          });
          assert.ok(r.ok);
          total++;
        }
      }
      const limitOf = new Map(accounts.map((u) => [u.id, u.maxRunning]));
      const perModelOf = new Map(accounts.map((u) => [u.id, u.maxRunningPerModel]));

      // What the claimers hold: claims that returned, less completions about to be sent. This is
      // never more than the database counts, so it can only find a breach the database made.
      const held = new Map<string, number>();
      let heldBreach = '';
      const done = new Set<string>();
      let claimedTwice = '';
      const executor = async (store: PgStore, owner: string) => {
        for (let idle = 0; idle < 3;) {
          const jobs = await store.jobClaim({ owner, limit: 4, leaseMs: 60_000, now: Date.now(), maxAttempts: 3 });
          if (jobs.length === 0) {
            idle++;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          idle = 0;
          for (const j of jobs) {
            const n = (held.get(j.userId) ?? 0) + 1;
            held.set(j.userId, n);
            const limit = limitOf.get(j.userId);
            if (limit !== null && limit !== undefined && n > limit) heldBreach ||= `${n} held of an account limited to ${limit}`;
          }
          await Promise.all(jobs.map(async (j: JobRecord) => {
            await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 4)));
            held.set(j.userId, held.get(j.userId)! - 1);
            if (done.has(j.id)) claimedTwice ||= j.id;
            done.add(j.id);
            assert.ok(await store.jobComplete({ id: j.id, leaseToken: j.leaseToken, outputData: null, now: Date.now() }));
          }));
        }
      };

      let watching = true;
      const most = new Map<string, number>();
      const mostPerModel = new Map<string, number>();
      let snapshots = 0;
      const watch = async () => {
        while (watching) {
          // One statement: one snapshot of every running job.
          const { rows } = await watcher.query<{ user_id: string; model_id: string; n: number }>(
            `SELECT user_id, model_id, COUNT(*)::int AS n FROM jobs WHERE status = 'processing' GROUP BY user_id, model_id`);
          snapshots++;
          const perUser = new Map<string, number>();
          for (const r of rows) {
            perUser.set(r.user_id, (perUser.get(r.user_id) ?? 0) + r.n);
            mostPerModel.set(r.user_id, Math.max(mostPerModel.get(r.user_id) ?? 0, r.n));
          }
          for (const [u, n] of perUser) most.set(u, Math.max(most.get(u) ?? 0, n));
        }
      };
      const watched = watch();
      await Promise.all(stores.map((s, i) => executor(s, `exec-${i}`)));
      watching = false;
      await watched;

      assert.equal(heldBreach, '');
      assert.equal(claimedTwice, '');
      assert.equal(done.size, total, 'every job ran once');
      assert.ok(snapshots > 0);
      for (const u of limited) {
        if (u.maxRunning !== null) assert.ok((most.get(u.id) ?? 0) <= u.maxRunning, `an account limited to ${u.maxRunning} ran ${most.get(u.id)} at once`);
        if (u.maxRunningPerModel !== null) {
          assert.ok((mostPerModel.get(u.id) ?? 0) <= u.maxRunningPerModel, `${mostPerModel.get(u.id)} of one model at once, limit ${perModelOf.get(u.id)}`);
        }
      }
    } finally {
      await watcher.end();
      for (const s of stores) await s.close();
    }
  });

  it('cancels an account\'s pending jobs while other pools create and claim its runs, without a deadlock', async () => {
    // A cancel moves the job (which updates the account's fair_accounts row) and refunds it
    // (the users row); a creation debits the users row and then counts the job in fair_accounts.
    // Taken in opposite orders, the two deadlock and the cancel fails.
    const url = process.env.GENJOBS_TEST_PG_URL!;
    const schema = `t_fair_${randomBytes(6).toString('hex')}`;
    const stores = [await PgStore.open({ url, schema, poolSize: 4 })];
    for (let i = 1; i < 4; i++) stores.push(await PgStore.open({ url, schema, poolSize: 4 }));
    try {
      const [s0, s1, s2, s3] = stores as [PgStore, PgStore, PgStore, PgStore];
      const u = await s0.userCreate({ name: null, credits: 1_000_000, now: Date.now() });
      const created: string[] = [];
      let cancelled = 0;
      let creating = true;
      const create = async (store: PgStore) => {
        for (let i = 0; i < 300; i++) {
          const r = await store.jobCreateCharged({
            id: newId(), userId: u.id, runType: 'model', modelId: 'm/a', appId: null, inputData: {}, webhookUrl: null, cost: 3, now: Date.now(),
          });
          assert.ok(r.ok);
          created.push(r.job.id);
        }
      };
      const cancel = async (store: PgStore) => {
        while (creating || created.length > 0) {
          const id = created.shift();
          if (id === undefined) {
            await new Promise((r) => setImmediate(r));
            continue;
          }
          const r = await store.jobCancel({ id, userId: u.id, now: Date.now(), refundFor: (j) => j.creditsCharged });
          if (r?.changed) cancelled++;
        }
      };
      const claim = async (store: PgStore) => {
        while (creating) {
          const jobs = await store.jobClaim({ owner: 'exec', limit: 2, leaseMs: 60_000, now: Date.now(), maxAttempts: 3 });
          // A job cancelled while it ran is not completed (null): the cancel won.
          for (const j of jobs) await store.jobComplete({ id: j.id, leaseToken: j.leaseToken, outputData: null, now: Date.now() });
          if (jobs.length === 0) await new Promise((r) => setImmediate(r));
        }
      };
      const cancellers = [cancel(s2), cancel(s3), cancel(s2), cancel(s3)];
      const claimer = claim(s1);
      const creators = Promise.all([create(s0), create(s1), create(s0), create(s1)]).finally(() => { creating = false; });
      // Settled together, so a failure in one ends the test only once every loop has stopped.
      const outcomes = await Promise.allSettled([creators, ...cancellers, claimer]);
      for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
      assert.ok(cancelled > 0, 'some pending jobs were cancelled');
      const books = await s0.userGetById({ id: u.id });
      const ledger = await s0.ledgerList({ userId: u.id, limit: 10_000 });
      assert.equal(books!.credits, ledger.reduce((sum, e) => sum + e.amount, 0));
      // The account's pending count, kept by the claims (per account) and the cancels (per job), is still the truth.
      const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await db.connect();
      try {
        const jobsLeft = (await s0.jobList({ userId: u.id, status: 'pending', limit: 100 })).length;
        const { rows } = await db.query<{ pending: number; active: boolean; n: number }>(`SELECT f.pending, f.active,
          (SELECT COUNT(*)::int FROM jobs j WHERE j.user_id = f.user_id AND j.status = 'pending') AS n FROM fair_accounts f WHERE f.user_id = $1`, [u.id]);
        assert.deepEqual(rows, [{ pending: jobsLeft, active: jobsLeft > 0, n: jobsLeft }]);
      } finally {
        await db.end();
      }
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
