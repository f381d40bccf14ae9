// Shared helpers of the benchmarks under bench/. Plain ESM that imports the compiled dist/ code,
// so `tsc` never sees it. Everything a benchmark starts (PostgreSQL, Redis, child processes,
// temporary folders) is registered with `defer` and undone in reverse order when the benchmark
// ends, fails, is interrupted, or runs past its time limit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DIST = path.join(ROOT, 'dist');
export const QUICK = process.env.BENCH_QUICK === '1';
/** Extra node flags for the processes under test: BENCH_PROFILE=1 adds --cpu-prof into bench/profiles/. */
export const PROFILE = process.env.BENCH_PROFILE === '1';
export const PROFILE_DIR = path.join(ROOT, 'bench', 'profiles');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

/** Imports a compiled module by its path under dist/ (`src/app.js`). */
export async function dist(rel) {
  const file = path.join(DIST, rel);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return import(file);
}

// ---------------------------------------------------------------- cleanup

const cleanups = [];
let cleaning = null;

/** Registers `fn` to run when the benchmark ends (in reverse order of registration). */
export function defer(label, fn) {
  const entry = { label, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function cleanupAll() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { label, fn } = cleanups.pop();
      try {
        await Promise.race([fn(), sleep(30_000).then(() => { throw new Error('took over 30 s'); })]);
      } catch (err) {
        console.error(`cleanup "${label}" failed: ${err?.message ?? err}`);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs a benchmark's `main` with cleanup on every way out and a time limit
 * (BENCH_TIMEOUT_MS, default `limitMs`).
 */
export async function runBench(name, limitMs, main) {
  const limit = Number(process.env.BENCH_TIMEOUT_MS ?? limitMs);
  let exitCode = 0;
  const bail = (why, code) => {
    console.error(`\n${name}: ${why}; cleaning up`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  const timer = setTimeout(() => bail(`over its time limit of ${Math.round(limit / 1000)} s`, 124), limit);
  timer.unref();
  const started = Date.now();
  console.log(`# ${name}${QUICK ? ' (quick mode: BENCH_QUICK=1, smaller sizes)' : ''}`);
  console.log(`# machine: ${machine().summary}`);
  try {
    await main();
  } catch (err) {
    console.error(err?.stack ?? err);
    exitCode = 1;
  } finally {
    clearTimeout(timer);
    await cleanupAll();
  }
  console.log(`# ${name} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exit(exitCode);
}

// ---------------------------------------------------------------- machine, ports, folders

export function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  return { cores, model, memGiB, node: process.version, summary: `${cores} cores, ${model}, ${memGiB} GiB, node ${process.version}` };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A temporary folder, removed at the end. */
export function tmpDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `genjobs-bench-${prefix}-`));
  defer(`rm ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- services

/** A throwaway PostgreSQL 15 cluster (test/helpers/pg-cluster.ts), destroyed at the end. */
/** Whether PostgreSQL benchmarks profile the server's statements (BENCH_PG_STATEMENTS=1). */
export const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';

export async function startPg() {
  const { startPgCluster } = await dist('test/helpers/pg-cluster.js');
  // BENCH_PG_STATEMENTS=1: the server keeps per-statement and per-function times (pg_stat_statements,
  // track_functions), for the profiles of bench/pipeline-pg.mjs.
  const cluster = await startPgCluster(PG_STATEMENTS ? ['shared_preload_libraries=pg_stat_statements', 'track_functions=pl', 'pg_stat_statements.track=all'] : []);
  defer('postgres cluster', () => cluster.destroy());
  return cluster;
}

/** redis-server from Debian's package on a free loopback port, no persistence; stopped at the end. */
export async function startRedis() {
  const bin = process.env.BENCH_REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: install it with \`apt-get install redis-server\` (or set BENCH_REDIS_SERVER)`);
  const port = await freePort();
  const dir = tmpDir('redis');
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  defer('redis-server', () => stopChild(child));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    if (await canConnect(port)) break;
    if (i > 100) throw new Error(`redis-server did not start: ${out}`);
    await sleep(50);
  }
  return { port, host: '127.0.0.1', child };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the child is gone. */
export function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}

/** Spawns a node child (the server under test), stopped at the end; `ready` resolves at its first IPC message. */
export function spawnNode(script, args, { env = {}, nodeFlags = [], profileName } = {}) {
  const flags = [...nodeFlags];
  if (PROFILE && profileName) {
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${profileName}.cpuprofile`);
  }
  const child = spawn(process.execPath, [...flags, script, ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const off = defer(`child ${path.basename(script)} ${args.join(' ')}`, () => stopChild(child));
  const ready = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited early (${code})`)));
  });
  /** Stops it now (SIGTERM: the child closes its app, which writes a --cpu-prof profile). */
  const stop = async () => { off(); await stopChild(child, 60_000); };
  return { child, ready, stop };
}

// ---------------------------------------------------------------- genjobs

/** A catalog file: the bundled one plus `bench/noop`, a no-op model (the builtin test provider, 1 credit). */
export function writeCatalog(dir) {
  const bundled = JSON.parse(fs.readFileSync(path.join(ROOT, 'catalog', 'models.json'), 'utf8'));
  bundled.models.push({
    id: 'bench/noop', name: 'Bench no-op', modality: 'text', description: 'Does nothing and completes.',
    cost: 1, inputTypes: ['text'], promptRequired: false, outputType: 'text', sync: false, timeout_ms: 60_000,
    provider: { type: 'builtin', name: 'test' }, settings: [],
  });
  const file = path.join(dir, 'catalog.json');
  fs.writeFileSync(file, JSON.stringify(bundled));
  return file;
}

/**
 * A genjobs app wired as `genjobs serve` wires it (createApp), on SQLite in `dataDir` or on
 * PostgreSQL in a schema of its own. Not listening and not started: the caller decides.
 */
export async function makeApp({ dataDir, pgUrl = null, schema = null, env = {} }) {
  const { createApp } = await dist('src/app.js');
  const { loadConfig } = await dist('src/config/config.js');
  const { default: pino } = await import('pino');
  const config = loadConfig({
    DATA_DIR: dataDir, LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0',
    GENJOBS_CATALOG: writeCatalog(dataDir),
    ...(pgUrl ? { DATABASE_URL: pgUrl, GENJOBS_DB_SCHEMA: schema ?? `bench_${Date.now().toString(36)}` } : {}),
    ...env,
  });
  // BENCH_LOG_LEVEL=info measures the request and job log lines, written to /dev/null as they would be to stdout.
  const level = process.env.BENCH_LOG_LEVEL ?? 'silent';
  const { createLogger } = await dist('src/observability/logger.js');
  const logger = level === 'silent' ? pino({ level: 'silent' }) : createLogger(level, pino.destination({ dest: '/dev/null', sync: true }));
  const app = await createApp(config, { logger });
  await app.server.ready();
  return app;
}

/** An account with credits and an API key whose rate limit is far above what a benchmark sends. */
export async function makeAccount(store, credits = 1_000_000_000) {
  const { createUser, createApiKey } = await dist('src/accounts/admin.js');
  const user = await createUser(store, { credits });
  const { key } = await createApiKey(store, user.id, { rate_limit_per_minute: 1_000_000_000 }, { rateLimitPerMinute: 60 });
  return { userId: user.id, key, authorization: `Bearer ${key}` };
}

// ---------------------------------------------------------------- figures

/** Percentiles (nearest rank) of numbers. */
export function percentiles(values, ps = [50, 90, 99]) {
  const sorted = Float64Array.from(values).sort();
  const out = {};
  for (const p of ps) {
    out[`p${p}`] = sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }
  out.max = sorted.length ? sorted[sorted.length - 1] : NaN;
  out.mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  out.n = sorted.length;
  return out;
}

export const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(n));

/**
 * One comparison against a baseline measured in the same run. `higherIsBetter` decides the
 * direction of the goal: met when ratio >= goal (throughput) or ratio <= goal (latency, memory).
 */
export function verdict({ what, value, baseline, unit = '', goal, higherIsBetter = true }) {
  const ratio = value / baseline;
  const met = goal === undefined ? null : higherIsBetter ? ratio >= goal : ratio <= goal;
  const goalText = goal === undefined ? '' : ` (goal ${higherIsBetter ? '>=' : '<='} ${goal}: ${met ? 'met' : 'MISSED'})`;
  console.log(`  ratio ${what}: ${fmt(value, 2)}${unit} / ${fmt(baseline, 2)}${unit} = ${ratio.toFixed(3)}${goalText}`);
  return { what, value, baseline, ratio, goal, met };
}

/** Prints rows (objects) as an aligned table. */
export function table(rows, columns = Object.keys(rows[0] ?? {})) {
  const cell = (v) => (typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 2) : String(v ?? ''));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => `  ${vals.map((v, i) => v.padStart(widths[i])).join('  ')}`;
  console.log(line(columns));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}

/** A connected client of the PostgreSQL at `url` (end it when done). */
export async function pgClient(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** BENCH_PG_STATEMENTS=1: forget what the server timed so far (the seed), so the profile is of what follows alone. */
export async function resetStatements(client) {
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await client.query('SELECT pg_stat_statements_reset(), pg_stat_reset()');
}

/**
 * BENCH_PG_STATEMENTS=1: where the server's time went over `n` jobs (or requests), per job: the
 * statements (top level and those run inside functions and triggers, so a function's time is also
 * in the statements it runs) and the PL/pgSQL functions' own time.
 */
export async function printStatements(client, label, n) {
  const perJob = (ms) => ((ms * 1000) / n).toFixed(1);
  const { rows } = await client.query(`SELECT toplevel, calls, rows, total_exec_time AS ms, regexp_replace(left(query, 110), '\\s+', ' ', 'g') AS query
    FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 14`);
  console.log(`\n# server statements while ${label} ${n} jobs (µs of execution per job; calls and rows per 1,000 jobs)`);
  table(rows.map((r) => ({
    'µs/job': perJob(r.ms), 'calls/1k': (r.calls * 1000 / n).toFixed(1), 'rows/1k': (Number(r.rows) * 1000 / n).toFixed(0),
    top: r.toplevel ? 'yes' : 'no', statement: r.query,
  })));
  const fns = await client.query(`SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 8`);
  if (fns.rows.length) {
    table(fns.rows.map((r) => ({
      function: r.funcname, 'calls/1k': (r.calls * 1000 / n).toFixed(1), 'µs/job total': perJob(r.total_time), 'µs/job own': perJob(r.self_time),
    })));
  }
}

/** Writes a benchmark's figures to bench/results/NAME.json (ignored by git) for the docs. */
export function saveResults(name, data) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}${QUICK ? '-quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine: machine(), quick: QUICK, ...data }, null, 2));
  console.log(`# figures written to ${path.relative(ROOT, file)}`);
}

/** Resident memory of a process, in MiB, from /proc. */
export function rssMiB(pid = process.pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}
