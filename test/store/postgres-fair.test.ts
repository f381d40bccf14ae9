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
});
