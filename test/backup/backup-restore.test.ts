import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cli, freePort, startServer, type ServerProcess } from '../helpers/process.js';
import { processStoreEnv, testStoreKind } from '../helpers/store.js';
import { runCli, assertOneLine } from '../cli/run-cli.js';
import type { Manifest } from '../../src/backup/manifest.js';
import { takeBackup } from '../../src/backup/backup.js';

type Json = Record<string, any>;

const TERMINAL = ['completed', 'failed', 'cancelled'];
/** The same PUBLIC_URL on both servers, as an operator restoring behind the same name has: output URLs are stored absolute. */
const PUBLIC_URL = 'http://genjobs.backup.test';

async function api(base: string, key: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Every job of the key's account, following the pages. */
async function allJobs(base: string, key: string): Promise<Json[]> {
  const jobs: Json[] = [];
  for (let after: string | null = null; ;) {
    const { body } = await api(base, key, 'GET', `/jobs?limit=100${after ? `&starting_after=${after}` : ''}`);
    jobs.push(...(body.data as Json[]));
    if (!body.has_more) return jobs;
    after = jobs.at(-1)!.id as string;
  }
}

/** An output file's bytes from `base`, whatever origin its stored URL names. */
async function fileBytes(base: string, url: string): Promise<Buffer> {
  const res = await fetch(`${base}${new URL(url).pathname}`);
  assert.equal(res.status, 200, `${url} from ${base}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * A fresh, empty target: a new data directory, and on PostgreSQL a new database (same schema
 * name as the source: a backup restores into the schema it was taken from).
 */
async function freshTarget(source: Record<string, string>): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-restored-'));
  if (testStoreKind !== 'postgres') return { env: { DATA_DIR: dataDir }, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  const db = `restore_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client(source.DATABASE_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const url = new URL(source.DATABASE_URL!);
  url.pathname = `/${db}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString(), GENJOBS_DB_SCHEMA: source.GENJOBS_DB_SCHEMA! },
    drop: async () => {
      const c = new pg.Client(source.DATABASE_URL);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe(`backup and restore (${testStoreKind})`, { timeout: 300_000 }, () => {
  const tmp: string[] = [];
  const servers: ServerProcess[] = [];
  const drops: (() => Promise<void>)[] = [];
  let source: Record<string, string>;
  let keys: string[];
  let backupDir: string;
  let manifest: Manifest;
  let createdDuringBackup = 0;
  let a: ServerProcess;

  const mkdtemp = (prefix: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tmp.push(dir);
    return dir;
  };

  before(async () => {
    source = { ...processStoreEnv(), DATA_DIR: mkdtemp('genjobs-source-'), PUBLIC_URL, GENJOBS_POLL_MS: '100' };
    keys = [];
    for (let i = 0; i < 3; i += 1) {
      const userId = cli(['users', 'create', '--name', `account ${i}`, '--credits', '5000', '--quiet'], source);
      keys.push(cli(['keys', 'create', userId, '--rate-limit', '100000', '--quiet'], source));
    }
    a = await startServer({ ...source, PORT: String(await freePort()) });
    servers.push(a);
    backupDir = path.join(mkdtemp('genjobs-backups-'), 'backup');
  });

  after(async () => {
    for (const s of servers) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    for (const drop of drops) await drop();
    for (const dir of tmp) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes a backup while three accounts keep creating jobs', async (t) => {
    // One creator per account, each pacing its runs: a mix of images (files), quick and slow test
    // jobs, and failures (refunds). Each stops at 60 jobs, which keeps an account's ledger
    // (charges, refunds, the grant) inside the 100 entries GET /account/ledger shows.
    let backupRunning = false;
    let stop = false;
    let completedImages = 0;
    const created: number[] = [0, 0, 0];
    const creator = async (k: number) => {
      for (let i = 0; !stop && i < 60; i += 1) {
        const body = i % 5 === 0
          ? { model: 'local/image', input: { prompt: `picture ${k}-${i}`, aspect_ratio: '1:1' } }
          : { model: 'local/test', input: { duration_ms: (i % 3) * 150, outcome: i % 4 === 1 ? 'failed' : 'completed' } };
        const started = backupRunning;
        const res = await api(a.url, keys[k]!, 'POST', '/models/run', body);
        assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res.body));
        created[k]! += 1;
        if (started && backupRunning) createdDuringBackup += 1;
        if (body.model === 'local/image' && res.body.status === 'completed') completedImages += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const creators = [0, 1, 2].map(creator);
    // The backup starts once there is something of each kind to keep.
    while (completedImages < 3 || created.reduce((x, y) => x + y, 0) < 20) {
      if (created.every((n) => n >= 60)) throw new Error('the creators ran out before the backup started');
      await new Promise((r) => setTimeout(r, 50));
    }
    backupRunning = true;
    const r = await runCli(['backup', '--out', backupDir], source);
    backupRunning = false;
    stop = true;
    await Promise.all(creators);
    // One more job per account once the backup has ended, so after its snapshot whatever the
    // timing: the creators may have made none after it (on a loaded machine they can even reach
    // their 60 before the snapshot), and the restore test checks the source went on without it.
    for (const key of keys) {
      const res = await api(a.url, key, 'POST', '/models/run', { model: 'local/test', input: {} });
      assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res.body));
    }
    assert.equal(r.status, 0, r.stderr);
    manifest = JSON.parse(r.stdout) as Manifest;
    assert.ok(createdDuringBackup > 0, 'no job was created while the backup ran');
    t.diagnostic(`${manifest.counts.jobs} jobs and ${manifest.files.count} files in the backup; ${createdDuringBackup} jobs created while it ran`);

    assert.equal(manifest.store, testStoreKind);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')), manifest);
    assert.equal(manifest.counts.users, 3);
    assert.equal(manifest.counts.api_keys, 3);
    assert.ok(manifest.counts.jobs >= 20, `${manifest.counts.jobs} jobs in the backup`);
    assert.ok(manifest.files.count >= 3, `${manifest.files.count} files in the backup`);
    // Webhook secrets and key hashes are in it: only the operator may read the folder.
    assert.equal(fs.statSync(backupDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(backupDir, manifest.database.file)).mode & 0o777, 0o600);
  });

  it('restores into a fresh data directory and database that serves the same jobs, balances, ledger and files', async () => {
    const target = await freshTarget(source);
    drops.push(target.drop);
    const restored = await runCli(['restore', '--from', backupDir], target.env);
    assert.equal(restored.status, 0, restored.stderr);

    // Restoring again over what is now there is refused without --force, and done with it.
    const again = await runCli(['restore', '--from', backupDir], target.env);
    assert.equal(again.status, 1);
    assertOneLine(again, /already holds? data: .*--force/);
    const forced = await runCli(['restore', '--from', backupDir, '--force'], target.env);
    assert.equal(forced.status, 0, forced.stderr);
    // A backup that says it is older than what it holds (or, on PostgreSQL, than the target) is
    // refused before the target is touched: the server below still finds everything.
    const older = path.join(mkdtemp('genjobs-older-'), 'older');
    fs.cpSync(backupDir, older, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(older, 'manifest.json'), 'utf8')) as Json;
    m.schema_version -= 1;
    fs.writeFileSync(path.join(older, 'manifest.json'), JSON.stringify(m));
    const refused = await runCli(['restore', '--from', older, '--force'], target.env);
    assert.equal(refused.status, 1, refused.stdout);
    assertOneLine(refused, testStoreKind === 'postgres' ? /newer than the backup's .*restore into an empty schema/ : /does not match the backup's manifest \(schema version/);

    // The source settles, so its finished jobs can be compared with the backup's.
    for (const key of keys) {
      for (;;) {
        const jobs = await allJobs(a.url, key);
        if (jobs.every((j) => TERMINAL.includes(j.status as string))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // The restored server runs no executor and no maintenance: it shows the backup as it is.
    const b = await startServer({ ...target.env, PUBLIC_URL, PORT: String(await freePort()), GENJOBS_MAINTENANCE: 'false' }, ['--no-executor']);
    servers.push(b);

    let jobsRestored = 0;
    let creditsRestored = 0;
    let filesCompared = 0;
    for (const key of keys) {
      // The keys are restored too: the same key works on the restored server.
      const [jobsA, jobsB] = [await allJobs(a.url, key), await allJobs(b.url, key)];
      jobsRestored += jobsB.length;
      const byIdA = new Map(jobsA.map((j) => [j.id as string, j]));
      for (const job of jobsB) {
        const original = byIdA.get(job.id as string);
        assert.ok(original, `restored job ${job.id} is unknown to the source`);
        if (TERMINAL.includes(job.status as string)) {
          assert.deepEqual(job, original);
        } else {
          // Unfinished at the snapshot: the source has since run it.
          for (const field of ['input_data', 'created_at', 'credits_charged', 'model_id']) assert.deepEqual(job[field], original[field], field);
        }
        const image = (job.output_data as Json | null)?.outputImage as string | undefined;
        if (job.status === 'completed' && image) {
          assert.deepEqual(await fileBytes(b.url, image), await fileBytes(a.url, image));
          filesCompared += 1;
        }
      }
      assert.ok(jobsA.length >= jobsB.length);

      const account = (await api(b.url, key, 'GET', '/account')).body;
      const ledgerB = (await api(b.url, key, 'GET', '/account/ledger')).body.data as Json[];
      const ledgerA = (await api(a.url, key, 'GET', '/account/ledger')).body.data as Json[];
      assert.ok(ledgerB.length < 100, 'the whole ledger fits in one answer');
      creditsRestored += account.credits as number;
      assert.equal(ledgerB.reduce((sum, e) => sum + (e.amount as number), 0), account.credits, 'balance = grants - charges + refunds');
      // The entry written last carries the balance. It need not be the first listed: entries are
      // listed by created_at, the clock reading a request took before it waited for the account's
      // row (PostgreSQL), so a charge and a refund of one account can list in the other order.
      assert.ok(ledgerB.some((e) => e.balance_after === account.credits), 'an entry leaves the balance as restored');
      const byIdLedgerA = new Map(ledgerA.map((e) => [e.id as string, e]));
      for (const entry of ledgerB) assert.deepEqual(entry, byIdLedgerA.get(entry.id as string));
      // Every restored job has its charge, and every charge or refund its job.
      const restoredIds = new Set(jobsB.map((j) => j.id as string));
      const charged = new Set(ledgerB.filter((e) => e.kind === 'charge').map((e) => e.job_id as string));
      assert.deepEqual([...charged].sort(), [...restoredIds].sort());
      for (const e of ledgerB.filter((x) => x.kind === 'refund')) assert.ok(restoredIds.has(e.job_id as string));
    }
    assert.equal(jobsRestored, manifest.counts.jobs);
    assert.equal(creditsRestored, manifest.counts.credits_total);
    assert.ok(filesCompared >= 3, `${filesCompared} files compared`);
    const jobsNow = (await Promise.all(keys.map((k) => allJobs(a.url, k)))).reduce((n, j) => n + j.length, 0);
    assert.ok(jobsNow > jobsRestored, 'the source went on creating jobs after the snapshot');

    if (testStoreKind === 'postgres') {
      // Restoring over a schema a genjobs process runs on is refused, --force or not.
      const live = await runCli(['restore', '--from', backupDir, '--force'], source);
      assert.equal(live.status, 1, live.stdout);
      assertOneLine(live, /a genjobs process is running on schema .*stop every genjobs process/);
      const jobsAfter = (await Promise.all(keys.map((k) => allJobs(a.url, k)))).reduce((n, j) => n + j.length, 0);
      assert.equal(jobsAfter, jobsNow, 'the running deployment is untouched');
    }
  });

  it('refuses a backup into a folder that is not empty', async () => {
    const r = await runCli(['backup', '--out', backupDir], source);
    assert.equal(r.status, 1);
    assertOneLine(r, /is not empty: back up into a new folder/);
    assert.ok(fs.existsSync(path.join(backupDir, 'manifest.json')), 'the earlier backup is left alone');
  });

  it('refuses a damaged backup, an unfinished one, one of a newer schema, of the other store or of other file storage, and leaves the target empty', async () => {
    const target = await freshTarget(source);
    drops.push(target.drop);
    const variant = (name: string, change: (dir: string) => void) => {
      const dir = path.join(mkdtemp('genjobs-variant-'), name);
      fs.cpSync(backupDir, dir, { recursive: true });
      change(dir);
      return dir;
    };
    const editManifest = (dir: string, edit: (m: Json) => void) => {
      const file = path.join(dir, 'manifest.json');
      const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
      edit(m);
      fs.writeFileSync(file, JSON.stringify(m));
    };
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['damaged', (dir) => {
        const file = path.join(dir, manifest.database.file);
        const bytes = fs.readFileSync(file);
        bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
        fs.writeFileSync(file, bytes);
      }, /does not match the SHA-256 in the manifest: the backup is damaged/],
      ['newer', (dir) => editManifest(dir, (m) => { m.schema_version += 1; }), /newer than this genjobs knows/],
      ['other-store', (dir) => editManifest(dir, (m) => { m.store = m.store === 'sqlite' ? 'postgres' : 'sqlite'; }), /restores into the same kind of store/],
      ['unfinished', (dir) => fs.rmSync(path.join(dir, 'manifest.json')), /manifest is written last/],
      ['object-storage', (dir) => editManifest(dir, (m) => { m.files.storage = 's3'; }), /restore with the storage the backup was taken with/],
    ];
    for (const [name, change, message] of cases) {
      const r = await runCli(['restore', '--from', variant(name, change)], target.env);
      assert.equal(r.status, 1, `${name}: ${r.stdout}`);
      assertOneLine(r, message);
    }
    assert.deepEqual(fs.readdirSync(target.env.DATA_DIR!), []);
  });
});

describe(`backup with output files in object storage (${testStoreKind})`, { timeout: 120_000 }, () => {
  it('copies the database only, and says where the files were', async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-s3-source-'));
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = { ...processStoreEnv(), DATA_DIR: dataDir };
    cli(['users', 'create', '--credits', '3', '--quiet'], env);
    // A local file that a backup of S3-kept files must not take.
    fs.mkdirSync(path.join(dataDir, 'files', 'job'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'files', 'job', 'a.png'), 'x');
    const out = path.join(dataDir, 'backup');
    const manifest = await takeBackup({
      dataDir, databaseUrl: env.DATABASE_URL ?? null, databaseSchema: env.GENJOBS_DB_SCHEMA ?? null, storage: 's3',
    }, out);
    assert.deepEqual(manifest.files, { storage: 's3', count: 0, bytes: 0 });
    assert.equal(manifest.counts.users, 1);
    assert.equal(fs.existsSync(path.join(out, 'files')), false);
  });
});

describe('backup and restore in the default schema (postgres)', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false, timeout: 120_000 }, () => {
  it('restores a database whose tables are in public into a new database, where public already exists', async (t) => {
    const admin = process.env.GENJOBS_TEST_PG_URL!;
    const names = [`src_${randomBytes(4).toString('hex')}`, `dst_${randomBytes(4).toString('hex')}`];
    const c = new pg.Client(admin);
    await c.connect();
    for (const db of names) await c.query(`CREATE DATABASE ${db}`);
    const dirs = names.map((db) => fs.mkdtempSync(path.join(os.tmpdir(), `genjobs-${db}-`)));
    t.after(async () => {
      for (const db of names) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.end();
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    });
    const envFor = (i: number) => {
      const url = new URL(admin);
      url.pathname = `/${names[i]}`;
      return { DATABASE_URL: url.toString(), DATA_DIR: dirs[i]! };
    };
    const userId = cli(['users', 'create', '--credits', '42', '--quiet'], envFor(0));
    const out = path.join(dirs[0]!, 'backup');
    const taken = await runCli(['backup', '--out', out], envFor(0));
    assert.equal(taken.status, 0, taken.stderr);
    assert.equal((JSON.parse(taken.stdout) as Manifest).pg_schema, 'public');
    const restored = await runCli(['restore', '--from', out], envFor(1));
    assert.equal(restored.status, 0, restored.stderr);
    assert.equal((JSON.parse(cli(['users', 'show', userId], envFor(1))) as Json).credits, 42);
  });
});
