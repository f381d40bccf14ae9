import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newId } from '../../src/ids.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import type { JobNotice } from '../../src/jobs/events.js';
import { freshStore, testStoreKind } from '../helpers/store.js';

describe('postgres store: notifications', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('tells subscribers of every new job and status change, made by any connection', async () => {
    const store = await freshStore();
    const notices: JobNotice[] = [];
    const stop = await store.subscribe((n) => { if (n) notices.push(n); });
    try {
      const user = await store.userCreate({ name: null, credits: 100, now: Date.now() });
      const created = await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now() });
      assert.ok(created.ok);
      const [claimed] = await store.jobClaim({ owner: 'o', limit: 1, leaseMs: 1000, now: Date.now(), maxAttempts: 3 });
      await store.jobComplete({ id: claimed!.id, leaseToken: claimed!.leaseToken, outputData: {}, now: Date.now() });
      const until = Date.now() + 2_000;
      while (notices.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(notices.map((n) => [n.id, n.status, n.modelId]), [
        [created.job.id, 'pending', 'm/x'], [created.job.id, 'processing', 'm/x'], [created.job.id, 'completed', 'm/x'],
      ]);
    } finally {
      await stop();
      await store.close();
    }
  });
});

describe('postgres store: calls of one turn share a statement', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  /** A store in a schema of our own, and a plain connection to look at its rows. */
  async function open() {
    const schema = `t_batch_${randomBytes(6).toString('hex')}`;
    const url = process.env.GENJOBS_TEST_PG_URL!;
    const store = await PgStore.open({ url, schema, poolSize: 5 });
    const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await db.connect();
    return { store, db, close: async () => { await db.end(); await store.close(); } };
  }

  it('creates and completes many runs in one transaction each, not one per call', async () => {
    const { store, db, close } = await open();
    try {
      const user = await store.userCreate({ name: null, credits: 1_000, now: Date.now() });
      const created = await Promise.all(Array.from({ length: 30 }, () => store.jobCreateCharged({
        id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now(),
      })));
      assert.ok(created.every((r) => r.ok));
      // xmin: the transaction that wrote the row version. One for all 30 inserts.
      const inserted = await db.query<{ n: number }>('SELECT COUNT(DISTINCT xmin::text)::int AS n FROM jobs');
      assert.equal(inserted.rows[0]!.n, 1);
      const claimed = await store.jobClaim({ owner: 'o', limit: 30, leaseMs: 30_000, now: Date.now(), maxAttempts: 3 });
      const done = await Promise.all(claimed.map((j) => store.jobComplete({ id: j.id, leaseToken: j.leaseToken, outputData: { id: j.id }, now: Date.now() })));
      assert.ok(done.every((j, i) => j?.id === claimed[i]!.id));
      const completed = await db.query<{ n: number; rows: number }>(`SELECT COUNT(DISTINCT xmin::text)::int AS n, COUNT(*)::int AS rows FROM jobs WHERE status = 'completed'`);
      assert.deepEqual(completed.rows[0], { n: 1, rows: 30 });
    } finally {
      await close();
    }
  });
});
