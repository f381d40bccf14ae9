#!/usr/bin/env node
// HTTP benchmark: GET /api/v1/jobs/:id and POST /api/v1/models/run (asynchronous local/test),
// authenticated and rate-limit-checked as in production (a limit far above what is sent),
// driven by autocannon against a `genjobs serve`-like process (createApp + listen, executor on),
// on SQLite and on PostgreSQL, with a bare Fastify hello-world server measured in the same run
// as the baseline. Each server runs in a child process; autocannon runs here.
//
//   npm run bench:http                  BENCH_QUICK=1 for short runs; BENCH_PROFILE=1 writes
//                                       CPU profiles of the servers to bench/profiles/
//   BENCH_HTTP_STORES=sqlite            only one store; BENCH_HTTP_CASES=get,get-live,post: which cases
//                                       (get: a finished job; get-live: a running one, read from the store)
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUICK, freePort, fmt, makeAccount, makeApp, runBench, saveResults, spawnNode, startPg, table, tmpDir, verdict,
} from './lib.mjs';

const SELF = import.meta.filename;
const DURATION = Number(process.env.BENCH_HTTP_DURATION ?? (QUICK ? 3 : 10));
const WARMUP = QUICK ? 1 : 3;
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);

// ------------------------------------------------------------------ child: the server under test

async function serve(kind, pgUrl) {
  // Orphaned (the benchmark died): go too.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const port = await freePort();
  if (kind === 'bare') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    app.get('/', async () => ({ hello: 'world' }));
    app.post('/', async (request) => ({ hello: 'world', got: request.body }));
    await app.listen({ port, host: '127.0.0.1' });
    process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
    process.send({ port });
    return;
  }
  const dataDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'genjobs-bench-http-'));
  const app = await makeApp({
    dataDir, pgUrl: kind === 'postgres' ? pgUrl : null, schema: `bench_http_${process.pid}`,
    env: { PORT: String(port) },
  });
  await app.listen();
  const account = await makeAccount(app.store);
  // The job that GET polls: a finished run, as most polls of a busy account find.
  const created = await app.server.inject({
    method: 'POST', url: '/api/v1/models/run', headers: { authorization: account.authorization },
    payload: { model: 'local/test', input: {} },
  });
  const jobId = created.json().id;
  for (let i = 0; i < 200; i++) {
    const r = await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}`, headers: { authorization: account.authorization } });
    if (r.json().status === 'completed') break;
    await sleep(25);
  }
  // A job still running for the whole benchmark: not final, so every GET reads it from the store.
  const live = await app.server.inject({
    method: 'POST', url: '/api/v1/models/run', headers: { authorization: account.authorization },
    payload: { model: 'local/test', input: { duration_ms: 600_000 } },
  });
  if (live.statusCode !== 202) throw new Error(`the running job was refused: ${live.body}`);
  const liveJobId = live.json().id;
  process.once('SIGTERM', () => {
    void app.close().finally(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  process.send({ port, authorization: account.authorization, jobId, liveJobId });
}

// ------------------------------------------------------------------ parent: autocannon

async function cannon(opts) {
  const { default: autocannon } = await import('autocannon');
  const run = (duration) => new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, pipelining: 1, duration, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  await run(WARMUP);
  const r = await run(DURATION);
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) throw new Error(`${opts.title}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts out of ${r.requests.total}`);
  return {
    title: opts.title,
    'req/s': r.requests.average,
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    requests: r.requests.total,
  };
}

async function main() {
  const stores = (process.env.BENCH_HTTP_STORES ?? 'sqlite,postgres').split(',');
  const pg = stores.includes('postgres') ? await startPg() : null;
  console.log(`# autocannon: ${CONNECTIONS} connections, ${WARMUP} s warm-up then ${DURATION} s measured, per case`);
  const rows = [];

  // The bare server stays up, idle while genjobs is measured: its GET is measured again right
  // before each genjobs case, and each ratio is taken against that adjacent figure, so that a
  // busy minute on the shared machine weighs on both sides of a ratio alike.
  const bare = spawnNode(SELF, ['--serve', 'bare'], { profileName: 'http-bare' });
  const { port: barePort } = await bare.ready;
  const bareGetNow = (before) => cannon({ title: `bare fastify GET / (before ${before})`, url: `http://127.0.0.1:${barePort}/` });
  const bareGet = await cannon({ title: 'bare fastify GET /', url: `http://127.0.0.1:${barePort}/` });
  const barePost = await cannon({
    title: 'bare fastify POST / (json)', url: `http://127.0.0.1:${barePort}/`, method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'local/test', input: {} }),
  });
  rows.push(bareGet, barePost);

  const ratios = [];
  for (const store of stores) {
    const server = spawnNode(SELF, ['--serve', store, pg?.url ?? ''], { profileName: `http-${store}` });
    const { port, authorization, jobId, liveJobId } = await server.ready;
    const cases = (process.env.BENCH_HTTP_CASES ?? 'get,get-live,post').split(',');
    const getBase = !cases.includes('get') ? null : await bareGetNow(`${store} GET`);
    const get = !cases.includes('get') ? null : await cannon({
      title: `genjobs ${store} GET /api/v1/jobs/:id`, url: `http://127.0.0.1:${port}/api/v1/jobs/${jobId}`, headers: { authorization },
    });
    // Not a goal of its own: what a GET costs when the job must be read from the store.
    const getLive = !cases.includes('get-live') ? null : await cannon({
      title: `genjobs ${store} GET /api/v1/jobs/:id (running job)`, url: `http://127.0.0.1:${port}/api/v1/jobs/${liveJobId}`, headers: { authorization },
    });
    const postBase = !cases.includes('post') ? null : await bareGetNow(`${store} POST`);
    const post = !cases.includes('post') ? null : await cannon({
      title: `genjobs ${store} POST /api/v1/models/run`, url: `http://127.0.0.1:${port}/api/v1/models/run`, method: 'POST',
      headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'local/test', input: {} }),
    });
    rows.push(...[getBase, get, getLive, postBase, post].filter(Boolean));
    await server.stop();
    ratios.push({ store, get, getLive, post, getBase, postBase });
  }
  await bare.stop();

  console.log('\n## HTTP');
  table(rows, ['title', 'req/s', 'p50 ms', 'p99 ms', 'requests']);
  console.log('');
  const verdicts = [];
  for (const { store, get, getLive, post, getBase, postBase } of ratios) {
    if (get) verdicts.push({ store, ...verdict({ what: `${store} GET job vs bare GET just before`, value: get['req/s'], baseline: getBase['req/s'], unit: ' req/s', goal: 0.6 }) });
    if (getLive) verdict({ what: `${store} GET running job (store read) vs bare GET`, value: getLive['req/s'], baseline: (getBase ?? postBase ?? bareGet)['req/s'], unit: ' req/s' });
    if (!post) continue;
    verdicts.push({ store, ...verdict({ what: `${store} run creation vs bare GET just before`, value: post['req/s'], baseline: postBase['req/s'], unit: ' req/s', goal: 0.3 }) });
    verdict({ what: `${store} run creation vs bare POST (context)`, value: post['req/s'], baseline: barePost['req/s'], unit: ' req/s' });
  }
  saveResults('http', { connections: CONNECTIONS, durationS: DURATION, rows, verdicts });
  console.log(`\n# figures are requests per second (mean over ${DURATION} s); ${fmt(CONNECTIONS)} connections`);
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  await runBench('bench:http', 10 * 60_000, main);
}
