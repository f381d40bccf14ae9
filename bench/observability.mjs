#!/usr/bin/env node
// What the request log and the HTTP metrics cost, in CPU time per request (process.cpuUsage, so
// other processes on a busy machine weigh far less than on req/s): GET /api/v1/jobs/:id of a
// finished job through app.server.inject, on SQLite, with the logs silent (the baseline) and
// at info (one request line per GET, written to /dev/null), in alternating rounds in one
// process; plus the shares of its parts timed alone: one request line (child logger and info
// call) and the counter and histogram updates of a request.
//
//   npm run bench:observability     BENCH_QUICK=1 for short runs; BENCH_OBS_ROUNDS=7, BENCH_OBS_REQUESTS=3000
import { setTimeout as sleep } from 'node:timers/promises';
import { QUICK, dist, makeAccount, makeApp, runBench, saveResults, table, tmpDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_OBS_ROUNDS ?? (QUICK ? 3 : 7));
const REQUESTS = Number(process.env.BENCH_OBS_REQUESTS ?? (QUICK ? 1000 : 3000));
const CONCURRENCY = 16;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function variant(level) {
  process.env.BENCH_LOG_LEVEL = level;
  const app = await makeApp({ dataDir: tmpDir(`obs-${level}`) });
  app.startBackground();
  const { authorization } = await makeAccount(app.store);
  const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: { authorization }, payload: { model: 'local/test', input: {} } });
  const id = run.json().id;
  for (let i = 0; i < 400; i++) {
    if ((await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: { authorization } })).json().status === 'completed') break;
    await sleep(25);
  }
  const get = { method: 'GET', url: `/api/v1/jobs/${id}`, headers: { authorization } };
  return { level, app, get };
}

/** CPU microseconds per request over `REQUESTS` GETs, CONCURRENCY at a time. */
async function round(v) {
  const start = process.cpuUsage();
  for (let done = 0; done < REQUESTS; done += CONCURRENCY) {
    const answers = await Promise.all(Array.from({ length: CONCURRENCY }, () => v.app.server.inject(v.get)));
    if (answers.some((a) => a.statusCode !== 200)) throw new Error(`a GET failed: ${answers.find((a) => a.statusCode !== 200).body}`);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / REQUESTS;
}

async function metricsShare() {
  const { Metrics } = await dist('src/observability/metrics.js');
  const m = new Metrics({ processMetrics: false });
  const n = 200_000;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    m.httpRequests.inc({ method: 'GET', route: '/api/v1/jobs/:id', status: 200 });
    m.httpDuration.observe({ method: 'GET', route: '/api/v1/jobs/:id' }, 0.0004);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

/** CPU microseconds of one request line alone: a request-bound child logger at info writing to /dev/null. */
async function logLineShare() {
  const { createLogger } = await dist('src/observability/logger.js');
  const { default: pino } = await import('pino');
  const logger = createLogger('info', pino.destination({ dest: '/dev/null', sync: true }));
  const n = 100_000;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    logger.child({ reqId: `0190f0e4-8c1a-7b3e-9d2f-${String(i).padStart(12, '0')}` }).info({
      method: 'GET', route: '/api/v1/jobs/:id', path: '/api/v1/jobs/0190f0e4-8c1a-7b3e-9d2f-4a5b6c7d8e9f', status: 200, ms: 0.42, accountId: '0190f0e4-0000-7b3e-9d2f-4a5b6c7d8e9f',
    }, 'request');
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

await runBench('bench:observability', 15 * 60_000, async () => {
  const silent = await variant('silent');
  const info = await variant('info');
  for (const v of [silent, info]) await round(v); // warm-up
  const rows = { silent: [], info: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const v of i % 2 === 0 ? [silent, info] : [info, silent]) rows[v.level].push(await round(v));
  }
  const ratios = rows.info.map((x, i) => x / rows.silent[i]);
  const metricsUs = await metricsShare();
  const logUs = await logLineShare();
  const result = [
    { case: 'GET /api/v1/jobs/:id, logs silent (baseline)', 'cpu µs/request': median(rows.silent), ratio: 1 },
    { case: 'GET /api/v1/jobs/:id, request log at info', 'cpu µs/request': median(rows.info), ratio: median(ratios) },
    { case: 'one request line alone (child logger + info, to /dev/null)', 'cpu µs/request': logUs, ratio: logUs / median(rows.silent) },
    { case: 'HTTP metrics of one request (counter + histogram)', 'cpu µs/request': metricsUs, ratio: metricsUs / median(rows.silent) },
  ];
  console.log(`\n## CPU per request (medians of ${ROUNDS} rounds of ${REQUESTS} GETs, ${CONCURRENCY} at a time; ratio: to the baseline, per round)`);
  table(result.map((r) => ({ ...r, 'cpu µs/request': r['cpu µs/request'].toFixed(1), ratio: r.ratio.toFixed(3) })));
  console.log(`  info/silent ratio per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
  saveResults('observability', { rounds: rows, ratios, metricsUs, logUs });
  for (const v of [silent, info]) await v.app.close();
});
