import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cli, freePort, startExecutor, startServer, type ServerProcess } from '../helpers/process.js';
import { Children, fileChildren } from '../helpers/children.js';
import { processStoreEnv, testStoreKind } from '../helpers/store.js';
import { startS3Server, type TestS3 } from '../helpers/s3-server.js';
import { eventually } from '../helpers/app.js';

/**
 * Outputs that outlive one machine (issue 16): two API processes and two executors on one
 * PostgreSQL, files in S3 (a local S3-compatible server over real HTTP), each process with its
 * own PUBLIC_URL and its own DATA_DIR (no shared folder). Every output is served by every API
 * process, and each answer links it at the process that answered. Runs in the PostgreSQL pass.
 */
const skip = testStoreKind !== 'postgres' ? 'needs PostgreSQL (the postgres pass of npm test)' : false;

type Json = Record<string, any>;
const APP_ID = '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11';

/** Every string of an output, with where it sits. */
function strings(value: unknown, at = ''): [string, string][] {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

/** Every `$file` of a stored output, with where it sits (the same paths as `strings` of the shown one). */
function storedFiles(value: unknown, at = ''): [string, Json][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => storedFiles(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    if ('$file' in value) return [[at, (value as Json).$file as Json]];
    return Object.entries(value).flatMap(([k, v]) => storedFiles(v, `${at}.${k}`));
  }
  return [];
}

describe('outputs on S3 behind two API processes and two executors with different PUBLIC_URLs', { skip, timeout: 300_000 }, () => {
  let s3: TestS3;
  let db: pg.Client;
  const dirs: string[] = [];
  const apis: ServerProcess[] = [];
  const executors: ServerProcess[] = [];
  let key: string;
  // Every process of the suite, killed in `after` even if it is still starting.
  const children = new Children(fileChildren);

  /** A DATA_DIR of one process alone. */
  const ownDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-outputs-cluster-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    s3 = await startS3Server();
    const env: Record<string, string> = { ...processStoreEnv(), ...s3.env, GENJOBS_LEASE_MS: '3000', GENJOBS_POLL_MS: '200', GENJOBS_DB_POOL_SIZE: '4' };
    const cliEnv = { ...env, DATA_DIR: ownDir() };
    const userId = cli(['users', 'create', '--credits', '100000', '--quiet'], cliEnv);
    key = cli(['keys', 'create', userId, '--rate-limit', '1000000', '--quiet'], cliEnv);
    for (let i = 0; i < 2; i++) {
      const port = String(await freePort());
      apis.push(await startServer({ ...env, DATA_DIR: ownDir(), PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` }, ['--no-executor'], children));
    }
    // Executors' own addresses are never reachable: a link made from them would be a dead one.
    for (let i = 0; i < 2; i++) executors.push(await startExecutor({ ...env, DATA_DIR: ownDir(), PUBLIC_URL: `http://executor-${i}.invalid` }, children));
    db = new pg.Client({ connectionString: env.DATABASE_URL, options: `-c search_path=${env.GENJOBS_DB_SCHEMA}` });
    await db.connect();
  });
  after(async () => {
    await children.close();
    await db?.end();
    await s3?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (api: ServerProcess, method: string, p: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${api.url}/api/v1${p}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Json;
    assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  it('every output is served by every API process, each link pointing at the process that answered', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const api = apis[i % 2]!;
      const kind = i % 3;
      const job = kind === 0 ? await call(api, 'POST', '/models/run', { model: 'local/image', input: { prompt: `lighthouse ${i}` } })
        : kind === 1 ? await call(api, 'POST', '/models/run', { model: 'local/audio', input: { prompt: `wave ${i}`, duration_seconds: 1 } })
          : await call(api, 'POST', '/apps/run', { app_id: APP_ID, inputs: { prompt: `boat ${i}` } });
      ids.push(job.id as string);
    }
    for (const id of ids) {
      const stored = await eventually(async () => {
        const { rows } = await db.query('SELECT status, output_data, error_message, lease_owner FROM jobs WHERE id = $1', [id]);
        const row = rows[0] as Json;
        return row.status === 'pending' || row.status === 'processing' ? undefined : row;
      }, 120_000, `job ${id} to finish`);
      assert.equal(stored.status, 'completed', stored.error_message);
      const files = new Map(storedFiles(stored.output_data));
      assert.ok(files.size > 0, JSON.stringify(stored.output_data));
      assert.equal(JSON.stringify(stored.output_data).includes('http'), false, 'the store keeps references, no URL');

      const seen: Buffer[][] = [];
      for (const api of apis) {
        const shown = (await call(api, 'GET', `/jobs/${id}`)).output_data;
        const links = strings(shown).filter(([at]) => files.has(at));
        assert.equal(links.length, files.size, JSON.stringify(shown));
        const bodies: Buffer[] = [];
        for (const [at, link] of links) {
          const file = files.get(at)!;
          assert.equal(link, `${api.url}/files/${file.key}`, 'the link names the process that answered');
          const res = await fetch(link);
          assert.equal(res.status, 200, link);
          assert.equal(res.headers.get('content-type'), file.contentType);
          const bytes = Buffer.from(await res.arrayBuffer());
          assert.equal(bytes.length, file.size);
          assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, 'the bytes are the ones stored');
          bodies.push(bytes);
        }
        seen.push(bodies);
      }
      assert.deepEqual(seen[0], seen[1], 'both API processes serve the same files');
    }
    // Nothing went to any process's own folder: the files are in the bucket alone.
    for (const dir of dirs) {
      const local = fs.existsSync(path.join(dir, 'files')) ? fs.readdirSync(path.join(dir, 'files')) : [];
      assert.deepEqual(local, [], `${dir} holds no output file`);
    }
    const inBucket = await s3.keys();
    for (const id of ids) assert.ok(inBucket.some((k) => k.startsWith(`${id}/`)), `the bucket holds the files of ${id}`);
  });
});
