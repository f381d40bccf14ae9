#!/usr/bin/env node
// Pipeline benchmark: N jobs created, then executed by a no-op model to completion (credits
// charged at creation, as always), and the dispatch latency (created -> processing) of jobs
// arriving one at a time at a steady rate. genjobs on SQLite and on PostgreSQL, against
// graphile-worker on the same PostgreSQL cluster (in its default mode, and in the configuration of
// its own performance test: pipeline-pg.mjs) and BullMQ on a local redis-server, each doing the same
// no-op work. The PostgreSQL systems run with 1 and with 2 worker processes. Every phase runs in a
// child process of its own; the whole set runs ROUNDS times, rotated, and the figures are medians.
//
//   npm run bench:pipeline      BENCH_QUICK=1: smaller N, one round; BENCH_PROFILE=1: CPU profiles in bench/profiles/
//   BENCH_PIPELINE_N_SQLITE / BENCH_PIPELINE_N_PG / BENCH_PIPELINE_LATENCY_JOBS / BENCH_PIPELINE_RATE
//   BENCH_PIPELINE_ROUNDS (3) / BENCH_PIPELINE_PROCS (1,2)
//   BENCH_PIPELINE_ONLY=genjobs-sqlite,genjobs-postgres,graphile,graphile-tuned,bullmq   a subset of the systems
//   BENCH_PG_STATEMENTS=1       the PostgreSQL bursts print where the server's time went (pg_stat_statements:
//                               µs per job by statement and by PL/pgSQL function; adds a little to every system's cost)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUICK, dist, fmt, makeAccount, makeApp, percentiles, runBench, saveResults, spawnNode, startPg, startRedis, table, verdict,
} from './lib.mjs';
import { graphileOptions, pgBurst } from './pipeline-pg.mjs';

const SELF = import.meta.filename;
const N_SQLITE = Number(process.env.BENCH_PIPELINE_N_SQLITE ?? (QUICK ? 10_000 : 100_000));
const N_PG = Number(process.env.BENCH_PIPELINE_N_PG ?? (QUICK ? 5_000 : 50_000));
const LATENCY_JOBS = Number(process.env.BENCH_PIPELINE_LATENCY_JOBS ?? (QUICK ? 400 : 2_000));
const RATE = Number(process.env.BENCH_PIPELINE_RATE ?? 200);
const CONCURRENCY = Number(process.env.BENCH_PIPELINE_CONCURRENCY ?? 64);
/** Connections to PostgreSQL, for genjobs (GENJOBS_DB_POOL_SIZE's default) and graphile-worker alike. */
const PG_POOL = 10;
/** Worker processes for the PostgreSQL systems (genjobs and graphile-worker), each count measured. */
const PROCS = (process.env.BENCH_PIPELINE_PROCS ?? '1,2').split(',').map(Number);
/** Rounds of every system, in a rotated order each round; figures are medians. */
const ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS ?? (QUICK ? 1 : 3));

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

async function graphileLatency({ pgUrl, count, rate, mode }) {
  const gw = await import('graphile-worker');
  const logger = new gw.Logger(() => () => {});
  const utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
  await utils.migrate();
  const latencies = [];
  const runner = await gw.run({
    connectionString: pgUrl, noHandleSignals: true, logger,
    taskList: {
      noop: async (_payload, helpers) => {
        // run_at is set by the database at insert (now()), as created_at is.
        latencies.push(Date.now() - helpers.job.run_at.getTime());
      },
    },
    ...graphileOptions(mode, { concurrency: CONCURRENCY, pool: PG_POOL }),
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

const PHASES = { genjobsBurst, genjobsLatency, graphileLatency, bullBurst, bullLatency };

async function phase(name, args, profileName) {
  const child = spawnNode(SELF, ['--phase', name, JSON.stringify(args)], { profileName });
  const msg = await child.ready;
  await child.stop();
  if (msg.error) throw new Error(`${name}: ${msg.error}`);
  return msg.result;
}

/** Median of numbers. */
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/**
 * A goal as the median of the rounds' ratios (each round measures both sides minutes apart at
 * most), with their range. `pairs`: [{ value, baseline }] per round.
 */
function roundsVerdict({ what, pairs, goal, higherIsBetter = true, unit = '' }) {
  const ratios = pairs.map((p) => p.value / p.baseline);
  const ratio = median(ratios);
  const met = goal === undefined ? null : higherIsBetter ? ratio >= goal : ratio <= goal;
  const goalText = goal === undefined ? ' (context)' : ` (goal ${higherIsBetter ? '>=' : '<='} ${goal}: ${met ? 'met' : 'MISSED'})`;
  console.log(`  ratio ${what}: median ${ratio.toFixed(3)} over ${ratios.length} round(s), range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}; medians ${fmt(median(pairs.map((p) => p.value)), 1)}${unit} vs ${fmt(median(pairs.map((p) => p.baseline)), 1)}${unit}${goalText}`);
  return { what, ratio, ratios, goal, met };
}

async function main() {
  const only = (process.env.BENCH_PIPELINE_ONLY ?? 'genjobs-sqlite,genjobs-postgres,graphile,graphile-tuned,bullmq').split(',');
  const needPg = only.some((s) => s === 'genjobs-postgres' || s.startsWith('graphile'));
  const pg = needPg ? await startPg() : null;
  const redis = only.includes('bullmq') ? await startRedis() : null;
  console.log(`# burst: N created, then executed with concurrency ${CONCURRENCY} (graphile-worker tuned: its perfTest settings); N = ${fmt(N_SQLITE)} on SQLite, ${fmt(N_PG)} on PostgreSQL and for the peers`);
  console.log(`# PostgreSQL systems with ${PROCS.join(' and ')} worker process(es); ${ROUNDS} round(s), the systems in a rotated order each round`);
  console.log(`# latency: ${fmt(LATENCY_JOBS)} jobs submitted one at a time at ${RATE}/s, created -> processing`);
  const lat = { count: LATENCY_JOBS, rate: RATE };
  const pgArgs = { pgUrl: pg?.url, pgDir: pg?.dir, n: N_PG, concurrency: CONCURRENCY, pool: PG_POOL };
  /** One entry per system: fills a round's `burst` and `latency` objects. */
  const systems = {
    'genjobs-sqlite': async (b, l) => {
      b['genjobs sqlite'] = { n: N_SQLITE, ...(await phase('genjobsBurst', { store: 'sqlite', n: N_SQLITE }, 'pipeline-burst-sqlite')) };
      l['genjobs sqlite'] = await phase('genjobsLatency', { store: 'sqlite', ...lat }, 'pipeline-latency-sqlite');
    },
    'genjobs-postgres': async (b, l) => {
      for (const procs of PROCS) {
        b[`genjobs postgres x${procs}`] = { n: N_PG, procs, ...(await pgBurst({ ...pgArgs, system: 'genjobs', procs, tag: `g${procs}`, profileName: `pipeline-burst-postgres-x${procs}` })) };
      }
      l['genjobs postgres'] = await phase('genjobsLatency', { store: 'postgres', pgUrl: pg.url, ...lat }, 'pipeline-latency-postgres');
    },
    graphile: async (b, l) => {
      b['graphile-worker default x1'] = { n: N_PG, procs: 1, ...(await pgBurst({ ...pgArgs, system: 'graphile', mode: 'default', procs: 1, tag: 'gw' })) };
      l['graphile-worker default'] = await phase('graphileLatency', { pgUrl: pg.url, mode: 'default', ...lat }, 'pipeline-latency-graphile');
    },
    'graphile-tuned': async (b, l) => {
      for (const procs of PROCS) {
        b[`graphile-worker tuned x${procs}`] = { n: N_PG, procs, ...(await pgBurst({ ...pgArgs, system: 'graphile', mode: 'tuned', procs, tag: 'gwt' })) };
      }
      l['graphile-worker tuned'] = await phase('graphileLatency', { pgUrl: pg.url, mode: 'tuned', ...lat }, 'pipeline-latency-graphile-tuned');
    },
    bullmq: async (b, l) => {
      b.BullMQ = { n: N_PG, ...(await phase('bullBurst', { redisPort: redis.port, n: N_PG }, 'pipeline-burst-bullmq')) };
      l.BullMQ = await phase('bullLatency', { redisPort: redis.port, ...lat }, 'pipeline-latency-bullmq');
    },
  };
  const chosen = Object.keys(systems).filter((k) => only.includes(k));
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = chosen.map((_, i) => chosen[(i + r) % chosen.length]);
    console.log(`# round ${r + 1}/${ROUNDS}: ${order.join(', ')}`);
    const round = { burst: {}, latency: {} };
    for (const k of order) {
      await systems[k](round.burst, round.latency);
      // Each system's figures as they come, and saved after each, so a run cut short keeps them.
      for (const [name, b] of Object.entries(round.burst)) if (!b.printed) { b.printed = true; console.log(`  ${name}: ${fmt(b.executed)} jobs/s executed${b.dbCpuUs === undefined ? '' : ` (CPU/job: PostgreSQL ${fmt(b.dbCpuUs)} µs, workers ${fmt(b.workerCpuUs)} µs)`}`); }
      for (const [name, l] of Object.entries(round.latency)) if (!l.printed) { l.printed = true; console.log(`  ${name}: dispatch p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} ms`); }
      saveResults('pipeline', { partial: true, rounds: [...rounds, round], load: os.loadavg() });
    }
    rounds.push(round);
  }

  const names = (kind) => Object.keys(rounds[0][kind]);
  const med = (kind, name, field) => median(rounds.map((r) => r[kind][name][field]));
  console.log(`\n## Burst throughput (jobs/s, median of ${ROUNDS} round(s))`);
  table(names('burst').map((system) => ({
    system, N: rounds[0].burst[system].n, 'create/s': med('burst', system, 'created'), 'execute/s': med('burst', system, 'executed'),
    'execute/s range': `${fmt(Math.min(...rounds.map((r) => r.burst[system].executed)))}-${fmt(Math.max(...rounds.map((r) => r.burst[system].executed)))}`,
    'create+execute/s': med('burst', system, 'total'), 'execute s': med('burst', system, 'execS'),
    'PG CPU µs/job': rounds[0].burst[system].dbCpuUs === undefined ? '' : med('burst', system, 'dbCpuUs'),
    'workers CPU µs/job': rounds[0].burst[system].workerCpuUs === undefined ? '' : med('burst', system, 'workerCpuUs'),
  })));
  console.log(`\n## Dispatch latency, created -> processing (ms, median of ${ROUNDS} round(s))`);
  table(names('latency').map((system) => ({ system, p50: med('latency', system, 'p50'), p90: med('latency', system, 'p90'), p99: med('latency', system, 'p99'), max: med('latency', system, 'max') })));
  console.log('');
  const verdicts = [];
  const pairs = (kind, a, b, field, floor = 0) => (rounds[0][kind][a] && rounds[0][kind][b]
    ? rounds.map((r) => ({ value: r[kind][a][field], baseline: Math.max(r[kind][b][field], floor) })) : null);
  const add = (v) => { if (v.pairs) verdicts.push(roundsVerdict(v)); };
  for (const procs of PROCS) {
    add({ what: `genjobs postgres x${procs} execute vs graphile-worker tuned x${procs}`, pairs: pairs('burst', `genjobs postgres x${procs}`, `graphile-worker tuned x${procs}`, 'executed'), goal: 1, unit: ' jobs/s' });
  }
  add({ what: 'genjobs sqlite execute vs graphile-worker tuned x1', pairs: pairs('burst', 'genjobs sqlite', 'graphile-worker tuned x1', 'executed'), goal: 2, unit: ' jobs/s' });
  add({ what: 'genjobs postgres x1 execute vs graphile-worker default x1', pairs: pairs('burst', 'genjobs postgres x1', 'graphile-worker default x1', 'executed'), goal: 1, unit: ' jobs/s' });
  add({ what: 'graphile-worker tuned x1 vs default x1', pairs: pairs('burst', 'graphile-worker tuned x1', 'graphile-worker default x1', 'executed'), unit: ' jobs/s' });
  add({ what: 'genjobs sqlite execute vs BullMQ', pairs: pairs('burst', 'genjobs sqlite', 'BullMQ', 'executed'), unit: ' jobs/s' });
  // Dispatch p50 "no worse": a ratio <= 1 (ms resolution: 1 ms of slack when the baseline's p50 rounds to 0).
  add({ what: 'genjobs postgres p50 dispatch vs graphile-worker tuned', pairs: pairs('latency', 'genjobs postgres', 'graphile-worker tuned', 'p50', 1), goal: 1, higherIsBetter: false, unit: ' ms' });
  add({ what: 'genjobs sqlite p50 dispatch vs BullMQ', pairs: pairs('latency', 'genjobs sqlite', 'BullMQ', 'p50', 1), goal: 1, higherIsBetter: false, unit: ' ms' });
  saveResults('pipeline', { concurrency: CONCURRENCY, nSqlite: N_SQLITE, nPg: N_PG, procs: PROCS, latencyJobs: LATENCY_JOBS, rate: RATE, rounds, verdicts, load: os.loadavg() });
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
  await runBench('bench:pipeline', 45 * 60_000, main);
}
