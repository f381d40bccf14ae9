// The PostgreSQL side of bench:pipeline with one or more worker processes: genjobs, graphile-worker
// in its default mode and graphile-worker in the configuration of its own performance test.
// For each, a seed child fills the queue; then K worker processes are started, each waits for
// "go", and the parent times from the first job to start (any process) until the queue is empty,
// polling the database (the same cheap EXISTS query for both systems, every 20 ms).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PG_STATEMENTS, makeAccount, makeApp, dist, pgClient, printStatements, resetStatements, spawnNode } from './lib.mjs';

const SELF = import.meta.filename;

/**
 * graphile-worker as its own performance test runs it: perfTest/graphile.config.js of
 * graphile/worker at v0.17.3 (195491c), the configuration behind its published "with batching"
 * figures (website/docs/performance.md): 24 concurrent jobs, a pool of 25, a local queue of 500
 * jobs with a 10 ms refetch delay, completions and failures batched with a delay of 0.
 * `preparedStatements` stays at its default (true); `getJobBatchTime` is not an option of 0.17.3
 * (only a name in src/localQueue.ts's comments: the local queue's 30-minute hold, irrelevant here).
 */
export const GRAPHILE_TUNED = {
  concurrentJobs: 24,
  maxPoolSize: 25,
  gracefulShutdownAbortTimeout: 2500,
  localQueue: { size: 500, refetchDelay: { durationMs: 10 } },
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
};

/** graphile-worker's options for `mode`: 'default' is the mode bench:pipeline has always measured (concurrency and pool as genjobs'). */
export function graphileOptions(mode, { concurrency, pool }) {
  return mode === 'tuned'
    ? { preset: { worker: { ...GRAPHILE_TUNED } } }
    : { concurrency, maxPoolSize: pool, pollInterval: 1000 };
}

/** Fills the queue: genjobs through the run use case (charged), graphile through add_jobs. Returns seconds taken. */
async function seed({ system, pgUrl, schema, n, concurrency, pool }) {
  if (system === 'genjobs') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-seed-'));
    const app = await makeApp({ dataDir, pgUrl, schema, env: { GENJOBS_EXECUTOR_CONCURRENCY: String(concurrency), GENJOBS_DB_POOL_SIZE: String(pool) } });
    try {
      const { runModel } = await dist('src/runs/run-model.js');
      const account = await makeAccount(app.store);
      const user = await app.store.userGetById({ id: account.userId });
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: pool }, async () => {
        while (next < n) { next++; await runModel(app.runs, user, { model: 'bench/noop', input: {} }); }
      }));
      const createS = (performance.now() - t0) / 1000;
      const after = await app.store.userGetById({ id: account.userId });
      if (after.credits !== user.credits - n) throw new Error(`balance ${after.credits}, expected ${user.credits - n}`);
      return { createS };
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const gw = await import('graphile-worker');
  const logger = new gw.Logger(() => () => {});
  const utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
  await utils.migrate();
  await utils.release();
  const client = await pgClient(pgUrl);
  try {
    await client.query('DELETE FROM graphile_worker._private_jobs');
    const t0 = performance.now();
    for (let done = 0; done < n; done += 5_000) {
      await client.query(`SELECT count(*) FROM graphile_worker.add_jobs((SELECT array_agg(ROW('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)
        FROM generate_series(1, $1)))`, [Math.min(5_000, n - done)]);
    }
    return { createS: (performance.now() - t0) / 1000 };
  } finally {
    await client.end();
  }
}

/** One worker process: prepares, says ready, starts on "go", reports when its first job starts. */
async function worker({ system, mode, pgUrl, schema, concurrency, pool }) {
  let first = 0;
  const firstJob = () => {
    if (first) return;
    first = Date.now();
    process.send({ first });
  };
  const go = new Promise((resolve) => process.on('message', (m) => { if (m === 'go') resolve(); }));
  let stop;
  if (system === 'genjobs') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-worker-'));
    const app = await makeApp({ dataDir, pgUrl, schema, env: { GENJOBS_EXECUTOR_CONCURRENCY: String(concurrency), GENJOBS_DB_POOL_SIZE: String(pool) } });
    app.events.onChanged((c) => { if (c.status === 'processing') firstJob(); });
    stop = async () => { await app.close(); fs.rmSync(dataDir, { recursive: true, force: true }); };
    process.send({ ready: true });
    await go;
    app.startBackground();
  } else {
    const gw = await import('graphile-worker');
    const logger = new gw.Logger(() => () => {});
    process.send({ ready: true });
    await go;
    const runner = await gw.run({
      connectionString: pgUrl, noHandleSignals: true, logger, taskList: { noop: async () => { firstJob(); } },
      ...graphileOptions(mode, { concurrency, pool }),
    });
    stop = () => runner.stop();
  }
  process.once('SIGTERM', () => { stop().finally(() => process.exit(0)); });
}

/** CPU seconds (user + system) used so far by each of `pids`, from /proc; a process gone is left out. */
function cpuSeconds(pids) {
  const out = new Map();
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* gone */ }
  }
  return out;
}

/** CPU used between two cpuSeconds() maps (a process new since `before` counts from 0). */
function cpuUsed(before, after) {
  let s = 0;
  for (const [pid, sec] of after) s += sec - (before.get(pid) ?? 0);
  return s;
}

/** The cluster's postmaster and its children (backends, writers), from its postmaster.pid. */
function pgPids(pgDir) {
  if (!pgDir) return [];
  const master = Number(fs.readFileSync(path.join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [master];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) pids.push(Number(d));
    } catch { /* gone */ }
  }
  return pids;
}

/** Is anything left to run? One indexed EXISTS query on either system. */
function leftQuery(system, schema) {
  return system === 'genjobs'
    ? `SELECT EXISTS (SELECT 1 FROM "${schema}".jobs WHERE status = 'pending') OR EXISTS (SELECT 1 FROM "${schema}".jobs WHERE status = 'processing') AS left`
    : 'SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS left';
}

/**
 * N jobs seeded, then executed by `procs` worker processes. executed/s = N / (queue empty - first
 * job started), so neither system's process start-up counts (as graphile's perfTest subtracts it).
 */
export async function pgBurst({ system, mode = 'default', pgUrl, pgDir, n, procs, concurrency, pool, tag, profileName }) {
  const schema = `bench_${tag}_${process.pid}_${Date.now().toString(36)}`;
  const args = { system, mode, pgUrl, schema, n, concurrency, pool };
  const profiler = PG_STATEMENTS ? await pgClient(pgUrl) : null;
  if (profiler) await resetStatements(profiler);
  const seeder = spawnNode(SELF, ['seed', JSON.stringify(args)]);
  const seeded = await seeder.ready;
  await seeder.stop();
  if (seeded.error) throw new Error(`seed ${system}: ${seeded.error}`);
  if (profiler) {
    await printStatements(profiler, `${system} created`, n);
    await profiler.end();
  }
  const workers = Array.from({ length: procs }, (_, i) => spawnNode(SELF, ['worker', JSON.stringify(args)], { profileName: profileName && `${profileName}-${i + 1}` }));
  const client = await pgClient(pgUrl);
  try {
    await Promise.all(workers.map((w) => w.ready));
    const firsts = [];
    for (const w of workers) w.child.on('message', (m) => { if (m?.first) firsts.push(m.first); });
    const workerPids = workers.map((w) => w.child.pid);
    if (PG_STATEMENTS) await resetStatements(client);
    const cpu0 = { db: cpuSeconds(pgPids(pgDir)), workers: cpuSeconds(workerPids) };
    const go = Date.now();
    for (const w of workers) w.child.send('go');
    const q = leftQuery(system, schema);
    while ((await client.query(q)).rows[0].left) {
      if (Date.now() - go > 20 * 60_000) throw new Error(`${system} did not drain ${n} jobs in 20 minutes`);
      await sleep(20);
    }
    const end = Date.now();
    // Backends that exit before the end are missed (the pools keep theirs open while they work).
    const cpu = { db: cpuUsed(cpu0.db, cpuSeconds(pgPids(pgDir))), workers: cpuUsed(cpu0.workers, cpuSeconds(workerPids)) };
    const start = Math.min(...firsts);
    if (system === 'genjobs') {
      const done = (await client.query(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE status = 'completed'`)).rows[0].n;
      if (done !== n) throw new Error(`${done} jobs completed, expected ${n}`);
    }
    const execS = (end - start) / 1000;
    if (PG_STATEMENTS) await printStatements(client, `${system}${mode === 'tuned' ? ' tuned' : ''} with ${procs} process(es) ran`, n);
    return {
      created: n / seeded.createS, executed: n / execS, total: n / (seeded.createS + execS), createS: seeded.createS, execS, startupMs: start - go,
      // CPU per job, in µs, of PostgreSQL (every backend of the cluster) and of the worker processes, from "go" to empty.
      dbCpuUs: (cpu.db * 1e6) / n, workerCpuUs: (cpu.workers * 1e6) / n,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    if (system === 'genjobs') await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await client.end();
  }
}

if (process.argv[2] === 'seed') {
  process.once('disconnect', () => process.exit(1));
  seed(JSON.parse(process.argv[3])).then(
    (r) => process.send(r),
    (err) => process.send({ error: err?.stack ?? String(err) }),
  ).finally(() => process.once('SIGTERM', () => process.exit(0)));
} else if (process.argv[2] === 'worker') {
  process.once('disconnect', () => process.exit(1));
  worker(JSON.parse(process.argv[3])).catch((err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  });
}
