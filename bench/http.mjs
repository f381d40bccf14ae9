#!/usr/bin/env node
// HTTP benchmark: GET /api/v1/jobs/:id and POST /api/v1/models/run (asynchronous local/test),
// authenticated and rate-limit-checked as in production (a limit far above what is sent),
// driven by autocannon against a `genjobs serve`-like process (createApp + listen, executor on),
// on SQLite and on PostgreSQL, against a bare Fastify hello-world server measured in pairs with
// each case (rounds of bare, then the case; the median ratio of the rounds). Each server runs
// in a child process; autocannon runs here.
//
//   npm run bench:http                  BENCH_QUICK=1 for short runs; BENCH_PROFILE=1 writes
//                                       CPU profiles of the servers to bench/profiles/
//   BENCH_HTTP_STORES=sqlite            only one store; sqlite+log or postgres+log: that store with its
//                                       request and job logs on at info (written to /dev/null)
//   BENCH_HTTP_CASES=get,get-file,get-live,post  which cases
//                                       (get: a finished job; get-file: a finished job with an output
//                                       file, linked at read time; get-live: a running one, read from the store)
//   BENCH_HTTP_ROUNDS=5, BENCH_HTTP_DURATION=4   rounds per case and seconds per side of a round
//   BENCH_PG_STATEMENTS=1               the PostgreSQL cases print the server's time per request by statement
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PG_STATEMENTS, QUICK, freePort, makeAccount, makeApp, pgClient, printStatements, resetStatements, runBench, saveResults, spawnNode, startPg, table,
} from './lib.mjs';

const SELF = import.meta.filename;
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? (QUICK ? 2 : 5));
const ROUND_S = Number(process.env.BENCH_HTTP_DURATION ?? (QUICK ? 2 : 4));
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
  // A finished job whose output is a stored file (local/image, synchronous): its GET renders the
  // file's reference to this process's link (the same job without a file pays nothing for it).
  const withFile = await app.server.inject({
    method: 'POST', url: '/api/v1/models/run', headers: { authorization: account.authorization },
    payload: { model: 'local/image', input: { prompt: 'a lighthouse' } },
  });
  if (withFile.statusCode !== 200) throw new Error(`the image run did not finish: ${withFile.body}`);
  const fileJobId = withFile.json().id;
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
  process.send({ port, authorization: account.authorization, jobId, liveJobId, fileJobId });
}

// ------------------------------------------------------------------ parent: autocannon

async function autocannonRun(opts, duration) {
  const { default: autocannon } = await import('autocannon');
  const r = await new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, pipelining: 1, duration, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) throw new Error(`${opts.title}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts out of ${r.requests.total}`);
  return r;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * A case measured against the bare server in pairs: after a warm-up of both, ROUNDS rounds of
 * (bare GET, then the case), ROUND_S seconds each. The case's ratio is the median of the
 * rounds' ratios, so a slow minute of the shared machine weighs on both sides of a ratio
 * alike; its req/s is the median of its rounds.
 */
async function paired(bare, opts, settle = async () => {}) {
  await autocannonRun(bare, WARMUP);
  await autocannonRun(opts, WARMUP);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    await settle();
    const base = await autocannonRun(bare, ROUND_S);
    const r = await autocannonRun(opts, ROUND_S);
    rounds.push({ bare: base.requests.average, value: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total });
  }
  const ratios = rounds.map((r) => r.value / r.bare);
  return {
    title: opts.title,
    'req/s': median(rounds.map((r) => r.value)),
    'bare req/s': median(rounds.map((r) => r.bare)),
    ratio: median(ratios),
    'ratio min': Math.min(...ratios),
    'ratio max': Math.max(...ratios),
    'p50 ms': median(rounds.map((r) => r.p50)),
    'p99 ms': median(rounds.map((r) => r.p99)),
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    rounds,
  };
}

async function main() {
  const stores = (process.env.BENCH_HTTP_STORES ?? 'sqlite,postgres').split(',');
  const cases = (process.env.BENCH_HTTP_CASES ?? 'get,get-file,get-live,post').split(',');
  const pg = stores.some((s) => s.startsWith('postgres')) ? await startPg() : null;
  console.log(`# autocannon: ${CONNECTIONS} connections; per case ${WARMUP} s warm-up, then ${ROUNDS} rounds of ${ROUND_S} s bare GET + ${ROUND_S} s the case`);

  // The bare server stays up, idle while genjobs is measured.
  const bareServer = spawnNode(SELF, ['--serve', 'bare'], { profileName: 'http-bare' });
  const { port: barePort } = await bareServer.ready;
  const bare = { title: 'bare fastify GET /', url: `http://127.0.0.1:${barePort}/` };
  const barePost = {
    title: 'bare fastify POST / (json)', url: `http://127.0.0.1:${barePort}/`, method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'local/test', input: {} }),
  };
  const rows = [await paired(bare, barePost)];

  const goals = { get: 0.6, post: 0.3 };
  const verdicts = [];
  for (const store of stores) {
    // `sqlite+log` / `postgres+log`: the same server writing its request and job logs at info (to /dev/null).
    const [kind, logged] = store.split('+');
    const server = spawnNode(SELF, ['--serve', kind, pg?.url ?? ''], { profileName: `http-${store}`, env: logged === 'log' ? { BENCH_LOG_LEVEL: 'info' } : {} });
    const { port, authorization, jobId, liveJobId, fileJobId } = await server.ready;
    const base = `http://127.0.0.1:${port}/api/v1`;
    const all = {
      get: { title: `genjobs ${store} GET /api/v1/jobs/:id`, url: `${base}/jobs/${jobId}`, headers: { authorization } },
      // A finished job with a file in its output: the link is made at read time (compare with get).
      'get-file': { title: `genjobs ${store} GET /api/v1/jobs/:id (output file)`, url: `${base}/jobs/${fileJobId}`, headers: { authorization } },
      // Not a goal of its own: what a GET costs when the job must be read from the store.
      'get-live': { title: `genjobs ${store} GET /api/v1/jobs/:id (running job)`, url: `${base}/jobs/${liveJobId}`, headers: { authorization } },
      post: {
        title: `genjobs ${store} POST /api/v1/models/run`, url: `${base}/models/run`, method: 'POST',
        headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'local/test', input: {} }),
      },
    };
    // Runs created in a round are still being executed after it: the bare round waits until the
    // queue is empty, so that it does not share the CPU with genjobs' executor.
    const drained = async () => {
      for (const until = Date.now() + 120_000; Date.now() < until; await sleep(100)) {
        const r = await fetch(`${base}/jobs?status=pending&limit=1`, { headers: { authorization } });
        if (r.status !== 200) throw new Error(`listing pending jobs: ${r.status}`);
        if ((await r.json()).data.length === 0) return;
      }
      throw new Error('the queue did not drain within 2 minutes');
    };
    // BENCH_PG_STATEMENTS=1: the server's time per request of each PostgreSQL case, by statement.
    const profiler = PG_STATEMENTS && kind === 'postgres' ? await pgClient(pg.url) : null;
    for (const name of cases) {
      if (profiler) await resetStatements(profiler);
      const row = await paired(bare, all[name], name === 'post' ? drained : undefined);
      if (profiler) await printStatements(profiler, `${store} ${name} answered`, row.requests);
      rows.push(row);
      verdicts.push({ store, case: name, ratio: row.ratio, goal: goals[name] ?? null, met: goals[name] === undefined ? null : row.ratio >= goals[name] });
    }
    await profiler?.end();
    await server.stop();
  }
  await bareServer.stop();

  console.log('\n## HTTP (medians over the rounds; ratio = the case / bare GET in the same round)');
  table(rows, ['title', 'req/s', 'bare req/s', 'ratio', 'ratio min', 'ratio max', 'p50 ms', 'p99 ms', 'requests']);
  console.log('');
  for (const v of verdicts) {
    const goal = v.goal === null ? '' : ` (goal >= ${v.goal}: ${v.met ? 'met' : 'MISSED'})`;
    console.log(`  ratio ${v.store} ${v.case} vs bare GET: ${v.ratio.toFixed(3)}${goal}`);
  }
  saveResults('http', { connections: CONNECTIONS, rounds: ROUNDS, roundS: ROUND_S, rows, verdicts });
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  await runBench('bench:http', 10 * 60_000, main);
}
