#!/usr/bin/env node
// Fairness under a flood (issue 17): ten accounts, one with 50,000 runs queued at once and nine
// submitting 100 each, on one genjobs process (executor concurrency 64) per store. Four scenarios,
// each in a child process of its own with a fresh store, run in rotated order for ROUNDS rounds:
//
//   quiet     the nine light accounts submit their 100 runs each into an idle, running server
//   flood     the flood account's 50,000 runs are queued, the executor starts, and once 1,000
//             have finished the nine light accounts submit theirs (all weights 1)
//   weighted  the same with unequal weights (PATCH /admin/v1/users/:id {"weight"}); a build
//             that does not know weights refuses or ignores the field, and this is reported
//   queued    weighted, with the light accounts' runs queued with the flood's before the executor
//             starts: every account has work from the first claim, so the shares are those of a
//             steady backlog (in flood and weighted the light runs arrive while jobs start)
//   single    one account with the same 50,900 runs queued: the throughput baseline
//
// Figures: the light accounts' p99 wait from creation to start (flood vs quiet, goal < 2x); every
// account's share of the jobs started while all ten had work vs its weight (goal: within 5% of
// the expected share), counted over the claim order the executor reported; the flood's jobs/s vs
// single's (goal >= 0.9x). Runs are `local/test` with `duration_ms` BENCH_FAIR_DURATION_MS (5).
//
//   npm run bench:fairness     BENCH_QUICK=1: 5,000-run flood, one round
//   BENCH_FAIR_STORES=sqlite,postgres / BENCH_FAIR_ROUNDS (3) / BENCH_FAIR_FLOOD (50000) /
//   BENCH_FAIR_LIGHT (100) / BENCH_FAIR_DURATION_MS (5) / BENCH_FAIR_CONCURRENCY (64)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUICK, dist, fmt, makeAccount, makeApp, percentiles, runBench, saveResults, spawnNode, startPg, table } from './lib.mjs';

const SELF = import.meta.filename;
const STORES = (process.env.BENCH_FAIR_STORES ?? 'sqlite,postgres').split(',');
const ROUNDS = Number(process.env.BENCH_FAIR_ROUNDS ?? (QUICK ? 1 : 3));
const FLOOD = Number(process.env.BENCH_FAIR_FLOOD ?? (QUICK ? 5_000 : 50_000));
const LIGHT = Number(process.env.BENCH_FAIR_LIGHT ?? 100);
const LIGHTS = 9;
const DURATION_MS = Number(process.env.BENCH_FAIR_DURATION_MS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_FAIR_CONCURRENCY ?? 64);
/** Flood jobs finished before the light accounts submit, so the executor is at full speed. */
const WARM = Math.min(1_000, Math.floor(FLOOD / 5));
/** Weights of the weighted scenario: the flood account first, then the nine light accounts. */
const WEIGHTS = [2, 1, 1, 1, 2, 2, 2, 4, 4, 4];
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const SCENARIOS = ['quiet', 'flood', 'weighted', 'queued', 'single'];

async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Calls `fn()` n times with at most `width` in flight. */
async function inFlight(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { next++; await fn(); }
  }));
}

/** Sets an account's weight through the admin API; false when this build refuses or ignores it. */
async function setWeight(app, userId, weight) {
  const res = await app.server.inject({
    method: 'PATCH', url: `/admin/v1/users/${userId}`, payload: { weight },
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.statusCode !== 200) return { applied: false, why: `${res.statusCode} ${res.body.slice(0, 160)}` };
  const body = res.json();
  return body.weight === weight ? { applied: true } : { applied: false, why: `200 without "weight": ${weight} in the answer` };
}

/** One scenario in this (child) process; returns its figures. */
async function scenario({ kind, store, pgUrl }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-fair-'));
  const app = await makeApp({
    dataDir, pgUrl: store === 'postgres' ? pgUrl : null, schema: `bench_fair_${kind}_${process.pid}`,
    env: { GENJOBS_EXECUTOR_CONCURRENCY: String(CONCURRENCY), GENJOBS_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  try {
    const { runModel } = await dist('src/runs/run-model.js');
    const nAccounts = kind === 'single' ? 1 : kind === 'quiet' ? LIGHTS : LIGHTS + 1;
    const weighted = kind === 'weighted' || kind === 'queued';
    const users = [];
    for (let i = 0; i < nAccounts; i++) {
      const a = await makeAccount(app.store);
      users.push(await app.store.userGetById({ id: a.userId }));
    }
    const weights = weighted ? WEIGHTS : users.map(() => 1);
    const weightResults = weighted ? await Promise.all(users.map((u, i) => setWeight(app, u.id, weights[i]))) : [];
    const weightsApplied = weightResults.length > 0 && weightResults.every((w) => w.applied);

    /** Job id -> account index; the claim order the executor reports (ids, first time each). */
    const owner = new Map();
    const startOrder = [];
    const started = new Set();
    const completed = new Set();
    app.events.onChanged((c) => {
      // Starts in the order the executor claimed them: its own launches carry the whole job record.
      // On PostgreSQL the same change also comes back as a notice ({id, status, modelId}), which can
      // arrive before the claim's answer is handled and lists a claim's jobs in row order, not pick order.
      if (c.status === 'processing' && 'leaseToken' in c && !started.has(c.id)) { started.add(c.id); startOrder.push(c.id); }
      if (c.status === 'completed') completed.add(c.id);
    });
    const run = async (i) => {
      const r = await runModel(app.runs, users[i], { model: 'local/test', input: { duration_ms: DURATION_MS } });
      owner.set(r.job.id, i);
    };
    const lightIndexes = kind === 'quiet' ? users.map((_, i) => i) : kind === 'single' ? [] : users.map((_, i) => i).slice(1);
    const total = kind === 'quiet' ? LIGHTS * LIGHT : FLOOD + LIGHTS * LIGHT;
    const backlog = kind === 'quiet' ? 0 : total - (kind === 'single' ? 0 : LIGHTS * LIGHT);
    await inFlight(backlog, 10, () => run(0));
    if (kind === 'queued') for (const i of lightIndexes) await inFlight(LIGHT, 10, () => run(i));
    const t0 = performance.now();
    app.startBackground();
    let lightsAt = t0;
    /** Jobs started before every light account had submitted (so had work). */
    let allHaveWorkAt = 0;
    if (lightIndexes.length > 0 && kind !== 'queued') {
      if (kind !== 'quiet') await until(() => completed.size >= WARM, 10 * 60_000, `${WARM} flood jobs to finish`);
      lightsAt = performance.now();
      // Each light account sends its runs at once; the nine at the same time.
      await Promise.all(lightIndexes.map((i) => Promise.all(Array.from({ length: LIGHT }, () => run(i)))));
      allHaveWorkAt = startOrder.length;
    }
    await until(() => completed.size >= total, 20 * 60_000, `${total} jobs to complete`);
    const execS = (performance.now() - t0) / 1000;

    // The light accounts' waits, as the store recorded them.
    const waits = [];
    for (const i of lightIndexes) {
      const page = await app.store.jobList({ userId: users[i].id, limit: 100 });
      if (page.length !== Math.min(LIGHT, 100)) throw new Error(`account ${i}: read ${page.length} jobs`);
      for (const j of page) waits.push(j.startedAt - j.createdAt);
    }

    // Shares while every account had work: from the moment the last light account had submitted
    // to the earliest "last start" of any account (each has work from its submission until its
    // last job starts), in the order the executor claimed them.
    let counts = null;
    let window = null;
    if (kind === 'flood' || kind === 'weighted' || kind === 'queued') {
      const seq = startOrder.map((id) => owner.get(id));
      const last = new Map();
      seq.forEach((acct, k) => { last.set(acct, k); });
      const from = allHaveWorkAt;
      const to = Math.min(...last.values());
      counts = users.map(() => 0);
      for (let k = from; k <= to; k++) counts[seq[k]]++;
      window = { from, to, jobs: Math.max(0, to - from + 1) };
    }
    return {
      kind, store, total, execS, throughput: total / execS, waits: percentiles(waits), lightsAtS: (lightsAt - t0) / 1000,
      weights, weightsApplied, weightResults, counts, window,
    };
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ parent

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const range = (xs) => `${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}`;

async function phase(args) {
  const child = spawnNode(SELF, ['--phase', JSON.stringify(args)], { profileName: `fairness-${args.store}-${args.kind}` });
  const msg = await child.ready;
  await child.stop();
  if (msg.error) throw new Error(`${args.kind} on ${args.store}: ${msg.error}`);
  return msg.result;
}

/** Shares pooled over the rounds: each account's started jobs in the windows vs its weight. */
function shares(results) {
  const counts = results[0].counts.map((_, i) => results.reduce((sum, r) => sum + r.counts[i], 0));
  const all = counts.reduce((a, b) => a + b, 0);
  const weights = results[0].weights;
  const wsum = weights.reduce((a, b) => a + b, 0);
  const rows = counts.map((c, i) => {
    const expected = weights[i] / wsum;
    const share = all ? c / all : NaN;
    return { account: i === 0 ? 'flood' : `light ${i}`, weight: weights[i], started: c, share: share * 100, expected: expected * 100, deviation: (share / expected - 1) * 100 };
  });
  return { rows, jobs: all, maxDeviation: Math.max(...rows.map((r) => Math.abs(r.deviation))) };
}

async function main() {
  console.log(`# flood ${fmt(FLOOD)} runs in one account, ${LIGHTS} light accounts x ${LIGHT}; local/test ${DURATION_MS} ms; executor concurrency ${CONCURRENCY}; ${ROUNDS} round(s)`);
  console.log(`# load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const out = {};
  for (const store of STORES) {
    const pg = store === 'postgres' ? await startPg() : null;
    const res = Object.fromEntries(SCENARIOS.map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = SCENARIOS.map((_, i) => SCENARIOS[(i + r) % SCENARIOS.length]);
      console.log(`# ${store} round ${r + 1}/${ROUNDS}: ${order.join(', ')}`);
      for (const kind of order) {
        const x = await phase({ kind, store, pgUrl: pg?.url });
        res[kind].push(x);
        // Each scenario's figures as they come, saved after each, so a run cut short keeps them.
        console.log(`  ${kind}: ${fmt(x.throughput)} jobs/s; light wait p50 ${fmt(x.waits.p50)} p99 ${fmt(x.waits.p99)} ms${x.counts ? `; started while all had work: ${x.counts.join(' ')}` : ''}`);
        saveResults('fairness', { partial: true, store, stores: out, current: res, load: os.loadavg() });
      }
    }
    if (pg) { /* the cluster is removed at the end with the rest */ }
    const applied = res.weighted[0].weightsApplied;
    console.log(`\n## ${store}: light accounts' wait, created -> started (ms; median over rounds of each round's percentile)`);
    table(SCENARIOS.filter((k) => k !== 'single').map((k) => ({
      scenario: k, p50: median(res[k].map((x) => x.waits.p50)), p90: median(res[k].map((x) => x.waits.p90)), p99: median(res[k].map((x) => x.waits.p99)),
      'p99 range': range(res[k].map((x) => x.waits.p99)), max: median(res[k].map((x) => x.waits.max)),
    })));
    console.log(`\n## ${store}: throughput (jobs/s, from the executor's start until every job finished)`);
    table(['single', 'flood', 'weighted'].map((k) => ({ scenario: k, jobs: res[k][0].total, 'jobs/s': median(res[k].map((x) => x.throughput)), range: range(res[k].map((x) => x.throughput)) })));
    const waitRatios = res.flood.map((x, i) => x.waits.p99 / Math.max(res.quiet[i].waits.p99, 1));
    const tputRatios = res.flood.map((x, i) => x.throughput / res.single[i].throughput);
    const eq = shares(res.flood);
    const wt = shares(res.weighted);
    const qd = shares(res.queued);
    const notApplied = applied ? '' : ` (NOT applied by this build: ${res.weighted[0].weightResults[0]?.why})`;
    for (const [name, s] of [['equal weights', eq], [`weights ${WEIGHTS.join(',')}${notApplied}`, wt], [`weights ${WEIGHTS.join(',')}, every run queued before the first claim${notApplied}`, qd]]) {
      console.log(`\n## ${store}: shares of the ${fmt(s.jobs)} jobs started while all ten accounts had work (pooled over rounds), ${name}`);
      table(s.rows);
    }
    const verdicts = {
      lightP99: { ratio: median(waitRatios), ratios: waitRatios, goal: 2, met: median(waitRatios) < 2 },
      throughput: { ratio: median(tputRatios), ratios: tputRatios, goal: 0.9, met: median(tputRatios) >= 0.9 },
      sharesEqual: { maxDeviation: eq.maxDeviation, goal: 5, met: eq.jobs > 0 && eq.maxDeviation <= 5 },
      sharesWeighted: { maxDeviation: wt.maxDeviation, goal: 5, met: applied && wt.jobs > 0 && wt.maxDeviation <= 5, weightsApplied: applied },
      sharesQueued: { maxDeviation: qd.maxDeviation, goal: 5, met: applied && qd.jobs > 0 && qd.maxDeviation <= 5, weightsApplied: applied },
    };
    console.log('');
    console.log(`  ratio ${store} light p99 wait, flood / quiet: median ${verdicts.lightP99.ratio.toFixed(2)} (rounds ${waitRatios.map((x) => x.toFixed(2)).join(', ')}) (goal < 2: ${verdicts.lightP99.met ? 'met' : 'MISSED'})`);
    console.log(`  ratio ${store} throughput, flood / single: median ${verdicts.throughput.ratio.toFixed(3)} (rounds ${tputRatios.map((x) => x.toFixed(2)).join(', ')}) (goal >= 0.9: ${verdicts.throughput.met ? 'met' : 'MISSED'})`);
    console.log(`  ${store} largest share deviation, equal weights: ${fmt(eq.maxDeviation, 1)}% (goal <= 5%: ${verdicts.sharesEqual.met ? 'met' : 'MISSED'})`);
    console.log(`  ${store} largest share deviation, unequal weights: ${fmt(wt.maxDeviation, 1)}% (goal <= 5%: ${verdicts.sharesWeighted.met ? 'met' : 'MISSED'}${applied ? '' : ', weights not applied'})`);
    console.log(`  ${store} largest share deviation, unequal weights, all queued first: ${fmt(qd.maxDeviation, 1)}% (goal <= 5%: ${verdicts.sharesQueued.met ? 'met' : 'MISSED'})`);
    out[store] = { rounds: res, shares: { equal: eq, weighted: wt, queued: qd }, verdicts };
  }
  saveResults('fairness', { flood: FLOOD, light: LIGHT, lights: LIGHTS, durationMs: DURATION_MS, concurrency: CONCURRENCY, weights: WEIGHTS, rounds: ROUNDS, load: os.loadavg(), stores: out });
}

if (process.argv[2] === '--phase') {
  process.once('disconnect', () => process.exit(1));
  scenario(JSON.parse(process.argv[3])).then(
    (result) => process.send({ result }),
    (err) => process.send({ error: err?.stack ?? String(err) }),
  ).finally(() => process.once('SIGTERM', () => process.exit(0)));
} else {
  await runBench('bench:fairness', 60 * 60_000, main);
}
