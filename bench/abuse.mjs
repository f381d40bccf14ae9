#!/usr/bin/env node
// Abuse benchmark: what one heavy job, a pile of idle sockets or many event streams cost everyone
// else. A genjobs server (createApp + listen, SQLite, executor on) runs in a child process; the
// load and the probes run here. Each case measures the latency of sequential probe requests
// (GET /healthz and GET /api/v1/jobs/:id of a running job) under the load, against the same
// probes on the idle server measured just before in the same run, and prints both and the ratio.
//
//   1. CPU:     N upscales of the largest picture local/upscale accepts (1024x1024 at scale 4, a
//               4096x4096 output) run while the probes go on; goal: p99 of both under 50 ms.
//   2. sockets: N sockets each send an unfinished request head and nothing more; a normal request
//               goes on meanwhile, and the time until the server has closed each socket is measured
//               (GENJOBS_HEADERS_TIMEOUT_MS, 10 s by default).
//   3. streams: N account event streams (GET /api/v1/jobs/events) of one account stay open while
//               jobs are created and finish; /healthz latency and the server's CPU time against the
//               same job traffic with no stream open. One stream past GENJOBS_STREAMS_MAX is refused.
//
//   npm run bench:abuse                 BENCH_QUICK=1 for small counts
//   BENCH_ABUSE_CASES=cpu,sockets,streams   which cases
//   BENCH_ABUSE_UPSCALES=10, BENCH_ABUSE_SOCKETS=5000, BENCH_ABUSE_STREAMS=2000   the loads
//   BENCH_ABUSE_SMOKE=1                 tiny counts and a small picture: the form `npm test` runs
//                                       (test/bench-abuse.test.ts), which checks the cases work, not their figures
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUICK, dist, fmt, freePort, makeAccount, makeApp, percentiles, runBench, saveResults, spawnNode, table,
} from './lib.mjs';

const SELF = import.meta.filename;
const SMOKE = process.env.BENCH_ABUSE_SMOKE === '1';
const SMALL = QUICK || SMOKE;
const CASES = (process.env.BENCH_ABUSE_CASES ?? 'cpu,sockets,streams').split(',');
const UPSCALES = Number(process.env.BENCH_ABUSE_UPSCALES ?? (SMOKE ? 2 : QUICK ? 3 : 10));
const SOCKETS = Number(process.env.BENCH_ABUSE_SOCKETS ?? (SMOKE ? 100 : QUICK ? 500 : 5_000));
const STREAMS = Number(process.env.BENCH_ABUSE_STREAMS ?? (SMOKE ? 30 : QUICK ? 200 : 2_000));
/** Side of the input picture: 1024 is the largest local/upscale takes at scale 4. */
const SIDE = SMOKE ? 128 : 1024;
/** Seconds of each probe window. */
const WINDOW_S = SMOKE ? 0.5 : QUICK ? 2 : 5;
/** The head timeout the server runs with (its default unless the smoke form shortens it). */
const HEAD_TIMEOUT_MS = SMOKE ? 1_000 : 10_000;

// ------------------------------------------------------------------ child: the server under test

async function serve() {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'genjobs-bench-abuse-'));
  const app = await makeApp({
    dataDir,
    env: {
      PORT: String(port),
      // Runs answer 202 at once; the probes read the jobs.
      GENJOBS_SYNC_WAIT_MS: '0',
      GENJOBS_HEADERS_TIMEOUT_MS: String(HEAD_TIMEOUT_MS),
      // One account holds every stream of case 3; the process cap is the stream count.
      GENJOBS_STREAMS_PER_KEY: String(STREAMS + 10),
      GENJOBS_STREAMS_MAX: String(STREAMS),
      GENJOBS_SHUTDOWN_GRACE_MS: '0',
    },
  });
  await app.listen();
  const account = await makeAccount(app.store);
  const { renderPng } = await dist('src/providers/builtin/media/png.js');
  const { LocalFileStorage } = await dist('src/files/local-storage.js');
  const picture = renderPng({ prompt: 'a harbour at night with many small lights', width: SIDE, height: SIDE });
  const stored = await new LocalFileStorage(app.config.dataDir).put({ jobId: 'bench-input', extension: 'png', source: picture, limit: picture.length });
  const image = `${app.config.publicUrl}/files/${stored.key}`;
  // The job the probes GET: running for the whole benchmark, so every GET reads the store.
  const live = await app.server.inject({
    method: 'POST', url: '/api/v1/models/run', headers: { authorization: account.authorization },
    payload: { model: 'local/test', input: { duration_ms: 600_000 } },
  });
  if (live.statusCode !== 202) throw new Error(`the running job was refused: ${live.body}`);
  process.once('SIGTERM', () => {
    void app.close().finally(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  // The parent asks for the event loop's delay over each window (a blocked loop shows here, whatever the cause).
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  process.on('message', (m) => {
    if (m !== 'lag') return;
    process.send({ lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 });
    lag.reset();
  });
  process.send({ port, authorization: account.authorization, image, jobId: live.json().id, mediaThreads: app.config.mediaThreads });
}

// ------------------------------------------------------------------ parent: load and probes

let server;

/** One request on `agent`; resolves with status, body and milliseconds. */
function request(method, url, { agent, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(`http://127.0.0.1:${server.port}${url}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text, headers: res.headers, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sequential probes of /healthz and GET /jobs/:id, each on its own kept-alive connection, until
 * `until` resolves (or for `seconds`). Every probe must answer 200.
 */
async function probe({ seconds, until }) {
  const stop = until ?? sleep(seconds * 1000);
  let done = false;
  void stop.then(() => { done = true; });
  const loop = async (url, headers) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ms = [];
    while (!done) {
      const r = await request('GET', url, { agent, headers });
      if (r.status !== 200) throw new Error(`probe ${url} answered ${r.status}: ${r.body}`);
      ms.push(r.ms);
      await sleep(2);
    }
    agent.destroy();
    return ms;
  };
  const [health, job] = await Promise.all([
    loop('/healthz', {}),
    loop(`/api/v1/jobs/${server.jobId}`, { authorization: server.authorization }),
  ]);
  return { health: percentiles(health), job: percentiles(job) };
}

/** CPU seconds the server process has used so far (user + system), from /proc. */
function serverCpu() {
  const fields = fs.readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function row(label, p) {
  return { case: label, n: p.n, 'p50 ms': p.p50, 'p99 ms': p.p99, 'max ms': p.max };
}

async function runModel(model, input) {
  const r = await request('POST', '/api/v1/models/run', {
    headers: { authorization: server.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input }),
  });
  if (r.status !== 202 && r.status !== 200) throw new Error(`run ${model} answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body).id;
}

async function statusOf(id) {
  const r = await request('GET', `/api/v1/jobs/${id}`, { headers: { authorization: server.authorization } });
  return JSON.parse(r.body).status;
}

// ---- case 1: CPU-heavy jobs

async function cpuCase() {
  console.log(`\n## 1. ${UPSCALES} upscales of a ${SIDE}x${SIDE} picture at scale 4 (media threads: ${server.mediaThreads})`);
  const idle = await probe({ seconds: WINDOW_S });
  const ids = [];
  for (let i = 0; i < UPSCALES; i++) ids.push(await runModel('local/upscale', { image_url: server.image, scale: 4 }));
  const started = performance.now();
  const finished = (async () => {
    for (;;) {
      const statuses = await Promise.all(ids.map(statusOf));
      if (statuses.every((s) => s === 'completed' || s === 'failed' || s === 'cancelled')) return statuses;
      await sleep(250);
    }
  })();
  const loaded = await probe({ until: finished });
  const statuses = await finished;
  const seconds = (performance.now() - started) / 1000;
  const failed = [];
  for (const [i, id] of ids.entries()) {
    if (statuses[i] === 'completed') continue;
    failed.push(JSON.parse((await request('GET', `/api/v1/jobs/${id}`, { headers: { authorization: server.authorization } })).body).error_message);
  }
  // On a machine shared with other work an upscale may take long enough that one waiting for the
  // thread reaches the model's timeout_ms: told, not hidden; the smoke form wants them all done.
  if (failed.length > 0) {
    console.log(`  ${failed.length} of ${UPSCALES} upscales did not complete: ${[...new Set(failed)].join('; ')}`);
    if (SMOKE) throw new Error('upscales failed');
  }
  table([row('healthz, idle', idle.health), row('healthz, upscales', loaded.health), row('GET job, idle', idle.job), row('GET job, upscales', loaded.job)]);
  console.log(`  ${UPSCALES} upscales took ${fmt(seconds, 1)} s; p99 under load / idle: healthz ${fmt(loaded.health.p99 / idle.health.p99, 2)}, GET job ${fmt(loaded.job.p99 / idle.job.p99, 2)}; goal p99 < 50 ms: ${loaded.health.p99 < 50 && loaded.job.p99 < 50 ? 'met' : 'MISSED'}`);
  return { upscales: UPSCALES, side: SIDE, seconds, failed, idle, loaded };
}

// ---- case 2: idle half-open sockets

async function socketsCase() {
  console.log(`\n## 2. ${fmt(SOCKETS)} sockets holding an unfinished request head (head timeout ${HEAD_TIMEOUT_MS} ms)`);
  const idle = await probe({ seconds: WINDOW_S });
  const lifetimes = [];
  const closedAll = [];
  const open = (i) => new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    const opened = performance.now();
    s.on('error', () => { /* a reset is a close too */ });
    // Read (and drop) the 408, so the server's close is seen.
    s.resume();
    s.once('connect', () => {
      s.write(`GET /healthz?s=${i} HTTP/1.1\r\nHost: genjobs\r\n`);
      resolve();
    });
    closedAll.push(new Promise((done) => s.once('close', () => { lifetimes.push(performance.now() - opened); resolve(); done(); })));
  });
  const openedAt = performance.now();
  // In batches, so the listen backlog never overflows.
  for (let i = 0; i < SOCKETS; i += 250) await Promise.all(Array.from({ length: Math.min(250, SOCKETS - i) }, (_, j) => open(i + j)));
  const openingS = (performance.now() - openedAt) / 1000;
  const held = await probe({ seconds: WINDOW_S });
  const answered = await request('GET', '/healthz');
  if (answered.status !== 200) throw new Error(`a normal request answered ${answered.status} while the sockets were held`);
  await Promise.all(closedAll);
  const life = percentiles(lifetimes);
  // Closed well before the head timeout: dropped at once (past GENJOBS_MAX_CONNECTIONS, or reset).
  const refused = lifetimes.filter((ms) => ms < HEAD_TIMEOUT_MS / 2).length;
  table([row('healthz, idle', idle.health), row('healthz, sockets held', held.health), row('GET job, idle', idle.job), row('GET job, sockets held', held.job)]);
  console.log(`  opened ${fmt(SOCKETS)} in ${fmt(openingS, 1)} s (${refused} closed at once); p99 with the sockets held / idle: healthz ${fmt(held.health.p99 / idle.health.p99, 2)}, GET job ${fmt(held.job.p99 / idle.job.p99, 2)}`);
  console.log(`  each socket was closed by the server after: p50 ${fmt(life.p50 / 1000, 1)} s, p99 ${fmt(life.p99 / 1000, 1)} s, max ${fmt(life.max / 1000, 1)} s (n ${life.n})`);
  return { sockets: SOCKETS, headTimeoutMs: HEAD_TIMEOUT_MS, openingS, refused, idle, held, lifetimesMs: life };
}

// ---- case 3: event streams

/** Opens an account stream; counts the status events it receives. */
function openStream(target, counts) {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${target.port}/api/v1/jobs/events`, { agent: false, headers: { authorization: target.authorization, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'], close: () => {} }));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk) => { counts.events += (chunk.match(/^event: status$/gm) ?? []).length; });
      res.on('error', () => {});
      resolve({ status: 200, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/**
 * Child: holds the streams of case 3, so reading them does not slow the probes of the parent.
 * Tells the parent when they are open (and what one more got), then answers `count` with the
 * status events received since the last `count`.
 */
async function holdStreams(port, authorization, n) {
  process.once('disconnect', () => process.exit(0));
  const target = { port, authorization };
  const counts = { events: 0 };
  const streams = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openStream(target, counts)));
    for (const s of batch) {
      if (s.status !== 200) throw new Error(`stream ${streams.length + 1} of ${n} was refused (${s.status})`);
      streams.push(s);
    }
  }
  const extra = await openStream(target, counts);
  extra.close();
  process.on('message', () => {
    process.send({ events: counts.events });
    counts.events = 0;
  });
  process.send({ open: streams.length, extraStatus: extra.status, retryAfter: extra.retryAfter });
}

/** Creates short jobs at `perSecond` until `stop` resolves; returns how many. */
async function churn(perSecond, stop) {
  let done = false;
  void stop.then(() => { done = true; });
  let n = 0;
  while (!done) {
    await runModel('local/test', { duration_ms: 100 });
    n++;
    await sleep(1000 / perSecond);
  }
  return n;
}

/** The server's event-loop delay since the last call (p99 and max, ms). */
function serverLag() {
  return new Promise((resolve) => {
    server.child.once('message', resolve);
    server.child.send('lag');
  });
}

async function window(label, perSecond) {
  await serverLag();
  const cpu0 = serverCpu();
  const t0 = performance.now();
  const stop = sleep(WINDOW_S * 1000);
  const [p, jobs] = await Promise.all([probe({ until: stop }), perSecond > 0 ? churn(perSecond, stop) : Promise.resolve(0)]);
  const seconds = (performance.now() - t0) / 1000;
  const cpuPercent = ((serverCpu() - cpu0) / seconds) * 100;
  return { label, p, jobs, cpuPercent, lag: await serverLag() };
}

async function streamsCase() {
  console.log(`\n## 3. ${fmt(STREAMS)} account event streams of one account`);
  const RATE = 20;
  const before = [await window('no stream, idle', 0), await window(`no stream, ${RATE} jobs/s`, RATE)];
  const holder = spawnNode(SELF, ['streams', String(server.port), server.authorization, String(STREAMS)]);
  const held = await holder.ready;
  const extra = { status: held.extraStatus, retryAfter: held.retryAfter };
  if (extra.status !== 429 && SMOKE) throw new Error(`a stream past GENJOBS_STREAMS_MAX answered ${extra.status}, not 429`);
  const count = () => new Promise((resolve) => {
    holder.child.once('message', (m) => resolve(m.events));
    holder.child.send('count');
  });
  const after = [await window(`${STREAMS} streams, idle`, 0)];
  await count();
  after.push(await window(`${STREAMS} streams, ${RATE} jobs/s`, RATE));
  // Every stream hears of every job's statuses (pending, processing, completed: three each).
  await sleep(1_000);
  const perStream = (await count()) / STREAMS;
  await holder.stop();
  const rows = [...before, ...after].map((w) => ({ ...row(w.label, w.p.health), jobs: w.jobs, 'server CPU %': w.cpuPercent, 'loop delay p99 ms': w.lag.lagP99Ms }));
  table(rows);
  const [idle0, busy0] = before;
  const [idleN, busyN] = after;
  console.log(extra.status === 429 ? `  stream ${STREAMS + 1} was refused: ${extra.status}, Retry-After ${extra.retryAfter}` : `  stream ${STREAMS + 1} was NOT refused (${extra.status})`);
  console.log(`  status events per stream during the busy window: ${fmt(perStream, 1)} (${after[1].jobs} jobs created)`);
  console.log(`  with the streams / without: healthz p99 idle ${fmt(idleN.p.health.p99 / idle0.p.health.p99, 2)}, busy ${fmt(busyN.p.health.p99 / busy0.p.health.p99, 2)}; server CPU idle ${fmt(idleN.cpuPercent, 1)}% vs ${fmt(idle0.cpuPercent, 1)}%, busy ${fmt(busyN.cpuPercent, 1)}% vs ${fmt(busy0.cpuPercent, 1)}%`);
  if (perStream < 1) throw new Error(`the streams received ${perStream * STREAMS} status events in all: the fan-out is broken`);
  return { streams: STREAMS, jobsPerSecond: RATE, refusedStatus: extra.status, eventsPerStream: perStream, windows: [...before, ...after] };
}

async function main() {
  const child = spawnNode(SELF, ['serve'], { env: { BENCH_ABUSE_SMOKE: SMOKE ? '1' : '0' }, profileName: 'abuse-server' });
  server = { ...(await child.ready), pid: child.child.pid, child: child.child };
  const results = {};
  if (CASES.includes('cpu')) results.cpu = await cpuCase();
  if (CASES.includes('sockets')) results.sockets = await socketsCase();
  if (CASES.includes('streams')) results.streams = await streamsCase();
  if (!SMOKE) saveResults('abuse', results);
  await child.stop();
}

if (process.argv[2] === 'serve') {
  await serve();
} else if (process.argv[2] === 'streams') {
  await holdStreams(Number(process.argv[3]), process.argv[4], Number(process.argv[5]));
} else {
  await runBench('abuse', (SMALL ? 3 : 12) * 60_000, main);
}
