#!/usr/bin/env node
// Scale benchmark: latency of GET /api/v1/jobs/:id and GET /api/v1/jobs?limit=20 (first page and a
// cursor page) with 10,000 and with 1,000,000 jobs in the store, all in one account or spread
// over 991 accounts (the measured one holding 1%), on SQLite and on PostgreSQL. Requests go through the whole HTTP stack in
// process (app.server.inject: routing, API key, rate limit, handler, serialisation), one at a
// time. Jobs are seeded straight into the adapters' own tables (SQLite through better-sqlite3 on
// the same file, PostgreSQL with INSERT ... SELECT FROM generate_series), 99% completed and the
// newest 1% pending, as in a store with a backlog. The in-memory copy of finished jobs is off
// (GENJOBS_JOB_CACHE_SIZE=0), so that every GET reads the store. A pending job's answer carries its queue
// position, counted over the backlog ahead of it: "get pending" is the back of the queue (99 or
// 9,999 ahead), "get pending, 100th in queue" (one account only) the same position in both stores.
//
//   npm run bench:scale     BENCH_QUICK=1: 10,000 vs 100,000 jobs; BENCH_SCALE_STORES=sqlite
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  QUICK, fmt, makeAccount, makeApp, percentiles, runBench, saveResults, startPg, table, tmpDir,
} from './lib.mjs';

const SMALL = 10_000;
const LARGE = Number(process.env.BENCH_SCALE_LARGE ?? (QUICK ? 100_000 : 1_000_000));
const ACCOUNTS = 1_000;
const PENDING_SHARE = 0.01;
const SPAN_MS = 30 * 24 * 3_600_000; // the jobs' created_at spread over 30 days
const ROUNDS = QUICK ? 4 : 10;
const REQUESTS_PER_ROUND = QUICK ? 50 : 100;

// ------------------------------------------------------------------ seeding

/** uuid v7-shaped ids (time-ordered, as genjobs' newId makes), fast enough for a million. */
function idAt(ms, rnd, i) {
  const t = ms.toString(16).padStart(12, '0');
  const r = rnd.toString('hex', (i % 4096) * 10, (i % 4096) * 10 + 10) + (i >>> 0).toString(16).padStart(8, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(6, 18).padEnd(12, '0')}`;
}

const INPUT = JSON.stringify({ input: { prompt: 'a lighthouse at dusk, oil painting, warm light', duration_ms: 0 } });
const OUTPUT = JSON.stringify({ outputText: 'local/test completed after 0 ms' });

/** Seeds `n` jobs into the SQLite file; `userOf(i)` picks the account of job i. */
function seedSqlite(file, n, userIds) {
  return import('better-sqlite3').then(({ default: Database }) => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare(`INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, output_data, credits_charged,
      created_at, started_at, completed_at, attempts, lease_token) VALUES (?, ?, 'model', 'local/test', ?, ?, ?, 1, ?, ?, ?, ?, ?)`);
    const base = Date.now() - SPAN_MS;
    const step = Math.max(1, Math.floor(SPAN_MS / n));
    const rnd = randomBytes(4096 * 10);
    const firstPending = Math.floor(n * (1 - PENDING_SHARE));
    const batch = db.transaction((from, to) => {
      for (let i = from; i < to; i++) {
        const at = base + i * step;
        const pending = i >= firstPending;
        insert.run(idAt(at, rnd, i), userIds[i % userIds.length], pending ? 'pending' : 'completed', INPUT, pending ? null : OUTPUT,
          at, pending ? null : at + 5, pending ? null : at + 50, pending ? 0 : 1, pending ? 0 : 1);
      }
    });
    for (let from = 0; from < n; from += 50_000) batch(from, Math.min(n, from + 50_000));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  });
}

async function seedPg(url, schema, n, userIds) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    // Seeding only: no per-row NOTIFY trigger, no foreign-key checks (every user_id exists).
    await client.query('SET session_replication_role = replica');
    const base = Date.now() - SPAN_MS;
    const step = Math.max(1, Math.floor(SPAN_MS / n));
    const firstPending = Math.floor(n * (1 - PENDING_SHARE));
    for (let from = 0; from < n; from += 200_000) {
      await client.query(`
        INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, output_data, credits_charged,
          created_at, started_at, completed_at, attempts, lease_token)
        SELECT substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12),
          ($1::text[])[1 + (g % $2)], 'model', 'local/test', CASE WHEN pend THEN 'pending' ELSE 'completed' END,
          $3::jsonb, CASE WHEN pend THEN NULL ELSE $4::jsonb END, 1,
          at, CASE WHEN pend THEN NULL ELSE at + 5 END, CASE WHEN pend THEN NULL ELSE at + 50 END,
          CASE WHEN pend THEN 0 ELSE 1 END, CASE WHEN pend THEN 0 ELSE 1 END
        FROM (SELECT g, $5::bigint + g * $6::bigint AS at, g >= $7 AS pend,
                     lpad(to_hex($5::bigint + g * $6::bigint), 12, '0') AS t, md5(g::text || 'genjobs') AS r
              FROM generate_series($8::int, $9::int) g) s`,
      [userIds, userIds.length, INPUT, OUTPUT, base, step, firstPending, from, Math.min(n, from + 200_000) - 1]);
    }
    // The fair scheduler's per-account pending counts, which the triggers left off here keep otherwise.
    await client.query(`INSERT INTO fair_accounts (user_id, pass, pending, active, active_since)
      SELECT user_id, 0, COUNT(*), true, MIN(created_at) FROM jobs WHERE status = 'pending' GROUP BY user_id
      ON CONFLICT (user_id) DO UPDATE SET pending = EXCLUDED.pending, active = true`);
    // What autovacuum does after a bulk load, done now so the run does not depend on its timing.
    await client.query('VACUUM ANALYZE jobs');
    await client.query('VACUUM ANALYZE fair_accounts');
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------ measuring

/** One GET through the whole stack, timed (ms). */
async function timed(app, authorization, url) {
  const t = performance.now();
  const r = await app.server.inject({ method: 'GET', url, headers: { authorization } });
  const ms = performance.now() - t;
  if (r.statusCode !== 200) throw new Error(`GET ${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
  return ms;
}

/**
 * A query timed on both stores in alternation: after 100 warm-up requests on each, ROUNDS rounds
 * of REQUESTS_PER_ROUND requests on one store, then on the other (the order swapped each round).
 * The ratio is the median of the rounds' p50 ratios, so that a slow moment of the shared machine
 * weighs on both sides of a ratio alike; p50/p99 per store are over all its requests.
 */
async function pairedQuery(small, large, query) {
  const sides = [small, large].map((d) => ({ d, urls: d.urls[query], times: [], roundP50: [] }));
  if (sides.some((x) => !x.urls)) return null;
  for (const x of sides) for (let i = 0; i < 100; i++) await timed(x.d.app, x.d.auth, x.urls[i % x.urls.length]);
  let k = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const x of round % 2 ? [...sides].reverse() : sides) {
      const times = [];
      for (let i = 0; i < REQUESTS_PER_ROUND; i++) times.push(await timed(x.d.app, x.d.auth, x.urls[k++ % x.urls.length]));
      x.times.push(...times);
      x.roundP50.push(percentiles(times).p50);
    }
  }
  const ratios = sides[1].roundP50.map((l, i) => l / sides[0].roundP50[i]);
  return { small: percentiles(sides[0].times), large: percentiles(sides[1].times), ratio: ratios.sort((a, b) => a - b)[Math.floor((ratios.length - 1) / 2)], ratios };
}

async function dataset({ store, pgUrl, layout, n }) {
  const dir = tmpDir(`scale-${store}-${layout}-${n}`);
  const schema = `bench_scale_${layout}_${n}`;
  // Finished jobs are not kept in memory here (GENJOBS_JOB_CACHE_SIZE=0): every GET reads the store.
  const app = await makeApp({
    dataDir: dir, pgUrl: store === 'postgres' ? pgUrl : null, schema, env: { GENJOBS_EXECUTOR: 'false', GENJOBS_JOB_CACHE_SIZE: '0' },
  });
  try {
    const measured = await makeAccount(app.store);
    // Job i goes to userIds[i % length]. Many accounts: 1,000 slots, every hundredth (the last one
    // included) the measured account's and the rest 990 other accounts, so that the measured
    // account holds 1% of the jobs (100 or 10,000: its pages are full at both sizes) and the newest
    // job, pending, at the back of the queue.
    const userIds = [];
    if (layout === 'many') {
      for (let i = 0; i < ACCOUNTS; i++) {
        userIds.push(i % 100 === 99 ? measured.userId : (await app.store.userCreate({ name: null, credits: 0, now: Date.now() })).id);
      }
    } else {
      userIds.push(measured.userId);
    }
    const t0 = performance.now();
    if (store === 'sqlite') await seedSqlite(path.join(dir, 'genjobs.db'), n, userIds);
    else await seedPg(pgUrl, schema, n, userIds);
    const seedS = (performance.now() - t0) / 1000;

    // The measured account's jobs, newest first: ids to GET, the middle one as a cursor, the newest pending one.
    const mine = await accountJobs(store, dir, pgUrl, schema, measured.userId);
    const completed = mine.filter((j) => j.status === 'completed');
    const sample = Array.from({ length: 200 }, (_, i) => completed[Math.floor(((i * 7919) % 200) / 200 * completed.length)].id);
    const pending = mine.find((j) => j.status === 'pending');
    // With one account, every pending job is the account's: the 100th oldest has 99 ahead of it in
    // both stores, so its queue position costs the same count whatever the backlog behind it.
    const front = layout === 'one' ? mine.filter((j) => j.status === 'pending').reverse()[99] : undefined;
    const cursor = mine[Math.floor(mine.length / 2)].id;
    const urls = {
      'get completed': sample.map((id) => `/api/v1/jobs/${id}`),
      'get pending': pending ? [`/api/v1/jobs/${pending.id}`] : null,
      'get pending, 100th in queue': front ? [`/api/v1/jobs/${front.id}`] : null,
      'list first page': ['/api/v1/jobs?limit=20'],
      'list cursor page': [`/api/v1/jobs?limit=20&starting_after=${cursor}`],
    };
    const plans = n === LARGE ? await explain(app, store, dir, pgUrl, schema, measured.userId, cursor, pending?.id) : null;
    return {
      store, layout, n, accountJobs: mine.length, seedS, plans, app, auth: measured.authorization, urls,
      close: async () => { await app.close(); fs.rmSync(dir, { recursive: true, force: true }); },
    };
  } catch (err) {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The account's jobs (id, status), newest first, read straight from the database. */
async function accountJobs(store, dir, pgUrl, schema, userId) {
  const sql = 'SELECT id, status FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, id DESC';
  if (store === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(dir, 'genjobs.db'), { readonly: true });
    try {
      return db.prepare(sql.replace('$1', '?')).all(userId);
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(sql, [userId])).rows;
  } finally {
    await client.end();
  }
}

/** The plans of the reads behind these routes, at the large size (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite). */
async function explain(app, store, dir, pgUrl, schema, userId, cursorId, pendingId) {
  const cursor = await app.store.jobGetById({ id: cursorId });
  const pending = pendingId ? await app.store.jobGetById({ id: pendingId }) : null;
  if (store === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(dir, 'genjobs.db'), { readonly: true });
    const plan = (sql, ...args) => {
      const t = performance.now();
      db.prepare(sql).all(...args);
      const ms = performance.now() - t;
      return { sql: sql.replace(/\s+/g, ' '), ms, plan: db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((r) => r.detail) };
    };
    const out = {
      list: plan('SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?', userId, 21),
      cursor: plan('SELECT * FROM jobs WHERE user_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?',
        userId, cursor.createdAt, cursor.id, 21),
      // The fair estimate's count from the back of the account's queue (src/store/sqlite/fair.ts).
      queuePosition: pending ? plan(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs INDEXED BY jobs_fair WHERE user_id = ? AND status = 'pending'
        AND priority = 1 AND (created_at, id) >= (?, ?) LIMIT 10000)`, userId, pending.createdAt, pending.id) : null,
    };
    db.close();
    return out;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const plan = async (sql, args) => ({
      sql: sql.replace(/\s+/g, ' '),
      plan: (await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, args)).rows.map((r) => r['QUERY PLAN']),
    });
    return {
      list: await plan('SELECT * FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [userId, 21]),
      cursor: await plan('SELECT * FROM jobs WHERE user_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4',
        [userId, cursor.createdAt, cursor.id, 21]),
      // The fair estimate (genjobs_queue_position, migration 0011): the plan shows only its call and its time.
      queuePosition: pending ? await plan('SELECT genjobs_queue_position($1, 10000, 128) AS n', [pending.id]) : null,
    };
  } finally {
    await client.end();
  }
}

async function main() {
  const stores = (process.env.BENCH_SCALE_STORES ?? 'sqlite,postgres').split(',');
  const pg = stores.includes('postgres') ? await startPg() : null;
  console.log(`# ${fmt(SMALL)} vs ${fmt(LARGE)} jobs; layouts: one account holding all, or 991 accounts (the measured one holding 1%); ${PENDING_SHARE * 100}% pending`);
  console.log(`# each query: 100 warm-up requests per store, then ${ROUNDS} rounds of ${REQUESTS_PER_ROUND} sequential requests on each store in turn`);
  const results = [];
  const verdicts = [];
  for (const store of stores) {
    for (const layout of ['one', 'many']) {
      const small = await dataset({ store, pgUrl: pg?.url, layout, n: SMALL });
      const large = await dataset({ store, pgUrl: pg?.url, layout, n: LARGE });
      try {
        const queries = {};
        for (const query of Object.keys(small.urls)) queries[query] = await pairedQuery(small, large, query);
        const strip = ({ app, auth, urls, close, ...rest }) => rest;
        results.push({ small: strip(small), large: strip(large), queries });
        console.log(`\n## ${store}, ${layout === 'one' ? 'one account' : '991 accounts'}: ${fmt(SMALL)} jobs (account holds ${fmt(small.accountJobs)}, seeded in ${small.seedS.toFixed(1)} s) vs ${fmt(LARGE)} (account holds ${fmt(large.accountJobs)}, seeded in ${large.seedS.toFixed(1)} s)`);
        const rows = [];
        for (const [query, q] of Object.entries(queries)) {
          if (!q) continue;
          rows.push({ query, [`p50 ${SMALL}`]: q.small.p50, [`p99 ${SMALL}`]: q.small.p99, [`p50 ${LARGE}`]: q.large.p50, [`p99 ${LARGE}`]: q.large.p99, 'p50 ratio (median of rounds)': q.ratio });
        }
        table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(3)) : v]))));
        for (const [query, q] of Object.entries(queries)) {
          if (!q) continue;
          const met = q.ratio <= 1.2;
          console.log(`  ratio ${store}/${layout} ${query} p50 at ${fmt(LARGE)} vs ${fmt(SMALL)}: ${q.ratio.toFixed(3)} (rounds ${Math.min(...q.ratios).toFixed(2)}–${Math.max(...q.ratios).toFixed(2)}) (goal <= 1.2: ${met ? 'met' : 'MISSED'})`);
          verdicts.push({ store, layout, query, ratio: q.ratio, goal: 1.2, met });
        }
        if (large.plans) {
          for (const [name, p] of Object.entries(large.plans)) {
            if (!p) continue;
            console.log(`  plan of ${name} at ${fmt(LARGE)}${p.ms !== undefined ? ` (${p.ms.toFixed(2)} ms)` : ''}: ${p.sql}`);
            for (const line of p.plan) console.log(`    ${line}`);
          }
        }
      } finally {
        await small.close();
        await large.close();
      }
    }
  }
  saveResults('scale', { small: SMALL, large: LARGE, accounts: ACCOUNTS, results, verdicts });
}

await runBench('bench:scale', 12 * 60_000, main);
