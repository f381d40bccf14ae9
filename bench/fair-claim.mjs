#!/usr/bin/env node
// What the fair claim costs: claims of 16 jobs drained from a backlog, through the store's
// jobClaim (weighted round-robin across accounts, src/store/*/fair.ts), against the first-come
// claim genjobs had before (one statement: the oldest pending jobs, whoever's), run on an
// identical backlog in the same database in the same run. Two backlogs: one account holding all
// of it, and a flood (one account with most of the jobs, nine with a few each). Each side is
// drained in alternating rounds; the ratio is the median of the rounds' fair/first-come ratios of
// the time per claimed job. The store's own creations seed each round (not timed).
//
//   npm run bench:fair-claim     BENCH_QUICK=1: smaller backlogs; BENCH_FAIR_STORES=sqlite|postgres
import { randomBytes } from 'node:crypto';
import { QUICK, dist, fmt, percentiles, runBench, saveResults, startPg, table, tmpDir } from './lib.mjs';

const BACKLOG = QUICK ? 2_000 : 10_000;
const ROUNDS = QUICK ? 3 : 5;
const BATCH = 16;

/** The claim before the fair scheduler, as one statement (SQLite, then PostgreSQL). */
const FIFO = {
  sqlite: `UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = @owner, lease_token = lease_token + 1,
             lease_expires_at = @expiry, started_at = COALESCE(started_at, MAX(@now, created_at))
           WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_at, id LIMIT @limit) RETURNING *`,
  postgres: `UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = $1, lease_token = lease_token + 1,
               lease_expires_at = $2, started_at = COALESCE(started_at, GREATEST($3, created_at))
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *`,
};

async function openStore(kind, pgUrl) {
  if (kind === 'sqlite') {
    const { SqliteStore } = await dist('src/store/sqlite/sqlite-store.js');
    const dir = tmpDir('fair-claim');
    const store = new SqliteStore({ filename: `${dir}/genjobs.db` });
    const fifo = (now) => store.db.group.submit(() => store.db.sql(FIFO.sqlite).all({ owner: 'fifo', expiry: now + 60_000, now, limit: BATCH }));
    return { store, fifo };
  }
  const { PgStore } = await dist('src/store/postgres/pg-store.js');
  const store = await PgStore.open({ url: pgUrl, schema: `bench_fair_${randomBytes(4).toString('hex')}`, poolSize: 4 });
  const fifo = (now) => store.db.q(FIFO.postgres, ['fifo', now + 60_000, now, BATCH]);
  return { store, fifo };
}

/** Creates the backlog: `shares` jobs per account, interleaved in creation order. */
async function seed(store, users, shares) {
  const left = [...shares];
  const { newId } = await dist('src/ids.js');
  const pending = [];
  while (left.some((n) => n > 0)) {
    for (let i = 0; i < users.length; i++) {
      if (left[i] <= 0) continue;
      left[i]--;
      pending.push(store.jobCreateCharged({
        id: newId(), userId: users[i], runType: 'model', modelId: 'local/test', appId: null, inputData: {}, webhookUrl: null, cost: 0, now: Date.now(),
      }));
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    }
  }
  await Promise.all(pending);
}

/** Drains the backlog with `claim`; ms per claimed job. */
async function drain(claim) {
  let jobs = 0;
  const t = performance.now();
  for (;;) {
    const got = await claim(Date.now());
    if (got.length === 0) break;
    jobs += got.length;
  }
  return { msPerJob: (performance.now() - t) / jobs, jobs };
}

async function measure(kind, pgUrl, layout) {
  const { store, fifo } = await openStore(kind, pgUrl);
  try {
    const accounts = layout === 'one' ? 1 : 10;
    const users = [];
    for (let i = 0; i < accounts; i++) users.push((await store.userCreate({ name: null, credits: 0, now: Date.now() })).id);
    const shares = layout === 'one' ? [BACKLOG] : [BACKLOG - 9 * (BACKLOG / 100), ...Array(9).fill(BACKLOG / 100)];
    const fair = (now) => store.jobClaim({ owner: 'fair', limit: BATCH, leaseMs: 60_000, now, maxAttempts: 3 });
    const ratios = [];
    const sides = { fair: [], fifo: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? ['fifo', 'fair'] : ['fair', 'fifo'];
      const got = {};
      for (const side of order) {
        await seed(store, users, shares);
        got[side] = await drain(side === 'fair' ? fair : fifo);
        sides[side].push(got[side].msPerJob);
      }
      ratios.push(got.fair.msPerJob / got.fifo.msPerJob);
    }
    ratios.sort((a, b) => a - b);
    return {
      store: kind, layout, backlog: BACKLOG, batch: BATCH,
      fairUsPerJob: percentiles(sides.fair.map((ms) => ms * 1000)).p50, fifoUsPerJob: percentiles(sides.fifo.map((ms) => ms * 1000)).p50,
      ratio: ratios[Math.floor((ratios.length - 1) / 2)], ratios,
    };
  } finally {
    await store.close();
  }
}

await runBench('bench:fair-claim', 1_800_000, async () => {
  const stores = (process.env.BENCH_FAIR_STORES ?? 'sqlite,postgres').split(',');
  const pg = stores.includes('postgres') ? await startPg() : null;
  console.log(`# backlog ${fmt(BACKLOG)} jobs drained by claims of ${BATCH}; ${ROUNDS} rounds per side, alternating`);
  const rows = [];
  for (const kind of stores) {
    for (const layout of ['one', 'flood']) {
      const r = await measure(kind, pg?.url, layout);
      rows.push(r);
      console.log(`${kind} ${layout}: fair ${r.fairUsPerJob.toFixed(1)} µs/job, first-come ${r.fifoUsPerJob.toFixed(1)} µs/job, ratio ${r.ratio.toFixed(2)}`);
    }
  }
  table(rows.map((r) => ({
    store: r.store, backlog: r.layout === 'one' ? 'one account' : 'flood: 1 + 9 accounts',
    'fair µs/job': r.fairUsPerJob.toFixed(1), 'first-come µs/job': r.fifoUsPerJob.toFixed(1), 'ratio (fair / first-come)': r.ratio.toFixed(2),
  })));
  saveResults('fair-claim', { rows });
});
