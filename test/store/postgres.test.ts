import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newId } from '../../src/ids.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import type { JobNotice } from '../../src/store/store.js';
import { freshStore, testStoreKind } from '../helpers/store.js';
import { MIN_WAIT_MS } from '../helpers/waits.js';

describe('postgres store: notifications', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('tells subscribers of every new job and status change, made by any connection', async () => {
    const store = await freshStore();
    const notices: JobNotice[] = [];
    const stop = await store.subscribe((n) => { if (n) notices.push(n); });
    try {
      const user = await store.userCreate({ name: null, credits: 100, now: Date.now() });
      const created = await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now() });
      assert.ok(created.ok);
      // A lease no stall can outlast before the completion below.
      const [claimed] = await store.jobClaim({ owner: 'o', limit: 1, leaseMs: 60_000, now: Date.now(), maxAttempts: 3 });
      await store.jobComplete({ id: claimed!.id, leaseToken: claimed!.leaseToken, outputData: {}, now: Date.now() });
      const until = Date.now() + MIN_WAIT_MS;
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

  it('sends the reads of one turn as one query per kind, and their rate-limit checks as a few leases', async () => {
    const { store, close } = await open();
    try {
      const user = await store.userCreate({ name: null, credits: 1_000, now: Date.now() });
      await store.apiKeyCreate({ userId: user.id, name: null, keyPrefix: 'p', keyHash: 'h', expiresAt: null, rateLimitPerMinute: 100, now: Date.now() });
      const created = await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now() });
      assert.ok(created.ok);
      // Every statement goes through the pool's query(): count them.
      const pool = (store as unknown as { db: { pool: pg.Pool } }).db.pool;
      const query = pool.query.bind(pool);
      // Reads apart from the rate-limit statements: a lease reserves, and a give-back at the end
      // of a second (when the calls straddle one on a slow machine) releases.
      const sent: string[] = [];
      let leases = 0;
      (pool as { query: unknown }).query = (...args: Parameters<typeof query>) => {
        const text = JSON.stringify(args[0]);
        if (text.includes('genjobs_rate_reserve')) leases++;
        else if (!text.includes('genjobs_rate_release')) sent.push(text.slice(0, 80));
        return query(...args);
      };
      const at = Date.now();
      const answers = await Promise.all(Array.from({ length: 20 }, () => Promise.all([
        store.jobGetById({ id: created.job.id, userId: user.id }),
        store.apiKeyGetByHash({ keyHash: 'h' }),
        store.jobQueuePosition({ id: created.job.id, createdAt: created.job.createdAt }),
        store.rateLimitConsume({ keyId: 'k', limit: 100, now: at }),
      ])));
      assert.equal(sent.length, 3, `one query per kind of read, not: ${sent.join(' | ')}`);
      assert.ok(leases >= 1 && leases <= 3, `${leases} rate-limit leases for 20 checks (src/ratelimit/leased-window.ts)`);
      assert.ok(answers.every(([job, key, position]) => job?.id === created.job.id && key?.user.id === user.id && position === 0));
      assert.deepEqual(answers.map(([, , , d]) => d.remaining).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 80 + i));
    } finally {
      await close();
    }
  });

  it('a completion PostgreSQL refuses fails alone: the others sent with it are recorded', async () => {
    const { store, close } = await open();
    try {
      const user = await store.userCreate({ name: null, credits: 1_000, now: Date.now() });
      for (let i = 0; i < 5; i++) {
        await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now() });
      }
      const claimed = await store.jobClaim({ owner: 'o', limit: 5, leaseMs: 30_000, now: Date.now(), maxAttempts: 3 });
      // jsonb cannot hold \u0000: this output is refused by the database.
      const results = await Promise.allSettled(claimed.map((j, i) => store.jobComplete({
        id: j.id, leaseToken: j.leaseToken, outputData: i === 2 ? { text: 'a\u0000b' } : { i }, now: Date.now(),
      })));
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const statuses = await Promise.all(claimed.map(async (j) => (await store.jobGetById({ id: j.id }))?.status));
      assert.deepEqual(statuses, ['completed', 'completed', 'processing', 'completed', 'completed']);
    } finally {
      await close();
    }
  });

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
