#!/usr/bin/env node
// What an online backup costs a server that keeps writing, and how long backup and restore take.
// Per store: a genjobs app in this process (executor off, so every request is a charged run
// creation) seeded with BENCH_BACKUP_JOBS jobs and BENCH_BACKUP_FILES output files of 64 KiB;
// then rounds of three parts of ROUND_MS each: run creation alone (the baseline); run creation
// while `genjobs --version` runs back to back in a child process (what starting a CLI process
// costs on the same cores: the control); run creation while `genjobs backup` runs back to back
// (a worst case: a cron job runs it once a day or hour). The figures are the median ratios of the
// rounds' runs/s to the baseline, with their range; plus the median time of one backup and the
// time of one restore into an empty target.
//
//   npm run bench:backup     BENCH_QUICK=1 for short runs; BENCH_BACKUP_STORES=sqlite,postgres
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DIST, QUICK, fmt, makeAccount, makeApp, runBench, saveResults, startPg, table, tmpDir } from './lib.mjs';

const JOBS = Number(process.env.BENCH_BACKUP_JOBS ?? (QUICK ? 5_000 : 20_000));
const FILES = Number(process.env.BENCH_BACKUP_FILES ?? (QUICK ? 50 : 500));
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS ?? (QUICK ? 2 : 4));
const ROUND_MS = QUICK ? 2_000 : 5_000;
const STORES = (process.env.BENCH_BACKUP_STORES ?? 'sqlite,postgres').split(',');
const CONCURRENCY = 16;
const CLI = path.join(DIST, 'src', 'cli', 'main.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Runs `genjobs <args>` to its end; resolves with its time in seconds. */
function genjobs(args, env) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => (code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, out }) : reject(new Error(`genjobs ${args.join(' ')}: ${out}`))));
  });
}

/** Runs created per second over `ms`, CONCURRENCY requests at a time. */
async function creationRate(app, authorization, ms) {
  const run = { method: 'POST', url: '/api/v1/models/run', headers: { authorization }, payload: { model: 'bench/noop', input: {} } };
  const until = performance.now() + ms;
  const started = performance.now();
  let created = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      const res = await app.server.inject(run);
      if (res.statusCode !== 202) throw new Error(`a run failed: ${res.statusCode} ${res.body}`);
      created += 1;
    }
  }));
  return created / ((performance.now() - started) / 1000);
}

async function measure(store) {
  const dataDir = tmpDir(`backup-${store}`);
  const cluster = store === 'postgres' ? await startPg() : null;
  const schema = 'bench_backup';
  const app = await makeApp({ dataDir, pgUrl: cluster?.url ?? null, schema, env: { GENJOBS_EXECUTOR: 'false', GENJOBS_MAINTENANCE: 'false' } });
  const { authorization } = await makeAccount(app.store);
  const env = { DATA_DIR: dataDir, ...(cluster ? { DATABASE_URL: cluster.url, GENJOBS_DB_SCHEMA: schema } : {}) };
  try {
    // Seed: jobs through the API, files straight into DATA_DIR/files as executors write them.
    for (let made = 0; made < JOBS; made += CONCURRENCY * 8) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY * 8, JOBS - made) }, () => app.server.inject({
        method: 'POST', url: '/api/v1/models/run', headers: { authorization }, payload: { model: 'bench/noop', input: { prompt: 'seed' } },
      })));
    }
    for (let i = 0; i < FILES; i += 1) {
      const dir = path.join(dataDir, 'files', `seed-${i}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${randomBytes(9).toString('base64url')}.png`), randomBytes(64 * 1024));
    }
    const backups = tmpDir(`backup-${store}-out`);
    let n = 0;
    const ratios = [];
    const controlRatios = [];
    const alone = [];
    const during = [];
    const backupSeconds = [];
    let manifest = null;
    /** Runs/s while `step` runs back to back in child processes. */
    const rateWhile = async (step) => {
      let stop = false;
      const loop = (async () => { while (!stop) await step(); })();
      const rate = await creationRate(app, authorization, ROUND_MS);
      stop = true;
      await loop;
      return rate;
    };
    for (let r = 0; r < ROUNDS; r += 1) {
      alone.push(await creationRate(app, authorization, ROUND_MS));
      const control = await rateWhile(() => genjobs(['--version'], env));
      during.push(await rateWhile(async () => {
        const out = path.join(backups, `b${n++}`);
        const { seconds, out: text } = await genjobs(['backup', '--out', out], env);
        backupSeconds.push(seconds);
        manifest = JSON.parse(text);
        fs.rmSync(out, { recursive: true, force: true });
      }));
      controlRatios.push(control / alone.at(-1));
      ratios.push(during.at(-1) / alone.at(-1));
      console.log(`  ${store} round ${r + 1}: ${fmt(alone.at(-1))} runs/s alone, ${fmt(control)} beside CLI starts (${fmt(controlRatios.at(-1), 2)}), ${fmt(during.at(-1))} during backups (${fmt(ratios.at(-1), 2)})`);
    }
    // One more backup, restored into an empty data directory (and database).
    const last = path.join(backups, 'restore-from');
    await genjobs(['backup', '--out', last], env);
    const target = { DATA_DIR: tmpDir(`backup-${store}-restored`) };
    if (cluster) {
      const admin = new pg.Client(cluster.url);
      await admin.connect();
      await admin.query('CREATE DATABASE restored');
      await admin.end();
      Object.assign(target, { DATABASE_URL: cluster.url.replace(/\/postgres$/, '/restored'), GENJOBS_DB_SCHEMA: schema });
    }
    const restore = await genjobs(['restore', '--from', last], target);
    return {
      store, jobs: manifest.counts.jobs, db_mib: manifest.database.bytes / 2 ** 20, files_mib: manifest.files.bytes / 2 ** 20,
      backups: backupSeconds.length, backup_s_median: median(backupSeconds), restore_s: restore.seconds,
      runs_per_s_alone: median(alone), runs_per_s_during: median(during),
      control_ratio: median(controlRatios),
      ratio_median: median(ratios), ratio_min: Math.min(...ratios), ratio_max: Math.max(...ratios),
    };
  } finally {
    await app.close();
  }
}

await runBench('bench:backup', 30 * 60_000, async () => {
  console.log(`# ${JOBS} jobs and ${FILES} files of 64 KiB per store; ${ROUNDS} rounds of ${ROUND_MS / 1000} s alone, beside back-to-back \`genjobs --version\`, and beside back-to-back backups`);
  const rows = [];
  for (const store of STORES) rows.push(await measure(store));
  table(rows);
  saveResults('backup', { jobs: JOBS, files: FILES, rounds: ROUNDS, roundMs: ROUND_MS, rows });
});
