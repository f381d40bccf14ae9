#!/usr/bin/env node
// Pipeline benchmark: N jobs created, then executed by a no-op model to completion (credits
// charged at creation, as always), and the dispatch latency (created -> processing) of jobs
// arriving one at a time at a steady rate. genjobs on SQLite and on PostgreSQL, against
// graphile-worker on the same PostgreSQL cluster and BullMQ on a local redis-server, each doing
// the same no-op work with the same concurrency. Every phase runs in a child process of its own.
//
//   npm run bench:pipeline      BENCH_QUICK=1: smaller N; BENCH_PROFILE=1: CPU profiles in bench/profiles/
//   BENCH_PIPELINE_N_SQLITE / BENCH_PIPELINE_N_PG / BENCH_PIPELINE_LATENCY_JOBS / BENCH_PIPELINE_RATE
//   BENCH_PIPELINE_ONLY=genjobs-sqlite,genjobs-postgres,graphile,bullmq   a subset of the systems
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUICK, dist, fmt, makeAccount, makeApp, percentiles, runBench, saveResults, spawnNode, startPg, startRedis, table, verdict,
} from './lib.mjs';

const SELF = import.meta.filename;
const N_SQLITE = Number(process.env.BENCH_PIPELINE_N_SQLITE ?? (QUICK ? 10_000 : 100_000));
const N_PG = Number(process.env.BENCH_PIPELINE_N_PG ?? (QUICK ? 5_000 : 50_000));
const LATENCY_JOBS = Number(process.env.BENCH_PIPELINE_LATENCY_JOBS ?? (QUICK ? 400 : 2_000));
const RATE = Number(process.env.BENCH_PIPELINE_RATE ?? 200);
const CONCURRENCY = Number(process.env.BENCH_PIPELINE_CONCURRENCY ?? 64);
/** Connections to PostgreSQL, for genjobs (GENJOBS_DB_POOL_SIZE's default) and graphile-worker alike. */
const PG_POOL = 10;

/** Calls `fn(i)` for i in [0, n) with at most `width` calls in flight. */
async function inFlight(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** Calls `fn(i)` `n` times at `rate` per second, one at a time on a fixed schedule (no catch-up bursts beyond lateness). */
async function steady(n, rate, fn) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await fn(i);
  }
}

async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ------------------------------------------------------------------ genjobs

async function genjobsApp(store, pgUrl, tag) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-pipeline-'));
  const app = await makeApp({
    dataDir, pgUrl: store === 'postgres' ? pgUrl : null, schema: `bench_${tag}_${process.pid}`,
    env: { GENJOBS_EXECUTOR_CONCURRENCY: String(CONCURRENCY), GENJOBS_DB_POOL_SIZE: String(PG_POOL) },
  });
  const { runModel } = await dist('src/runs/run-model.js');
  const account = await makeAccount(app.store);
  const user = await app.store.userGetById({ id: account.userId });
  const run = () => runModel(app.runs, user, { model: 'bench/noop', input: {} });
  /** Ids of jobs seen completed (a Set: on PostgreSQL NOTIFY repeats the executor's own notice). */
  const completed = new Set();
  app.events.onChanged((n) => { if (n.status === 'completed') completed.add(n.id); });
  const dispose = async () => {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { app, account, user, run, completed, dispose };
}

/** Checks "credits and all": every job completed, one charge each, the balance moved by exactly that. */
async function checkCredits(app, userId, n, startBalance) {
  const after = await app.store.userGetById({ id: userId });
  const charges = (await app.store.ledgerList({ userId, limit: 5 })).filter((e) => e.kind === 'charge').length;
  if (after.credits !== startBalance - n) throw new Error(`balance ${after.credits}, expected ${startBalance - n}`);
  if (charges === 0) throw new Error('no charge in the ledger');
  return after.credits;
}

async function genjobsBurst({ store, pgUrl, n }) {
  const g = await genjobsApp(store, pgUrl, 'burst');
  try {
    const t0 = performance.now();
    await inFlight(n, store === 'postgres' ? PG_POOL : 1, () => g.run());
    const createS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    g.app.startBackground();
    await until(() => g.completed.size >= n, 20 * 60_000, `${n} completed jobs`);
    const execS = (performance.now() - t1) / 1000;
    await checkCredits(g.app, g.account.userId, n, g.user.credits);
    return { created: n / createS, executed: n / execS, total: n / (createS + execS), createS, execS };
  } finally {
    await g.dispose();
  }
}

async function genjobsLatency({ store, pgUrl, count, rate }) {
  const g = await genjobsApp(store, pgUrl, 'latency');
  try {
    g.app.startBackground();
    const ids = [];
    await steady(count, rate, async () => { ids.push((await g.run()).job.id); });
    await until(() => ids.every((id) => g.completed.has(id)), 60_000, 'latency jobs to complete');
    // started_at - created_at, as the store recorded them.
    const rows = [];
    for (let i = 0; i < ids.length; i += 100) {
      const page = await g.app.store.jobList({ userId: g.account.userId, limit: 100, ...(i ? { startingAfter: rows.at(-1) } : {}) });
      rows.push(...page.map((j) => ({ createdAt: j.createdAt, id: j.id, startedAt: j.startedAt })));
    }
    if (rows.length !== count) throw new Error(`read ${rows.length} jobs, expected ${count}`);
    await checkCredits(g.app, g.account.userId, count, g.user.credits);
    return percentiles(rows.map((r) => r.startedAt - r.createdAt));
  } finally {
    await g.dispose();
  }
}

// ------------------------------------------------------------------ graphile-worker

async function graphile(pgUrl, taskFn, opts = {}) {
  const gw = await import('graphile-worker');
  const logger = new gw.Logger(() => () => {});
  const events = new EventEmitter();
  const runner = await gw.run({
    connectionString: pgUrl, concurrency: CONCURRENCY, maxPoolSize: PG_POOL, noHandleSignals: true, pollInterval: 1000,
    logger, events, taskList: { noop: taskFn }, ...opts,
  });
  return runner;
}

async function graphileBurst({ pgUrl, n }) {
  const gw = await import('graphile-worker');
  const { default: pg } = await import('pg');
  const logger = new gw.Logger(() => () => {});
  const utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
  await utils.migrate();
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM graphile_worker._private_jobs');
    const t0 = performance.now();
    // Batches through graphile_worker.add_jobs, its own bulk API.
    for (let done = 0; done < n; done += 5_000) {
      await client.query(`SELECT count(*) FROM graphile_worker.add_jobs((SELECT array_agg(ROW('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)
        FROM generate_series(1, $1)))`, [Math.min(5_000, n - done)]);
    }
    const createS = (performance.now() - t0) / 1000;
    let ran = 0;
    const t1 = performance.now();
    const runner = await graphile(pgUrl, async () => { ran++; });
    try {
      await until(() => ran >= n, 20 * 60_000, `${n} graphile jobs to run`);
      // Completion is recorded after the task returns: wait until the queue is empty.
      await until(async () => (await client.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs')).rows[0].n === 0, 60_000, 'graphile queue to drain');
      const execS = (performance.now() - t1) / 1000;
      return { created: n / createS, executed: n / execS, total: n / (createS + execS), createS, execS };
    } finally {
      await runner.stop();
    }
  } finally {
    await client.end();
    await utils.release();
  }
}

async function graphileLatency({ pgUrl, count, rate }) {
  const gw = await import('graphile-worker');
  const logger = new gw.Logger(() => () => {});
  const utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
  await utils.migrate();
  const latencies = [];
  const runner = await graphile(pgUrl, async (_payload, helpers) => {
    // run_at is set by the database at insert (now()), as created_at is.
    latencies.push(Date.now() - helpers.job.run_at.getTime());
  });
  try {
    await steady(count, rate, () => utils.addJob('noop', {}));
    await until(() => latencies.length >= count, 60_000, 'graphile latency jobs');
    return percentiles(latencies);
  } finally {
    await runner.stop();
    await utils.release();
  }
}

// ------------------------------------------------------------------ BullMQ

async function bullmq(redisPort, queueName) {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  await queue.obliterate({ force: true }).catch(() => {});
  const startWorker = (onCompleted) => {
    const worker = new Worker(queueName, async () => {}, { connection, concurrency: CONCURRENCY, autorun: false });
    worker.on('completed', onCompleted);
    void worker.run();
    return worker;
  };
  return { queue, startWorker };
}

async function bullBurst({ redisPort, n }) {
  const { queue, startWorker } = await bullmq(redisPort, 'burst');
  const t0 = performance.now();
  for (let done = 0; done < n; done += 1_000) {
    await queue.addBulk(Array.from({ length: Math.min(1_000, n - done) }, () => ({ name: 'noop', data: {} })));
  }
  const createS = (performance.now() - t0) / 1000;
  let completed = 0;
  const t1 = performance.now();
  const worker = startWorker(() => { completed++; });
  try {
    await until(() => completed >= n, 20 * 60_000, `${n} BullMQ jobs`);
    const execS = (performance.now() - t1) / 1000;
    return { created: n / createS, executed: n / execS, total: n / (createS + execS), createS, execS };
  } finally {
    await worker.close();
    await queue.close();
  }
}

async function bullLatency({ redisPort, count, rate }) {
  const { queue, startWorker } = await bullmq(redisPort, 'latency');
  const latencies = [];
  const worker = startWorker((job) => { latencies.push(job.processedOn - job.timestamp); });
  try {
    await worker.waitUntilReady();
    await steady(count, rate, () => queue.add('noop', {}));
    await until(() => latencies.length >= count, 60_000, 'BullMQ latency jobs');
    return percentiles(latencies);
  } finally {
    await worker.close();
    await queue.close();
  }
}

// ------------------------------------------------------------------ parent

const PHASES = { genjobsBurst, genjobsLatency, graphileBurst, graphileLatency, bullBurst, bullLatency };

async function phase(name, args, profileName) {
  const child = spawnNode(SELF, ['--phase', name, JSON.stringify(args)], { profileName });
  const msg = await child.ready;
  await child.stop();
  if (msg.error) throw new Error(`${name}: ${msg.error}`);
  return msg.result;
}

async function main() {
  const only = (process.env.BENCH_PIPELINE_ONLY ?? 'genjobs-sqlite,genjobs-postgres,graphile,bullmq').split(',');
  const needPg = only.some((s) => s === 'genjobs-postgres' || s === 'graphile');
  const pg = needPg ? await startPg() : null;
  const redis = only.includes('bullmq') ? await startRedis() : null;
  console.log(`# burst: N created, then executed with concurrency ${CONCURRENCY}; N = ${fmt(N_SQLITE)} on SQLite, ${fmt(N_PG)} on PostgreSQL and for the peers`);
  console.log(`# latency: ${fmt(LATENCY_JOBS)} jobs submitted one at a time at ${RATE}/s, created -> processing`);

  const burst = {};
  const latency = {};
  const lat = { count: LATENCY_JOBS, rate: RATE };
  if (only.includes('genjobs-sqlite')) {
    burst['genjobs sqlite'] = { n: N_SQLITE, ...(await phase('genjobsBurst', { store: 'sqlite', n: N_SQLITE }, 'pipeline-burst-sqlite')) };
    latency['genjobs sqlite'] = await phase('genjobsLatency', { store: 'sqlite', ...lat }, 'pipeline-latency-sqlite');
  }
  if (only.includes('genjobs-postgres')) {
    burst['genjobs postgres'] = { n: N_PG, ...(await phase('genjobsBurst', { store: 'postgres', pgUrl: pg.url, n: N_PG }, 'pipeline-burst-postgres')) };
    latency['genjobs postgres'] = await phase('genjobsLatency', { store: 'postgres', pgUrl: pg.url, ...lat }, 'pipeline-latency-postgres');
  }
  if (only.includes('graphile')) {
    burst['graphile-worker'] = { n: N_PG, ...(await phase('graphileBurst', { pgUrl: pg.url, n: N_PG }, 'pipeline-burst-graphile')) };
    latency['graphile-worker'] = await phase('graphileLatency', { pgUrl: pg.url, ...lat }, 'pipeline-latency-graphile');
  }
  if (only.includes('bullmq')) {
    burst.BullMQ = { n: N_PG, ...(await phase('bullBurst', { redisPort: redis.port, n: N_PG }, 'pipeline-burst-bullmq')) };
    latency.BullMQ = await phase('bullLatency', { redisPort: redis.port, ...lat }, 'pipeline-latency-bullmq');
  }

  console.log('\n## Burst throughput (jobs/s)');
  table(Object.entries(burst).map(([system, r]) => ({
    system, N: r.n, 'create/s': r.created, 'execute/s': r.executed, 'create+execute/s': r.total, 'execute s': r.execS,
  })));
  console.log('\n## Dispatch latency, created -> processing (ms)');
  table(Object.entries(latency).map(([system, r]) => ({ system, p50: r.p50, p90: r.p90, p99: r.p99, max: r.max, n: r.n })));
  console.log('');
  const verdicts = [];
  const gwB = burst['graphile-worker'];
  const gwL = latency['graphile-worker'];
  if (gwB && burst['genjobs postgres']) {
    verdicts.push(verdict({ what: 'genjobs postgres execute vs graphile-worker', value: burst['genjobs postgres'].executed, baseline: gwB.executed, unit: ' jobs/s', goal: 1 }));
    verdict({ what: 'genjobs postgres create+execute vs graphile-worker (context)', value: burst['genjobs postgres'].total, baseline: gwB.total, unit: ' jobs/s' });
  }
  if (gwL && latency['genjobs postgres']) {
    // Dispatch p50 "no worse": a ratio <= 1 (ms resolution: 1 ms of slack when graphile's p50 rounds to 0).
    verdicts.push(verdict({ what: 'genjobs postgres p50 dispatch vs graphile-worker', value: latency['genjobs postgres'].p50, baseline: Math.max(gwL.p50, 1), unit: ' ms', goal: 1, higherIsBetter: false }));
  }
  if (gwB && burst['genjobs sqlite']) {
    verdicts.push(verdict({ what: 'genjobs sqlite execute vs graphile-worker', value: burst['genjobs sqlite'].executed, baseline: gwB.executed, unit: ' jobs/s', goal: 2 }));
    verdict({ what: 'genjobs sqlite create+execute vs graphile-worker (context)', value: burst['genjobs sqlite'].total, baseline: gwB.total, unit: ' jobs/s' });
  }
  if (burst.BullMQ) {
    for (const s of ['genjobs sqlite', 'genjobs postgres']) {
      if (burst[s]) verdict({ what: `${s} execute vs BullMQ (context)`, value: burst[s].executed, baseline: burst.BullMQ.executed, unit: ' jobs/s' });
    }
  }
  saveResults('pipeline', { concurrency: CONCURRENCY, nSqlite: N_SQLITE, nPg: N_PG, latencyJobs: LATENCY_JOBS, rate: RATE, burst, latency, verdicts });
}

if (process.argv[2] === '--phase') {
  process.once('disconnect', () => process.exit(1));
  const fn = PHASES[process.argv[3]];
  fn(JSON.parse(process.argv[4])).then(
    (result) => process.send({ result }),
    (err) => process.send({ error: err?.stack ?? String(err) }),
  ).finally(() => {
    // Parent stops us (SIGTERM) once it has the result; exit on it so --cpu-prof is written.
    process.once('SIGTERM', () => process.exit(0));
  });
} else {
  await runBench('bench:pipeline', 10 * 60_000, main);
}
