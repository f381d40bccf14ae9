#!/usr/bin/env node
// What retention costs the requests served while it runs: 100,000 completed jobs finished 40 days
// ago (every tenth with an output file) are deleted by the retention chore (batches of 500, the
// default 20 ms pause between them), while GET /api/v1/jobs/:id of kept jobs goes on at 200 a
// second, each sent on schedule (an open loop) through app.server.inject, with the cache of
// finished jobs off so every GET reads the store. The same GETs are timed with no retention
// running just before and just after (the baseline: both together); the figure is the ratio of
// the p99s. Also reported: how long each batch held the store (one `retentionDeleteJobs` call),
// and a check that every job, file and ledger reference went while the ledger still sums to
// the balance. SQLite runs a batch on the event loop that answers the GETs, so a long batch
// shows there directly.
//
//   npm run bench:retention     BENCH_QUICK=1: 20,000 jobs; BENCH_RETENTION_STORES=sqlite; BENCH_RETENTION_JOBS=100000;
//                               BENCH_RETENTION_RATE=200 (GETs per second)
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import path from 'node:path';
import { QUICK, dist, fmt, makeAccount, makeApp, percentiles, runBench, saveResults, startPg, table, tmpDir, verdict } from './lib.mjs';

const JOBS = Number(process.env.BENCH_RETENTION_JOBS ?? (QUICK ? 20_000 : 100_000));
const BATCH = 500;
/** GETs per second, sent on schedule. */
const RATE = Number(process.env.BENCH_RETENTION_RATE ?? 200);
const DAY = 86_400_000;
const BASELINE_MS = QUICK ? 4_000 : 10_000;

/** Inserts `JOBS` completed jobs of `userId` finished 40 days ago, each with its charge, in one statement per table. */
async function seed(dialect, exec, userId) {
  const finished = Date.now() - 40 * DAY;
  const credits = 1_000_000_000;
  if (dialect === 'sqlite') {
    exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${JOBS})
      INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, output_data, credits_charged, created_at, started_at, completed_at, attempts)
      SELECT printf('old-%08d', i), '${userId}', 'model', 'bench/noop', 'completed', '{}', '{}', 1, ${finished} - 1000 + i, ${finished} - 500 + i, ${finished} + i, 1 FROM n`);
    exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${JOBS})
      INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at, seq)
      SELECT printf('led-%08d', i), '${userId}', printf('old-%08d', i), 'charge', -1, ${credits} - i, 'run of bench/noop', ${finished} - 1000 + i, 1 + i FROM n`);
  } else {
    await exec(`INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, output_data, credits_charged, created_at, started_at, completed_at, attempts)
      SELECT 'old-' || lpad(i::text, 8, '0'), '${userId}', 'model', 'bench/noop', 'completed', '{}', '{}', 1, ${finished} - 1000 + i, ${finished} - 500 + i, ${finished} + i, 1
      FROM generate_series(1, ${JOBS}) i`);
    await exec(`INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
      SELECT 'led-' || lpad(i::text, 8, '0'), '${userId}', 'old-' || lpad(i::text, 8, '0'), 'charge', -1, ${credits} - i, 'run of bench/noop', ${finished} - 1000 + i
      FROM generate_series(1, ${JOBS}) i`);
    await exec('ANALYZE');
  }
  await exec(`UPDATE users SET credits = credits - ${JOBS} WHERE id = '${userId}'`);
}

/**
 * GETs of `ids` at a steady RATE per second, each sent on time whether or not the earlier ones
 * have answered (an open loop, as independent clients send them), until `until()` is true;
 * milliseconds from each request's due time to its answer, so a request that could not even
 * start while a batch held the event loop counts its wait too.
 */
async function getLoop(app, authorization, ids, until) {
  const times = [];
  const pending = [];
  const start = performance.now();
  for (let k = 0; !until(); k++) {
    const due = start + (k * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const id = ids[k % ids.length];
    pending.push(app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: { authorization } }).then((res) => {
      if (res.statusCode !== 200) throw new Error(`GET failed: ${res.statusCode} ${res.body}`);
      times.push(performance.now() - due);
    }));
  }
  await Promise.all(pending);
  return times;
}

async function measure(store) {
  const dataDir = tmpDir(`retention-${store}`);
  let pg = null;
  const schema = `bench_ret_${Date.now().toString(36)}`;
  if (store === 'postgres') pg = await startPg();
  const app = await makeApp({
    dataDir, pgUrl: pg?.url ?? null, schema,
    env: { GENJOBS_EXECUTOR: 'false', GENJOBS_MAINTENANCE: 'false', GENJOBS_JOB_CACHE_SIZE: '0' },
  });
  const account = await makeAccount(app.store);
  let client = null;
  const exec = store === 'sqlite'
    ? (sql) => app.store.db.db.exec(sql)
    : async (sql) => { await client.query(sql); };
  if (pg) {
    const { default: pgLib } = await import('pg');
    client = new pgLib.Client({ connectionString: pg.url });
    await client.connect();
    await client.query(`SET search_path TO ${schema}`);
  }
  let t = performance.now();
  await seed(store, exec, account.userId);
  const { LocalFileStorage } = await dist('src/files/local-storage.js');
  const files = new LocalFileStorage(dataDir);
  for (let i = 10; i <= JOBS; i += 10) await files.put({ jobId: `old-${String(i).padStart(8, '0')}`, extension: 'png', source: Buffer.from('bench'), limit: 1_000 });
  console.log(`  ${store}: ${fmt(JOBS)} old jobs and ${fmt(JOBS / 10)} output files seeded in ${fmt((performance.now() - t) / 1000, 1)} s`);

  // The jobs the GETs read: kept (pending), created through the API.
  const ids = [];
  for (let i = 0; i < 50; i++) {
    const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: { authorization: account.authorization }, payload: { model: 'bench/noop', input: {} } });
    ids.push(res.json().id);
  }
  await getLoop(app, account.authorization, ids, ((end) => () => performance.now() > end)(performance.now() + 1_000)); // warm-up

  const before = await getLoop(app, account.authorization, ids, ((end) => () => performance.now() > end)(performance.now() + BASELINE_MS));

  const { deleteOldJobs } = await dist('src/maintenance/retention.js');
  const { default: pino } = await import('pino');
  const batchMs = [];
  const timed = {
    retentionDeleteJobs: async (p) => {
      const s = performance.now();
      const r = await app.store.retentionDeleteJobs(p);
      batchMs.push(performance.now() - s);
      return r;
    },
  };
  const chore = deleteOldJobs({ store: timed, files, logger: pino({ level: 'silent' }) }, {
    retain: { completed: 30 * DAY, failed: null, cancelled: null }, batchSize: BATCH, everyMs: 60_000,
  });
  let deleted = 0;
  let done = false;
  t = performance.now();
  const retention = (async () => {
    try {
      for (;;) {
        const n = await chore.run(Date.now());
        deleted += n;
        if (n === 0) break;
      }
    } finally {
      done = true;
    }
  })();
  const during = await getLoop(app, account.authorization, ids, () => done);
  await retention;
  const retentionS = (performance.now() - t) / 1000;
  await sleep(100);
  const after = await getLoop(app, account.authorization, ids, ((end) => () => performance.now() > end)(performance.now() + BASELINE_MS));

  const left = await app.store.jobGetById({ id: 'old-00000010' });
  const filesLeft = fs.existsSync(path.join(dataDir, 'files', 'old-00000010'));
  const user = await app.store.userGetById({ id: account.userId });
  const ledger = await app.store.ledgerList({ userId: account.userId, limit: JOBS + 1_000 });
  const sum = ledger.reduce((s, e) => s + e.amount, 0);
  if (deleted !== JOBS || left || filesLeft || sum !== user.credits || ledger.length < JOBS + 1) {
    throw new Error(`retention did not do its work: deleted ${deleted} of ${JOBS}, job left ${Boolean(left)}, files left ${filesLeft}, ledger sum ${sum} vs balance ${user.credits}, ${ledger.length} entries`);
  }

  await client?.end();
  await app.close();
  const b = percentiles([...before, ...after]);
  const d = percentiles(during);
  const batches = percentiles(batchMs);
  return { store, jobs: JOBS, retentionS, batches, before: percentiles(before), after: percentiles(after), baseline: b, during: d };
}

await runBench('bench:retention', 30 * 60_000, async () => {
  const stores = (process.env.BENCH_RETENTION_STORES ?? 'sqlite,postgres').split(',');
  const results = [];
  for (const store of stores) results.push(await measure(store));
  console.log(`\n## GET /api/v1/jobs/:id while retention deletes ${fmt(JOBS)} jobs (batches of ${BATCH}), ${RATE} a second; ms from due time to answer`);
  table(results.flatMap((r) => [
    { store: r.store, phase: 'no retention (before + after)', n: r.baseline.n, p50: r.baseline.p50, p99: r.baseline.p99, max: r.baseline.max },
    { store: r.store, phase: `retention running (${fmt(r.retentionS, 1)} s)`, n: r.during.n, p50: r.during.p50, p99: r.during.p99, max: r.during.max },
  ]).map((row) => ({ ...row, p50: row.p50.toFixed(2), p99: row.p99.toFixed(2), max: row.max.toFixed(2) })));
  console.log(`\n## One batch (retentionDeleteJobs of ${BATCH} jobs with their ledger references, one transaction); ms`);
  table(results.map((r) => ({ store: r.store, batches: r.batches.n, p50: r.batches.p50.toFixed(1), p99: r.batches.p99.toFixed(1), max: r.batches.max.toFixed(1), 'jobs/s': fmt(r.jobs / r.retentionS) })));
  console.log('');
  for (const r of results) {
    verdict({ what: `${r.store} GET p99, retention running / not running`, value: r.during.p99, baseline: r.baseline.p99, unit: ' ms' });
  }
  saveResults('retention', { batch: BATCH, rate: RATE, results });
});
