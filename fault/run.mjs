#!/usr/bin/env node
// The fault suite: mixed runs (local/test of mixed durations and outcomes, a provider behind a
// local fake HTTP service, a two-node app; half with webhooks, some cancelled) go through two
// PostgreSQL-backed API processes and two executors while the suite kills executors and API
// processes with SIGKILL, restarts the database twice, makes the provider hang, fail and answer
// 429, and takes the webhook receiver down. Then, once the recovery window has let everything
// drain, it reads the books and asserts the zeros (docs/reliability.md).
//
//   npm run fault                    the full form (a few thousand runs, a minute-long webhook outage)
//   node fault/run.mjs --short       the short form npm test runs (a few hundred runs, one fault of each kind)
//   --json FILE                      also write the report as JSON
//   FAULT_SEED=n                     repeat a run's choices (runs, fault order, delays); FAULT_RUNS=n: at least n runs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Slot, cli, ROOT, waitFor } from './processes.mjs';
import { startDatabase, query } from './database.mjs';
import { startFakeProvider, startWebhookReceiver } from './fakes.mjs';
import { CHAIN_APP, FAKE_MODEL, prng, runLoad } from './load.mjs';
import { killApi, killExecutor, providerFault, restartDatabase, webhookOutage } from './faults.mjs';
import { checkBooks } from './books.mjs';
import { printReport } from './report.mjs';

const args = process.argv.slice(2);
const short = args.includes('--short');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/**
 * The two forms. Times in ms. The limits are bounds for a machine under heavy load, not
 * measures: the fake provider and the webhook receiver live in this process, and on a starved
 * machine they answer slowly (hence also the provider's 10 s and the webhooks' 30 s timeouts).
 */
const P = short
  ? { minRuns: 300, ratePerSec: 12, maxInFlight: 48, executorKills: 1, apiKills: 1, gapMs: [300, 1_000], restartDelayMs: [200, 1_000],
      dbDownMs: 1_500, providerWindowMs: 2_500, webhookDownMs: 4_000, faultLimitMs: 240_000, recoveryWindowMs: 240_000 }
  : { minRuns: 3_000, ratePerSec: 14, maxInFlight: 96, executorKills: 4, apiKills: 3, gapMs: [2_000, 8_000], restartDelayMs: [500, 3_000],
      dbDownMs: 5_000, providerWindowMs: 10_000, webhookDownMs: 60_000, faultLimitMs: 240_000, recoveryWindowMs: 300_000 };
if (process.env.FAULT_RUNS) P.minRuns = Number(process.env.FAULT_RUNS);

const ACCOUNTS = 4;
const GRANT = 1_000_000;

const cleanups = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()().catch((err) => console.error(`cleanup: ${err?.message ?? err}`));
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

/** The bundled catalog with two additions: a model behind the fake provider, and a two-node app of local/test. */
function writeCatalog(file, providerBaseUrl) {
  const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, 'catalog', 'models.json'), 'utf8'));
  catalog.models.push({
    id: FAKE_MODEL, name: 'Fault suite image', modality: 'image', description: 'The OpenAI images adapter, aimed at the fault suite\'s fake provider.',
    cost: 3, inputTypes: ['text'], promptRequired: true, outputType: 'image', sync: false, timeout_ms: 45_000,
    provider: {
      type: 'openai-images', model: 'fake-1', base_url: providerBaseUrl, token_env: null,
      connect_timeout_ms: 5_000, request_timeout_ms: 10_000, retries: 3, backoff_ms: 200, max_backoff_ms: 2_000,
    },
    settings: [],
  });
  catalog.apps.push({
    id: CHAIN_APP, name: 'Fault chain', description: 'Two local/test nodes in a row: the first one\'s text feeds the second.',
    icon: null, thumbnail_url: null, tags: ['test'],
    nodes: [{ id: 'first', model: 'local/test', settings: {} }, { id: 'second', model: 'local/test', settings: {} }],
    edges: [{ from: 'first', output: 'outputText', to: 'second', input: 'error_message' }],
    inputs: [
      { id: 'first_ms', type: 'integer', label: 'First', required: true, targetHandle: 'first:duration_ms', allowMultiple: false },
      { id: 'second_ms', type: 'integer', label: 'Second', required: true, targetHandle: 'second:duration_ms', allowMultiple: false },
      { id: 'outcome', type: 'select', label: 'Outcome', required: false, targetHandle: 'second:outcome', allowMultiple: false },
    ],
  });
  fs.writeFileSync(file, JSON.stringify(catalog, null, 2));
}

/** The faults in a seeded random order. */
function schedule(r) {
  const list = [
    ...Array.from({ length: P.executorKills }, () => 'executor'),
    ...Array.from({ length: P.apiKills }, () => 'api'),
    'database', 'database', 'hang', 'fail', '429', 'webhook',
  ];
  for (let i = list.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

async function main() {
  const started = Date.now();
  const r = prng(seed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-fault-'));
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir);
  console.log(`# fault suite, ${short ? 'short' : 'full'} form, seed ${seed}; work folder ${work}`);
  console.log(`# machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

  const db = await startDatabase();
  cleanups.push(() => db.destroy());
  const provider = await startFakeProvider({ delayMs: () => 20 + Math.floor(Math.random() * 300) });
  cleanups.push(() => provider.close());
  const receiver = await startWebhookReceiver();
  cleanups.push(() => receiver.close());
  const catalogFile = path.join(work, 'catalog.json');
  writeCatalog(catalogFile, provider.baseUrl);

  const env = {
    DATABASE_URL: db.url, DATA_DIR: path.join(work, 'data'), GENJOBS_CATALOG: catalogFile,
    GENJOBS_LEASE_MS: '3000', GENJOBS_POLL_MS: '250', GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true', GENJOBS_WEBHOOK_BACKOFF_MS: '300',
    GENJOBS_WEBHOOK_TIMEOUT_MS: '30000', GENJOBS_DB_POOL_SIZE: '6', GENJOBS_EXECUTOR_CONCURRENCY: '16', GENJOBS_MEDIA_THREADS: '1',
    GENJOBS_DASHBOARD: 'false', GENJOBS_SHUTDOWN_GRACE_MS: '1000', LOG_LEVEL: 'info',
    // A processing job cancelled gets half back: the books must follow a partial refund too.
    GENJOBS_CANCEL_REFUND_PERCENT: '50',
  };
  const grants = new Map();
  const keys = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const userId = cli(['users', 'create', '--credits', String(GRANT), '--quiet'], env);
    grants.set(userId, GRANT);
    keys.push(cli(['keys', 'create', userId, '--rate-limit', '1000000', '--quiet'], env));
  }

  const { freePort } = await import(path.join(ROOT, 'dist', 'test', 'helpers', 'ports.js'));
  const apis = [];
  const executors = [];
  for (let i = 0; i < 2; i++) apis.push(new Slot({ role: 'api', index: i, env, port: await freePort(), logDir }));
  for (let i = 0; i < 2; i++) executors.push(new Slot({ role: 'executor', index: i, env, logDir }));
  cleanups.push(async () => { await Promise.all([...apis, ...executors].map((s) => s.close())); });
  await Promise.all([...apis, ...executors].map((s) => s.start()));
  console.log(`# cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${apis.map((a) => a.url).join(', ')} and two executors`);

  const accepted = new Set();
  let faultsDone = false;
  const load = runLoad({
    r: prng(seed + 1), apis, keys, webhookUrl: receiver.url, ratePerSec: P.ratePerSec, maxInFlight: P.maxInFlight, minRuns: P.minRuns,
    stop: () => faultsDone, onAccepted: (res) => accepted.add(res.id),
  });

  const faults = [];
  const loadStarted = Date.now();
  await sleep(r.int(...P.gapMs) + 1_000);
  for (const kind of schedule(r)) {
    const at = (Date.now() - loadStarted) / 1000;
    const limitMs = P.faultLimitMs;
    let result;
    if (kind === 'executor') result = await killExecutor({ slot: r.pick(executors), pool: db.pool, restartDelayMs: r.int(...P.restartDelayMs), limitMs });
    else if (kind === 'api') result = await killApi({ slot: r.pick(apis), restartDelayMs: r.int(...P.restartDelayMs) });
    else if (kind === 'database') result = await restartDatabase({ db, apis, pool: db.pool, downMs: P.dbDownMs, limitMs });
    else if (kind === 'webhook') result = await webhookOutage({ receiver, pool: db.pool, windowMs: P.webhookDownMs, limitMs });
    else result = await providerFault({ provider, mode: kind, pool: db.pool, windowMs: P.providerWindowMs, limitMs });
    result.atS = Number(at.toFixed(1));
    faults.push(result);
    console.log(`# ${result.atS} s: ${result.kind} (${result.target}): recovered in ${result.recoveredMs ?? 'NEVER'} ms`);
    await sleep(r.int(...P.gapMs));
  }
  faultsDone = true;
  const runs = await load;
  const loadS = (Date.now() - loadStarted) / 1000;
  console.log(`# ${runs.length} runs sent in ${loadS.toFixed(0)} s; waiting for every job and delivery to finish`);

  // The recovery window: every job terminal and every delivery made, or the window runs out.
  const drainMs = await waitFor(async () => {
    const [{ n }] = await query(db.pool, `SELECT (SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'processing'))
      + (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending') AS n`);
    return Number(n) === 0;
  }, P.recoveryWindowMs, 250);

  const verdict = await checkBooks({ pool: db.pool, accepted, grants, receiver, apis, keyOf: accountKeys(runs, keys) });
  const slots = [...apis, ...executors];
  verdict.zeros['processes that crashed'] = slots.reduce((n, s) => n + s.crashes.length, 0);
  verdict.zeros['requests answered with two different job ids'] = runs.filter((x) => x.distinctIds > 1).length;
  verdict.examples.crashes = slots.flatMap((s) => s.crashes.map((c) => `${s.name} exited ${c.code}, see ${c.log}`));
  // A run past its Cancel-After deadline ends cancelled, by the deadline chore of whichever process leads.
  const deadlineIds = runs.filter((x) => x.accepted && x.kind === 'deadline').map((x) => x.id);
  const notCancelled = (await query(db.pool, `SELECT id FROM jobs WHERE id = ANY($1) AND status <> 'cancelled'`, [deadlineIds])).map((x) => x.id);
  verdict.zeros['runs past their Cancel-After deadline not cancelled'] = notCancelled.length;
  verdict.examples.notCancelled = notCancelled;
  verdict.errorLogLines = Object.fromEntries(slots.map((s) => [s.name, s.errorLines()]));
  const report = {
    form: short ? 'short' : 'full', seed, startedAt: new Date(started).toISOString(), machine: { cores: os.availableParallelism(), loadAverage: os.loadavg() },
    params: P, durationS: Math.round((Date.now() - started) / 1000), loadS: Math.round(loadS),
    runs: summarise(runs), drainMs, recoveryWindowMs: P.recoveryWindowMs, faults, provider: provider.counts, ...verdict,
  };
  printReport(report);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2));
  const failed = Object.values(report.zeros).some((n) => n !== 0) || faults.some((f) => f.recoveredMs === null)
    || report.runs.refused > 0 || report.runs.gaveUp > 0;
  if (failed) {
    console.log(`# FAILED: logs kept in ${work}`);
  } else {
    cleanups.unshift(async () => fs.rmSync(work, { recursive: true, force: true }));
  }
  return failed ? 1 : 0;
}

/** Job id -> the API key of the account that ran it, for reading each job back through the API. */
function accountKeys(runs, keys) {
  return new Map(runs.filter((x) => x.accepted).map((x) => [x.id, keys[x.account]]));
}

function summarise(runs) {
  const by = (f) => runs.filter(f).length;
  return {
    sent: runs.length,
    accepted: by((x) => x.accepted),
    refused: by((x) => !x.accepted && !x.gaveUp),
    gaveUp: by((x) => x.gaveUp),
    retried: by((x) => x.attempts > 1),
    replayed: by((x) => x.replayed),
    answeredWithTwoIds: by((x) => x.distinctIds > 1),
    cancelled: by((x) => x.cancel !== undefined),
    withWebhook: by((x) => x.accepted && x.webhook),
    byKind: Object.fromEntries(['model', 'deadline', 'provider', 'app'].map((k) => [k, by((x) => x.kind === k && x.accepted)])),
    refusals: runs.filter((x) => !x.accepted).slice(0, 5).map((x) => ({ status: x.status, body: x.body })),
  };
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err?.stack ?? err);
} finally {
  await cleanup();
}
process.exit(code);
