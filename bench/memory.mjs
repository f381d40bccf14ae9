#!/usr/bin/env node
// Memory benchmark: resident memory of one genjobs server (createApp + listen, executor with
// concurrency 10,000) before, while 10,000 slow jobs (local/test, duration_ms 20000) are
// processing at once, and after they have finished and a full GC has run; twice, so growth left
// behind by a round shows as a second "after" above the first. On SQLite and on PostgreSQL.
// The server runs in a child process started with --expose-gc; the runs are created in it
// through the run use case (the code POST /models/run calls), so all 10,000 are processing
// within seconds; RSS is read from /proc/PID/status here, every 200 ms.
//
//   npm run bench:memory     BENCH_QUICK=1: 2,000 jobs of 5 s; BENCH_MEMORY_STORES=sqlite
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUICK, dist, fmt, makeAccount, makeApp, rssMiB, runBench, saveResults, spawnNode, startPg, table, verdict,
} from './lib.mjs';

const SELF = import.meta.filename;
const JOBS = Number(process.env.BENCH_MEMORY_JOBS ?? (QUICK ? 2_000 : 10_000));
const DURATION_MS = Number(process.env.BENCH_MEMORY_DURATION_MS ?? (QUICK ? 5_000 : 20_000));
const ROUNDS = 2;

// ------------------------------------------------------------------ child: the server

async function serve(store, pgUrl) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-memory-'));
  const app = await makeApp({
    dataDir, pgUrl: store === 'postgres' ? pgUrl : null, schema: `bench_memory_${process.pid}`,
    env: { GENJOBS_EXECUTOR_CONCURRENCY: String(Math.max(JOBS, 16)), PORT: '0' },
  });
  await app.listen();
  const { runModel } = await dist('src/runs/run-model.js');
  const account = await makeAccount(app.store);
  const user = await app.store.userGetById({ id: account.userId });
  let finished = 0;
  // Counts the executor's own notices (full job records); on PostgreSQL, NOTIFY repeats each one as a bare notice.
  app.events.onChanged((n) => { if ((n.status === 'completed' || n.status === 'failed') && 'userId' in n) finished++; });
  const mem = () => {
    const m = process.memoryUsage();
    const mib = (b) => b / 2 ** 20;
    return { rss: mib(m.rss), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) };
  };
  const commands = {
    async gc() {
      for (let i = 0; i < 3; i++) {
        global.gc();
        await sleep(100);
      }
      return mem();
    },
    async mem() { return mem(); },
    async status() { return { running: app.executor.runningCount, finished }; },
    async submit({ n, durationMs }) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        await runModel(app.runs, user, { model: 'local/test', input: { duration_ms: durationMs } });
        if (i % 200 === 199) await sleep(0); // let the executor claim as the runs arrive, as it would under HTTP
      }
      return { seconds: (performance.now() - t0) / 1000 };
    },
  };
  process.on('message', (msg) => {
    commands[msg.cmd](msg.args).then((result) => process.send({ id: msg.id, result }), (err) => process.send({ id: msg.id, error: String(err?.stack ?? err) }));
  });
  process.once('SIGTERM', () => {
    void app.close().finally(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  process.send({ ready: true });
}

// ------------------------------------------------------------------ parent

function rpc(child) {
  let next = 0;
  const waiting = new Map();
  child.on('message', (msg) => {
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(msg.error));
    else w.resolve(msg.result);
  });
  return (cmd, args) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    child.send({ id, cmd, args });
  });
}

async function measure(store, pgUrl) {
  const server = spawnNode(SELF, ['--serve', store, pgUrl ?? ''], { nodeFlags: ['--expose-gc'], profileName: `memory-${store}` });
  await server.ready;
  const call = rpc(server.child);
  const pid = server.child.pid;
  // Warm-up: the code paths once, so compiled code and caches are in "before".
  await call('submit', { n: 200, durationMs: 0 });
  for (let s; (s = await call('status')).finished < 200;) await sleep(50);
  const before = await call('gc');
  before.rssProc = rssMiB(pid);
  const rounds = [];
  let finishedBefore = 200;
  for (let round = 1; round <= ROUNDS; round++) {
    let peak = 0;
    let maxRunning = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(pid)); }, 200);
    const t0 = performance.now();
    const { seconds: submitS } = await call('submit', { n: JOBS, durationMs: DURATION_MS });
    let atPeak = null;
    for (;;) {
      const s = await call('status');
      if (s.running > maxRunning) {
        maxRunning = s.running;
        atPeak = await call('mem');
      }
      if (s.finished - finishedBefore >= JOBS && s.running === 0) break;
      if (performance.now() - t0 > DURATION_MS + 180_000) throw new Error(`round ${round}: only ${s.finished - finishedBefore} of ${JOBS} finished`);
      await sleep(200);
    }
    clearInterval(sampler);
    finishedBefore += JOBS;
    const wallS = (performance.now() - t0) / 1000;
    const after = await call('gc');
    after.rssProc = rssMiB(pid);
    rounds.push({ round, submitS, wallS, maxRunning, peakRss: peak, atPeak, after });
  }
  await server.stop();
  return { store, before, rounds };
}

async function main() {
  const stores = (process.env.BENCH_MEMORY_STORES ?? 'sqlite,postgres').split(',');
  const pg = stores.includes('postgres') ? await startPg() : null;
  console.log(`# ${fmt(JOBS)} runs of local/test with duration_ms ${DURATION_MS}, executor concurrency ${fmt(Math.max(JOBS, 16))}; ${ROUNDS} rounds; MiB`);
  const results = [];
  const verdicts = [];
  for (const store of stores) {
    const r = await measure(store, pg?.url);
    results.push(r);
    console.log(`\n## ${store}`);
    const rows = [{ moment: 'before (after warm-up + GC)', rss: r.before.rssProc, heapUsed: r.before.heapUsed, external: r.before.external, running: 0 }];
    for (const x of r.rounds) {
      rows.push({ moment: `round ${x.round}: peak while processing`, rss: x.peakRss, heapUsed: x.atPeak?.heapUsed ?? NaN, external: x.atPeak?.external ?? NaN, running: x.maxRunning });
      rows.push({ moment: `round ${x.round}: after finish + GC`, rss: x.after.rssProc, heapUsed: x.after.heapUsed, external: x.after.external, running: 0 });
    }
    table(rows);
    console.log(`  submit took ${r.rounds.map((x) => `${x.submitS.toFixed(1)} s`).join(', ')}; each round ${r.rounds.map((x) => `${x.wallS.toFixed(1)} s`).join(', ')}`);
    const [r1, r2] = r.rounds;
    verdicts.push({ store, ...verdict({ what: `${store} heap after round 2 vs before`, value: r2.after.heapUsed, baseline: r.before.heapUsed, unit: ' MiB', goal: 1.1, higherIsBetter: false }) });
    verdict({ what: `${store} heap after round 2 vs after round 1 (growth per round)`, value: r2.after.heapUsed, baseline: r1.after.heapUsed, unit: ' MiB' });
    verdict({ what: `${store} RSS after round 2 vs after round 1 (context)`, value: r2.after.rssProc, baseline: r1.after.rssProc, unit: ' MiB' });
    verdict({ what: `${store} RSS at peak vs before (context)`, value: r1.peakRss, baseline: r.before.rssProc, unit: ' MiB' });
  }
  saveResults('memory', { jobs: JOBS, durationMs: DURATION_MS, rounds: ROUNDS, results, verdicts });
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  await runBench('bench:memory', 10 * 60_000, main);
}
