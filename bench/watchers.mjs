#!/usr/bin/env node
// Live watchers (issue 17): one genjobs API process (SQLite, or PostgreSQL with
// BENCH_WATCHERS_STORE=postgres) with 10,000 account event streams (GET /api/v1/jobs/events) open,
// 10 on each of 1,000 accounts, held by BENCH_WATCHERS_CLIENTS (4) client processes, while the
// server creates runs at 500/s spread over the accounts (local/test, 50 ms) and so finishes them
// at 500/s. Each client records, for every "completed" status event, the delay from the job's
// `completed_at` (the store's finish time, ms) to the moment the event was read off the socket.
// The baseline is 100 streams (10 accounts x 10) with the same job traffic, measured before the
// 10,000 are opened and again after they are closed; the 10,000 are opened once (minutes on a
// loaded machine) and measured over ROUNDS windows. Memory per stream: the server's RSS and heap
// (after a full GC) with the 10,000 open and idle, minus the same with none open, over 10,000;
// and the server's CPU with no job traffic, with none and with all open.
// Webhooks: the same traffic with a `webhook_url` on every run, to a receiver in this process
// (no streams open); deliveries/s vs jobs finished/s over the window, and the delay from
// `completed_at` to the receiver reading the POST.
//
//   npm run bench:watchers     BENCH_QUICK=1: 2,000 streams, 5 s windows, one round
//   BENCH_WATCHERS_STREAMS (10000) / BENCH_WATCHERS_ACCOUNTS (1000) / BENCH_WATCHERS_RATE (500)
//   BENCH_WATCHERS_SECONDS (10) / BENCH_WATCHERS_ROUNDS (3) / BENCH_WATCHERS_CLIENTS (4)
//   BENCH_WATCHERS_HOOK_DELAY_MS (0): the receiver answers after this long (a remote receiver)
//   BENCH_WATCHERS_HOOK_CONCURRENCY: GENJOBS_WEBHOOK_CONCURRENCY for the server
//   BENCH_WATCHERS_CASES=streams,webhooks   which parts
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUICK, dist, fmt, freePort, makeApp, percentiles, rssMiB, runBench, saveResults, spawnNode, startPg, table } from './lib.mjs';

const SELF = import.meta.filename;
const STORE = process.env.BENCH_WATCHERS_STORE ?? 'sqlite';
const STREAMS = Number(process.env.BENCH_WATCHERS_STREAMS ?? (QUICK ? 2_000 : 10_000));
const ACCOUNTS = Number(process.env.BENCH_WATCHERS_ACCOUNTS ?? (QUICK ? 200 : 1_000));
const PER_ACCOUNT = Math.ceil(STREAMS / ACCOUNTS);
const BASE_ACCOUNTS = 10;
const RATE = Number(process.env.BENCH_WATCHERS_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_WATCHERS_SECONDS ?? (QUICK ? 5 : 10));
const ROUNDS = Number(process.env.BENCH_WATCHERS_ROUNDS ?? (QUICK ? 1 : 3));
const CLIENTS = Number(process.env.BENCH_WATCHERS_CLIENTS ?? 4);
const DURATION_MS = 50;
const CASES = (process.env.BENCH_WATCHERS_CASES ?? 'streams,webhooks').split(',');
/** How long the webhook receiver takes to answer (a remote receiver's round trip); 0: at once. */
const HOOK_DELAY_MS = Number(process.env.BENCH_WATCHERS_HOOK_DELAY_MS ?? 0);
/** GENJOBS_WEBHOOK_CONCURRENCY for the server, when set (a build that does not know it ignores it). */
const HOOK_CONCURRENCY = process.env.BENCH_WATCHERS_HOOK_CONCURRENCY;

// ------------------------------------------------------------------ child: the server

async function serve({ pgUrl }) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-watchers-'));
  const app = await makeApp({
    dataDir, pgUrl: STORE === 'postgres' ? pgUrl : null, schema: `bench_watchers_${process.pid}`,
    env: {
      PORT: String(port),
      GENJOBS_STREAMS_PER_KEY: String(PER_ACCOUNT),
      GENJOBS_STREAMS_MAX: String(STREAMS + 100),
      GENJOBS_MAX_CONNECTIONS: String(STREAMS + 1_000),
      GENJOBS_EXECUTOR_CONCURRENCY: '256',
      GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true',
      GENJOBS_SHUTDOWN_GRACE_MS: '0',
      ...(HOOK_CONCURRENCY ? { GENJOBS_WEBHOOK_CONCURRENCY: HOOK_CONCURRENCY } : {}),
    },
  });
  await app.listen();
  app.startBackground();
  const { createUser, createApiKey } = await dist('src/accounts/admin.js');
  const { runModel } = await dist('src/runs/run-model.js');
  const users = [];
  const keys = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const user = await createUser(app.store, { credits: 1_000_000_000 });
    const { key } = await createApiKey(app.store, user.id, { rate_limit_per_minute: 1_000_000_000 }, { rateLimitPerMinute: 60 });
    users.push(user);
    keys.push(`Bearer ${key}`);
  }
  const completed = new Set();
  app.events.onChanged((c) => { if (c.status === 'completed') completed.add(c.id); });
  process.once('SIGTERM', () => {
    void app.close().finally(() => { fs.rmSync(dataDir, { recursive: true, force: true }); process.exit(0); });
  });
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'cpu') {
        const u = process.cpuUsage();
        process.send({ cpu: (u.user + u.system) / 1e6 });
      } else if (m.cmd === 'mem') {
        for (let i = 0; i < 3; i++) { globalThis.gc?.(); await sleep(50); }
        process.send({ mem: { rssMiB: rssMiB(), heapMiB: process.memoryUsage().heapUsed / 2 ** 20 } });
      } else if (m.cmd === 'drive') {
        // Runs at m.rate/s for m.seconds on a fixed schedule (those due are sent together, not
        // one after another: a sequential await would cap the rate at one run per store commit),
        // round-robin over m.accounts accounts.
        const body = { model: 'local/test', input: { duration_ms: DURATION_MS }, ...(m.webhookUrl ? { webhook_url: m.webhookUrl } : {}) };
        const n = Math.round(m.rate * m.seconds);
        const pending = [];
        const t0 = performance.now();
        for (let sent = 0; sent < n;) {
          const due = Math.min(n, Math.floor(((performance.now() - t0) * m.rate) / 1000) + 1);
          for (; sent < due; sent++) pending.push(runModel(app.runs, users[sent % m.accounts], body));
          await sleep(Math.max(0, t0 + (sent * 1000) / m.rate - performance.now()));
        }
        const ids = (await Promise.all(pending)).map((r) => r.job.id);
        const submitS = (performance.now() - t0) / 1000;
        const end = Date.now() + 60_000;
        while (!ids.every((id) => completed.has(id)) && Date.now() < end) await sleep(20);
        process.send({ drove: { jobs: n, submitS, completed: ids.filter((id) => completed.has(id)).length } });
      }
    } catch (err) {
      process.send({ error: err?.stack ?? String(err) });
    }
  });
  process.send({ port, keys });
}

// ------------------------------------------------------------------ child: a stream holder

/** Opens one account stream; calls onCompleted(delayMs) for every completed status event. */
function openStream(port, authorization, onCompleted) {
  return new Promise((resolve) => {
    const req = http.get(`http://127.0.0.1:${port}/api/v1/jobs/events`, { agent: false, headers: { authorization, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); resolve({ status: res.statusCode }); return; }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk) => {
        const now = Date.now();
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          if (!block.includes('"status":"completed"')) continue;
          const data = block.slice(block.indexOf('data: ') + 6);
          onCompleted(now - Date.parse(JSON.parse(data).completed_at));
        }
      });
      res.on('error', () => {});
      resolve({ status: 200, req });
    });
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
  });
}

async function hold() {
  process.once('disconnect', () => process.exit(0));
  let open = [];
  let delays = [];
  process.on('message', async (m) => {
    if (m.cmd === 'open') {
      const wanted = m.keys.flatMap((k) => Array.from({ length: m.perKey }, () => k));
      const refused = {};
      for (let i = 0; i < wanted.length; i += 100) {
        const batch = await Promise.all(wanted.slice(i, i + 100).map((k) => openStream(m.port, k, (d) => delays.push(d))));
        for (const s of batch) if (s.status === 200) open.push(s); else refused[s.status] = (refused[s.status] ?? 0) + 1;
      }
      process.send({ opened: open.length, refused });
    } else if (m.cmd === 'close') {
      for (const s of open) s.req.destroy();
      open = [];
      process.send({ closed: true });
    } else if (m.cmd === 'report') {
      process.send({ delays });
      delays = [];
    }
  });
  process.send({ ready: true });
}

// ------------------------------------------------------------------ parent

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Sends `msg` to a child and resolves with its next message that has `field`. */
function ask(child, msg, field) {
  return new Promise((resolve, reject) => {
    const on = (m) => {
      if (m?.error) { child.off('message', on); reject(new Error(m.error)); return; }
      if (m && field in m) { child.off('message', on); resolve(m); }
    };
    child.on('message', on);
    child.send(msg);
  });
}

/** A webhook receiver: 200 to every POST, records the delay from the job's completed_at. */
async function receiver() {
  const delays = [];
  const times = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const now = Date.now();
      if (HOOK_DELAY_MS > 0) setTimeout(() => res.writeHead(200).end(), HOOK_DELAY_MS); else res.writeHead(200).end();
      const job = JSON.parse(body).job;
      delays.push(now - Date.parse(job.completed_at));
      times.push(now);
    });
  });
  srv.keepAliveTimeout = 30_000;
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}/hook`, delays, times, close: () => new Promise((r) => srv.close(r)) };
}

async function main() {
  const pg = STORE === 'postgres' ? await startPg() : null;
  console.log(`# ${fmt(STREAMS)} account streams over ${fmt(ACCOUNTS)} accounts (${PER_ACCOUNT} each) in ${CLIENTS} client processes; one server on ${STORE}`);
  console.log(`# jobs: ${RATE}/s for ${SECONDS} s per window, local/test ${DURATION_MS} ms; ${ROUNDS} round(s) of (baseline ${BASE_ACCOUNTS * PER_ACCOUNT} streams, full ${fmt(STREAMS)} streams, webhooks)`);
  console.log(`# load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ulimit -n: soft limit applies to each process`);
  const server = spawnNode(SELF, ['serve', JSON.stringify({ pgUrl: pg?.url })], { nodeFlags: ['--expose-gc'], profileName: 'watchers-server' });
  const { port, keys } = await server.ready;
  const clients = Array.from({ length: CLIENTS }, () => spawnNode(SELF, ['hold']));
  await Promise.all(clients.map((c) => c.ready));
  const hook = await receiver();

  /** Opens `perKey` streams on each of `keys`, spread over the clients. */
  const openAll = async (keyList) => {
    const parts = clients.map((_, i) => keyList.filter((_, k) => k % CLIENTS === i));
    const res = await Promise.all(clients.map((c, i) => ask(c.child, { cmd: 'open', port, keys: parts[i], perKey: PER_ACCOUNT }, 'opened')));
    const opened = res.reduce((a, r) => a + r.opened, 0);
    const refused = res.filter((r) => Object.keys(r.refused).length).map((r) => r.refused);
    const wanted = keyList.length * PER_ACCOUNT;
    // A loaded machine may time a few opens out (408): reported, and tolerated up to 1%.
    if (opened !== wanted) console.log(`  opened ${opened} of ${wanted} streams; refused: ${JSON.stringify(refused)}`);
    if (opened < wanted * 0.99) throw new Error(`opened ${opened} of ${wanted} streams; refused: ${JSON.stringify(refused)}`);
    return opened;
  };
  const closeAll = () => Promise.all(clients.map((c) => ask(c.child, { cmd: 'close' }, 'closed')));
  const collect = async () => (await Promise.all(clients.map((c) => ask(c.child, { cmd: 'report' }, 'delays')))).flatMap((r) => r.delays);

  /** One window of job traffic; returns the delivery figures. */
  const window = async (label, accounts, streams) => {
    await collect();
    const { drove } = await ask(server.child, { cmd: 'drive', rate: RATE, seconds: SECONDS, accounts }, 'drove');
    // Every completed event has been written by the time the jobs are completed; give the clients a moment to read them.
    const expected = drove.jobs * (streams / accounts);
    let delays = [];
    for (let i = 0; i < 100 && delays.length < expected; i++) { delays = delays.concat(await collect()); if (delays.length < expected) await sleep(50); }
    const p = percentiles(delays);
    console.log(`  ${label}: ${fmt(drove.jobs)} jobs (submitted in ${fmt(drove.submitS, 1)} s, planned ${SECONDS} s), ${fmt(delays.length)} of ${fmt(expected)} completed events received; p50 ${fmt(p.p50)} p90 ${fmt(p.p90)} p99 ${fmt(p.p99)} max ${fmt(p.max)} ms; load ${os.loadavg()[0].toFixed(1)}`);
    return { label, streams, jobs: drove.jobs, submitS: drove.submitS, received: delays.length, expected, ...p };
  };

  const mem0 = (await ask(server.child, { cmd: 'mem' }, 'mem')).mem;
  /** The server's CPU use (% of one core) over `ms` of no job traffic. */
  const idleCpu = async (ms) => {
    const c0 = (await ask(server.child, { cmd: 'cpu' }, 'cpu')).cpu;
    const t0 = performance.now();
    await sleep(ms);
    const c1 = (await ask(server.child, { cmd: 'cpu' }, 'cpu')).cpu;
    return ((c1 - c0) * 1000 * 100) / (performance.now() - t0);
  };
  // Streams: the baseline (100 streams) before and after the 10,000 (opened once: opening them
  // is minutes on a loaded machine), the full windows in between.
  const streams = { base: [], full: [] };
  if (CASES.includes('streams')) {
    await openAll(keys.slice(0, BASE_ACCOUNTS));
    streams.base.push(await window(`baseline ${BASE_ACCOUNTS * PER_ACCOUNT} streams`, BASE_ACCOUNTS, BASE_ACCOUNTS * PER_ACCOUNT));
    await closeAll();
    const memBefore = (await ask(server.child, { cmd: 'mem' }, 'mem')).mem;
    const cpuNone = await idleCpu(3_000);
    const t = performance.now();
    await openAll(keys);
    const openS = (performance.now() - t) / 1000;
    const memOpen = (await ask(server.child, { cmd: 'mem' }, 'mem')).mem;
    const cpuOpen = await idleCpu(3_000);
    streams.mem = {
      openS, before: memBefore, open: memOpen, idleCpuNone: cpuNone, idleCpuOpen: cpuOpen,
      rssKiBPerStream: ((memOpen.rssMiB - memBefore.rssMiB) * 1024) / STREAMS,
      heapKiBPerStream: ((memOpen.heapMiB - memBefore.heapMiB) * 1024) / STREAMS,
    };
    console.log(`  ${fmt(STREAMS)} streams opened in ${fmt(openS, 1)} s; server RSS ${fmt(memBefore.rssMiB, 1)} -> ${fmt(memOpen.rssMiB, 1)} MiB (${fmt(streams.mem.rssKiBPerStream, 1)} KiB/stream), heap ${fmt(memBefore.heapMiB, 1)} -> ${fmt(memOpen.heapMiB, 1)} MiB (${fmt(streams.mem.heapKiBPerStream, 1)} KiB/stream); server CPU with no job traffic ${fmt(cpuNone, 1)}% of a core with no stream, ${fmt(cpuOpen, 1)}% with the ${fmt(STREAMS)} open`);
    for (let r = 0; r < ROUNDS; r++) streams.full.push(await window(`full ${fmt(STREAMS)} streams, window ${r + 1}/${ROUNDS}`, ACCOUNTS, STREAMS));
    await closeAll();
    await openAll(keys.slice(0, BASE_ACCOUNTS));
    streams.base.push(await window(`baseline ${BASE_ACCOUNTS * PER_ACCOUNT} streams, again`, BASE_ACCOUNTS, BASE_ACCOUNTS * PER_ACCOUNT));
    await closeAll();
  }
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    if (CASES.includes('webhooks')) {
      // Webhooks, no stream open.
      hook.delays.length = 0;
      hook.times.length = 0;
      const t0 = Date.now();
      const { drove } = await ask(server.child, { cmd: 'drive', rate: RATE, seconds: SECONDS, accounts: ACCOUNTS, webhookUrl: hook.url }, 'drove');
      for (let i = 0; i < 2_400 && hook.delays.length < drove.jobs; i++) await sleep(50);
      const span = (Math.max(...hook.times) - Math.min(...hook.times)) / 1000;
      round.webhooks = { jobs: drove.jobs, delivered: hook.delays.length, deliveriesPerS: hook.delays.length / span, jobsPerS: drove.jobs / drove.submitS, windowS: (Date.now() - t0) / 1000, ...percentiles(hook.delays) };
      console.log(`  webhooks ${r + 1}/${ROUNDS}: ${fmt(hook.delays.length)} of ${fmt(drove.jobs)} delivered, ${fmt(round.webhooks.deliveriesPerS)}/s vs jobs ${fmt(round.webhooks.jobsPerS)}/s; delay p50 ${fmt(round.webhooks.p50)} p99 ${fmt(round.webhooks.p99)} max ${fmt(round.webhooks.max)} ms`);
    }
    rounds.push(round);
  }
  await hook.close();

  const med = (f) => median(rounds.map(f));
  if (CASES.includes('streams')) {
    const mf = (k, f) => median(streams[k].map(f));
    console.log('\n## Event delivery, job finished -> event read by the client (ms, median over windows)');
    table(['base', 'full'].map((k) => ({
      streams: streams[k][0].streams, windows: streams[k].length, p50: mf(k, (w) => w.p50), p90: mf(k, (w) => w.p90), p99: mf(k, (w) => w.p99),
      'p99 range': `${fmt(Math.min(...streams[k].map((w) => w.p99)))}-${fmt(Math.max(...streams[k].map((w) => w.p99)))}`, max: mf(k, (w) => w.max),
      'received/expected': `${fmt(mf(k, (w) => w.received))}/${fmt(mf(k, (w) => w.expected))}`,
    })));
    console.log('\n## Server with the streams open, no job traffic (memory after GC)');
    table([{ 'RSS KiB/stream': streams.mem.rssKiBPerStream, 'heap KiB/stream': streams.mem.heapKiBPerStream, 'open s': streams.mem.openS, 'RSS MiB open': streams.mem.open.rssMiB, 'CPU % none': streams.mem.idleCpuNone, 'CPU % open': streams.mem.idleCpuOpen }]);
    const p99 = mf('full', (w) => w.p99);
    console.log(`\n  ${fmt(STREAMS)} streams: delivery p99 ${fmt(p99)} ms (goal < 100 ms: ${p99 < 100 ? 'met' : 'MISSED'}); ${BASE_ACCOUNTS * PER_ACCOUNT} streams: ${fmt(mf('base', (w) => w.p99))} ms; ratio ${(p99 / Math.max(mf('base', (w) => w.p99), 1)).toFixed(2)}`);
  }
  if (CASES.includes('webhooks')) {
    console.log(`\n## Webhooks (no stream open; the receiver answers after ${HOOK_DELAY_MS} ms)`);
    table([{ 'jobs/s': med((r) => r.webhooks.jobsPerS), 'deliveries/s': med((r) => r.webhooks.deliveriesPerS), delivered: med((r) => r.webhooks.delivered), p50: med((r) => r.webhooks.p50), p99: med((r) => r.webhooks.p99), max: med((r) => r.webhooks.max) }]);
    console.log(`\n  webhooks: deliveries/s / jobs finished/s = ${(med((r) => r.webhooks.deliveriesPerS / r.webhooks.jobsPerS)).toFixed(3)}`);
  }
  saveResults('watchers', { cases: CASES, hookDelayMs: HOOK_DELAY_MS, hookConcurrency: HOOK_CONCURRENCY ?? null, store: STORE, streams: STREAMS, accounts: ACCOUNTS, rate: RATE, seconds: SECONDS, clients: CLIENTS, memNoStreams: mem0, load: os.loadavg(), streams, rounds });
}

if (process.argv[2] === 'serve') {
  await serve(JSON.parse(process.argv[3]));
} else if (process.argv[2] === 'hold') {
  await hold();
} else {
  await runBench('bench:watchers', 45 * 60_000, main);
}
