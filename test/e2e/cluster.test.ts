import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cli, freePort, startExecutor, startServer, type ServerProcess } from '../helpers/process.js';
import { Children, fileChildren } from '../helpers/children.js';
import { processStoreEnv, testStoreKind } from '../helpers/store.js';
import { eventually } from '../helpers/app.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

/**
 * Scale-out on PostgreSQL: several API processes and executors sharing one database, killed
 * and cut off from it mid-run. Runs in the PostgreSQL pass of `npm test`.
 */
const skip = testStoreKind !== 'postgres' ? 'needs PostgreSQL (the postgres pass of npm test)' : false;

type Json = Record<string, any>;

async function call(base: string, key: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

/** Runs `worker` over `items` with at most `n` at once. */
async function pool<T>(items: T[], n: number, worker: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await worker(items[i] as T, i);
    }
  }));
}

/** A client on the test's schema, for checking the books directly. */
async function dbClient(env: Record<string, string>): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL, options: `-c search_path=${env.GENJOBS_DB_SCHEMA}` });
  await client.connect();
  return client;
}

/** Every account's books balance, every job is charged once and refunded at most once, as its status says. */
async function assertBooks(db: pg.Client): Promise<void> {
  const unbalanced = await db.query(`SELECT u.id, u.credits, COALESCE(SUM(l.amount), 0)::bigint AS ledger FROM users u
    LEFT JOIN ledger_entries l ON l.user_id = u.id GROUP BY u.id HAVING u.credits <> COALESCE(SUM(l.amount), 0)`);
  assert.deepEqual(unbalanced.rows, [], 'balance = grants - charges + refunds for every account');
  const wrong = await db.query(`SELECT j.id, j.status, j.credits_charged, j.credits_refunded,
      COUNT(*) FILTER (WHERE l.kind = 'charge') AS charges, COUNT(*) FILTER (WHERE l.kind = 'refund') AS refunds,
      COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'refund'), 0) AS refunded
    FROM jobs j LEFT JOIN ledger_entries l ON l.job_id = j.id GROUP BY j.id
    HAVING COUNT(*) FILTER (WHERE l.kind = 'charge') <> 1
      OR (j.status = 'completed' AND (COUNT(*) FILTER (WHERE l.kind = 'refund') <> 0 OR j.credits_refunded <> 0))
      OR (j.status = 'failed' AND (COUNT(*) FILTER (WHERE l.kind = 'refund') <> 1 OR j.credits_refunded <> j.credits_charged))
      OR (j.status = 'cancelled' AND COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'refund'), 0) <> j.credits_refunded)
      OR j.status NOT IN ('completed', 'failed', 'cancelled')`);
  assert.deepEqual(wrong.rows, [], 'each job charged once; failed refunded once in full; completed never refunded; all terminal');
}

async function waitAllTerminal(db: pg.Client, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const { rows } = await db.query(`SELECT COUNT(*)::int AS n FROM jobs WHERE status IN ('pending', 'processing')`);
    if (rows[0].n === 0) return;
    if (Date.now() > until) throw new Error(`${rows[0].n} jobs still unfinished`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('scale-out: two API processes and two executors on one PostgreSQL', { skip, timeout: 300_000 }, () => {
  let env: Record<string, string>;
  let dataDir: string;
  const apis: ServerProcess[] = [];
  const executors: ServerProcess[] = [];
  const executorLogs: (() => string)[] = [];
  let keys: string[];
  let db: pg.Client;
  // Every process of the suite, killed in `after` even if it is still starting (the executor
  // restarted mid-run may be).
  const children = new Children(fileChildren);

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-cluster-'));
    env = { ...processStoreEnv(), DATA_DIR: dataDir, GENJOBS_LEASE_MS: '2000', GENJOBS_POLL_MS: '500', GENJOBS_DB_POOL_SIZE: '8' };
    keys = [];
    for (let i = 0; i < 2; i++) {
      const userId = cli(['users', 'create', '--credits', '3000', '--quiet'], env);
      keys.push(cli(['keys', 'create', userId, '--rate-limit', '1000000', '--quiet'], env));
    }
    for (let i = 0; i < 2; i++) {
      const port = String(await freePort());
      apis.push(await startServer({ ...env, PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` }, ['--no-executor'], children));
    }
    for (let i = 0; i < 2; i++) {
      const ex = await startExecutor({ ...env, GENJOBS_EXECUTOR_CONCURRENCY: '24' }, children);
      executors.push(ex);
      executorLogs.push(ex.output);
    }
    db = await dbClient(env);
  });
  after(async () => {
    await children.close();
    await db?.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs 2,000 jobs through both APIs while an executor is killed and restarted, keeping every account\'s books', async () => {
    const runs = Array.from({ length: 2000 }, (_, i) => ({
      key: keys[i % 2] as string,
      api: apis[i % 2] as ServerProcess,
      other: apis[(i + 1) % 2] as ServerProcess,
      input: { duration_ms: (i * 37) % 250, outcome: i % 5 === 0 ? 'failed' : 'completed' },
      cancel: i % 23 === 0,
    }));
    let accepted = 0;
    let restarted: Promise<void> | undefined;
    // Long runs made mid-run until the executor to be killed holds one (its lease owner is
    // host:pid:random): a job it holds then cannot finish before the kill lands, as the short
    // runs can on a loaded machine, and must be taken over.
    const extra: string[] = [];
    let held: string | undefined;
    await pool(runs, 24, async (run, i) => {
      if (i === 700) {
        // Mid-run: one executor dies without a word while it holds a job, and comes back a moment later.
        const victim = executors[0]!;
        while (held === undefined) {
          const r = await call(run.api.url, run.key, 'POST', '/models/run', { model: 'local/test', input: { duration_ms: 5_000 } });
          assert.equal(r.status, 202, JSON.stringify(r.body));
          extra.push(r.body.id);
          const row = await eventually(async () => {
            const { rows } = await db.query('SELECT status, lease_owner FROM jobs WHERE id = $1', [r.body.id]);
            return rows[0].status === 'pending' ? undefined : rows[0];
          }, 60_000, 'a long run to be claimed');
          if (row.status === 'processing' && String(row.lease_owner).includes(`:${victim.child.pid}:`)) held = r.body.id;
        }
        victim.child.kill('SIGKILL');
        await victim.exited;
        restarted = new Promise((r) => setTimeout(r, 500)).then(async () => {
          const ex = await startExecutor({ ...env, GENJOBS_EXECUTOR_CONCURRENCY: '24' }, children);
          executors[0] = ex;
          executorLogs.push(ex.output);
        });
        restarted.catch(() => undefined); // awaited after the runs: a failure is reported there
      }
      const res = await call(run.api.url, run.key, 'POST', '/models/run', { model: 'local/test', input: run.input });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      accepted++;
      if (run.cancel) {
        const c = await call(run.other.url, run.key, 'POST', `/jobs/${res.body.id}/cancel`);
        assert.ok(c.status === 200 || c.status === 409, `cancel answered ${c.status}`);
      }
    });
    assert.equal(accepted, 2000);
    await restarted;
    await waitAllTerminal(db, 120_000);
    await assertBooks(db);
    const { rows } = await db.query(`SELECT status, COUNT(*)::int AS n FROM jobs GROUP BY status`);
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    assert.equal((byStatus.completed ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0), 2000 + extra.length);
    assert.ok(byStatus.failed >= 300, 'the failures asked for happened');
    const takenOver = await db.query('SELECT status, attempts FROM jobs WHERE id = $1', [held]);
    assert.equal(takenOver.rows[0].status, 'completed');
    assert.ok(takenOver.rows[0].attempts > 1, 'the job the killed executor held was taken over by another claim');
    // No job was completed twice: the store refuses a second completion, and no executor recorded one.
    const recorded = executorLogs.flatMap((log) => log().split('\n'))
      .filter((line) => line.includes('"executor: job finished"') && line.includes('"recorded":true') && line.includes('"status":"completed"'))
      .map((line) => (JSON.parse(line) as { jobId: string }).jobId);
    assert.equal(new Set(recorded).size, recorded.length, 'a job recorded as completed twice');
    assert.ok(recorded.length >= byStatus.completed - 100, 'completions were logged');
  });

  it('stops a job on whichever executor runs it when another API process cancels it', async () => {
    const [a, b] = apis as [ServerProcess, ServerProcess];
    const run = await call(a.url, keys[0]!, 'POST', '/models/run', { model: 'local/test', input: { duration_ms: 60_000 } });
    // Cancelled while still pending, it would never reach an executor: wait until one runs it.
    await eventually(async () => ((await call(a.url, keys[0]!, 'GET', `/jobs/${run.body.id}`)).body.status === 'processing' ? true : undefined), 60_000, 'the job to be processing');
    assert.equal((await call(b.url, keys[0]!, 'POST', `/jobs/${run.body.id}/cancel`)).status, 200);
    // The executor learns it from the cancel's notice, or, when its lease renewal comes first
    // (a loaded machine), from finding the lease gone: either way it stops the work.
    const stopped = () => executorLogs.some((log) => log().split('\n').some((line) => line.includes(`"jobId":"${run.body.id}"`)
      && line.includes('"executor: job stopped"') && /"reason":"(The job was cancelled\.|This executor lost the job's lease\.)"/.test(line)));
    await eventually(() => (stopped() ? true : undefined), 30_000, 'the executor running it to stop it');
    assert.equal((await call(a.url, keys[0]!, 'GET', `/jobs/${run.body.id}`)).body.status, 'cancelled');
  });

  it('holds a key\'s rate limit across both API processes together', async () => {
    const userId = cli(['users', 'create', '--credits', '10', '--quiet'], env);
    const key = cli(['keys', 'create', userId, '--rate-limit', '30', '--quiet'], env);
    const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => call(apis[i % 2]!.url, key, 'GET', '/account')));
    const ok = answers.filter((r) => r.status === 200).length;
    assert.equal(ok, 30, 'exactly the limit admitted, whichever process answered');
    const refused = answers.filter((r) => r.status === 429);
    assert.equal(refused.length, 60);
    for (const r of refused) assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  });

  it('shuts every role down gracefully on SIGTERM', async () => {
    const all = [...apis, ...executors];
    for (const p of all) p.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(all.map((p) => p.exited)), all.map(() => 0));
  });
});

describe('a database restart during a run', { skip, timeout: 120_000 }, () => {
  let cluster: PgCluster;
  let server: ServerProcess | undefined;
  let dataDir: string;
  const children = new Children(fileChildren);

  before(async () => {
    cluster = await startPgCluster();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-outage-'));
  });
  after(async () => {
    await children.close();
    cluster?.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while the database is down, recovers by itself and loses no accepted job', async () => {
    try {
      await outageScenario();
    } catch (err) {
      // What the server logged during the outage explains a failure here.
      (err as Error).message += `\n--- server output ---\n${server?.output() ?? ''}`;
      throw err;
    }
  });

  async function outageScenario(): Promise<void> {
    const port = String(await freePort());
    const env = { DATABASE_URL: cluster.url, DATA_DIR: dataDir, PORT: port, GENJOBS_LEASE_MS: '3000', GENJOBS_POLL_MS: '300' };
    const userId = cli(['users', 'create', '--credits', '1000', '--quiet'], env);
    const key = cli(['keys', 'create', userId, '--rate-limit', '100000', '--quiet'], env);
    server = await startServer(env, [], children);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await call(server.url, key, 'POST', '/models/run', { model: 'local/test', input: { duration_ms: 200 + i * 20, outcome: i % 4 ? 'completed' : 'failed' } });
      assert.equal(r.status, 202);
      ids.push(r.body.id);
    }

    cluster.stop();
    const during = await Promise.all([
      call(server.url, key, 'GET', `/jobs/${ids[0]}`),
      call(server.url, key, 'POST', '/models/run', { model: 'local/test' }),
      call(server.url, key, 'GET', '/jobs'),
    ]);
    for (const r of during) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, 'unavailable');
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    cluster.start();

    // The process was never restarted: it reconnects by itself (bounded for a loaded machine).
    const after = await eventually(async () => {
      const r = await call(server!.url, key, 'POST', '/models/run', { model: 'local/test', input: { duration_ms: 10 } });
      return r.status === 202 ? r : undefined;
    }, 60_000, 'a run accepted after the database came back');
    ids.push(after.body.id);

    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await waitAllTerminal(client, 60_000);
      const { rows } = await client.query(`SELECT COUNT(*)::int AS n FROM jobs WHERE id = ANY($1::text[])`, [ids]);
      assert.equal(rows[0].n, ids.length, 'every accepted job is still there');
      await assertBooks(client);
    } finally {
      await client.end();
    }
  }
});
