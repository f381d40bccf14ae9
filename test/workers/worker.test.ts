import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { PNG } from 'pngjs';
import { CLI } from '../helpers/process.js';
import { defaultCatalogPath, packageRoot } from '../../src/paths.js';

/** The worker model docs/workers.md sets up (acme/sdxl), read from its first JSON block. */
function documentedWorkerModel(): unknown {
  const doc = fs.readFileSync(path.join(packageRoot, 'docs', 'workers.md'), 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'docs/workers.md has a JSON block with the model');
  return JSON.parse(block);
}

/** The bundled catalog plus worker-served models. */
function catalogWithWorkerModels(dir: string): string {
  const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
  catalog.models.push(
    documentedWorkerModel(),
    { id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 7, outputType: 'image', provider: { type: 'worker' }, settings: [{ key: 'text', label: 'Text', inputType: 'text' }] },
    { id: 'gpu/other', name: 'GPU other', modality: 'image', cost: 3, outputType: 'image', provider: { type: 'worker' } },
  );
  const file = path.join(dir, 'catalog.json');
  fs.writeFileSync(file, JSON.stringify(catalog));
  return file;
}

interface Env {
  app: TestApp;
  url: string;
  auth: { authorization: string };
  userId: string;
  dir: string;
  children: ChildProcess[];
}

// Leases of 3 s: a worker process starved of the CPU for a second and a half on a loaded machine
// must not lose its job to a second claim the test did not ask for.
async function setup(leaseMs = 3000, env: Record<string, string> = {}): Promise<Env> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-workers-'));
  const app = await testApp({ GENJOBS_CATALOG: catalogWithWorkerModels(dir), GENJOBS_WORKER_LEASE_MS: String(leaseMs), GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
  const { auth, userId } = await app.account({ credits: 100 });
  return { app, url: address, auth, userId, dir, children: [] };
}

async function teardown(env: Env): Promise<void> {
  for (const c of env.children) {
    try { process.kill(-(c.pid as number), 'SIGKILL'); } catch { /* gone */ }
    c.kill('SIGKILL');
  }
  await env.app.dispose();
  fs.rmSync(env.dir, { recursive: true, force: true });
}

async function issueWorker(env: Env, models: string[]): Promise<string> {
  const res = await env.app.server.inject({ method: 'POST', url: '/admin/v1/workers', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'gpu-box', models } });
  assert.equal(res.statusCode, 201, res.body);
  const token = res.json().token as string;
  assert.match(token, /^wk_live_[\w-]{43}$/);
  return token;
}

/** Starts `genjobs worker` as its own process group (so the test can kill it and its commands). */
function startWorker(env: Env, token: string, exec: string, extraEnv: Record<string, string> = {}, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--url', env.url, '--token', token, '--model', 'gpu/echo', '--exec', exec, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  env.children.push(child);
  return child;
}

const run = async (env: Env, model = 'gpu/echo', input: Record<string, unknown> = { text: 'hello' }) => {
  const res = await env.app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: env.auth, payload: { model, input } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().id as string;
};
const job = async (env: Env, id: string) => env.app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: env.auth }).then((r) => r.json());
const worker = (env: Env, token: string, url: string, payload: unknown) =>
  env.app.server.inject({ method: 'POST', url: `/worker/v1${url}`, headers: { authorization: `Bearer ${token}` }, payload: payload as object });

// Budgets for the whole suite, each test starting worker processes: generous for a loaded machine.
describe('self-hosted workers', { timeout: 180_000 }, () => {
  it('runs a job through the reference worker end to end: input on stdin, the output file uploaded and served', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    // The "model": reads the input JSON and writes it, reversed, as the output file.
    startWorker(env, token, `node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>require('fs').writeFileSync(process.env.GENJOBS_OUTPUT_DIR+'/out.txt',JSON.parse(s).text.split('').reverse().join('')))"`);
    const id = await run(env, 'gpu/echo', { text: 'hello' });
    const done = await eventually(async () => { const j = await job(env, id); return j.status === 'completed' ? j : undefined; }, 20_000, 'the worker to complete the job');
    const file = await env.app.server.inject({ method: 'GET', url: new URL(done.output_data.outputImage as string).pathname });
    assert.equal(file.body, 'olleh');
    assert.equal(done.credits_charged, 7);
    assert.equal(done.credits_refunded, 0);
  });

  it('leaves worker models to workers: the executor never runs them', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const id = await run(env);
    // A job the executor may run, queued behind it: once that one is done, the executor has
    // claimed past the worker's job (claims take the oldest first).
    const after = await run(env, 'local/test', {});
    await eventually(async () => ((await job(env, after)).status === 'completed' ? true : undefined), 10_000, 'the executor to run the later job');
    assert.equal((await job(env, id)).status, 'pending');
  });

  it('hands the job of a worker killed mid-job to another worker, which completes it, charged once', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const exec = 'if [ -n "$SLOW" ]; then sleep 30; fi; echo rescued > "$GENJOBS_OUTPUT_DIR/out.txt"';
    const slow = startWorker(env, token, exec, { SLOW: '1' });
    const id = await run(env);
    await eventually(async () => ((await job(env, id)).status === 'processing' ? true : undefined), 10_000, 'the slow worker to claim');
    process.kill(-(slow.pid as number), 'SIGKILL');
    startWorker(env, token, exec);
    const done = await eventually(async () => { const j = await job(env, id); return j.status === 'completed' ? j : undefined; }, 20_000, 'another worker to complete it');
    const file = await env.app.server.inject({ method: 'GET', url: new URL(done.output_data.outputImage as string).pathname });
    assert.equal(file.body.trim(), 'rescued');
    const entries = (await env.app.store.ledgerList({ userId: env.userId, limit: 10, jobId: id })).map((e) => e.kind);
    assert.deepEqual(entries, ['charge']);
    assert.equal((await env.app.store.jobGetById({ id }))?.attempts, 2);
  });

  it('terminates the running command when its job is cancelled', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const mark = path.join(env.dir, 'mark');
    startWorker(env, token, `echo started > ${mark}; trap 'echo terminated > ${mark}; exit 143' TERM; sleep 30 & wait`);
    const id = await run(env);
    await eventually(() => (fs.existsSync(mark) ? true : undefined), 10_000, 'the command to start');
    const cancel = await env.app.server.inject({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, headers: env.auth });
    assert.equal(cancel.statusCode, 200);
    await eventually(() => (fs.readFileSync(mark, 'utf8').trim() === 'terminated' ? true : undefined), 5_000, 'the command to be terminated');
    assert.equal((await job(env, id)).status, 'cancelled');
  });

  it('on SIGTERM stops its command after the grace period and gives the job back for another worker', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const slow = startWorker(env, token, 'sleep 30', {}, ['--grace-ms', '200']);
    const exited = new Promise<number | null>((resolve) => slow.once('exit', (code) => resolve(code)));
    const id = await run(env);
    await eventually(async () => ((await job(env, id)).status === 'processing' ? true : undefined), 10_000, 'the worker to claim');
    slow.kill('SIGTERM');
    assert.equal(await exited, 0);
    const released = await env.app.store.jobGetById({ id });
    assert.deepEqual([released?.status, released?.leaseOwner, released?.attempts], ['processing', null, 0], 'given back, the attempt not counted');
    startWorker(env, token, 'echo again > "$GENJOBS_OUTPUT_DIR/out.txt"');
    await eventually(async () => ((await job(env, id)).status === 'completed' ? true : undefined), 10_000, 'another worker to run it');
  });

  it('refuses the late completion of a worker whose lease ran out, and accepts the new holder\'s', async (t) => {
    const env = await setup(1000);
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const other = await issueWorker(env, ['gpu/echo']);
    const id = await run(env);
    const first = await worker(env, token, '/jobs/claim', {});
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().job.id, id);
    assert.equal(first.json().job.output_field, 'outputImage');
    assert.deepEqual(first.json().job.input, { text: 'hello' });
    // The first lease (1 s, no heartbeat) runs out: the job becomes the other worker's to claim.
    const second = await eventually(async () => {
      const res = await worker(env, other, '/jobs/claim', {});
      return res.statusCode === 200 ? res : undefined;
    }, 10_000, 'the lease to run out');
    assert.equal(second.json().job.id, id);
    const late = await worker(env, token, `/jobs/${id}/complete`, { lease_token: first.json().job.lease_token, output: { outputImage: 'http://x/late.png' } });
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().code, 'lease_lost');
    const beat = await worker(env, token, `/jobs/${id}/heartbeat`, { lease_token: first.json().job.lease_token });
    assert.deepEqual([beat.json().continue, beat.json().reason], [false, 'lease_lost']);
    // Guessing the new lease token does not help a worker that is not the holder.
    const guessed = await worker(env, token, `/jobs/${id}/complete`, { lease_token: second.json().job.lease_token, output: { outputImage: 'http://x/guess.png' } });
    assert.equal(guessed.statusCode, 409);
    const ok = await worker(env, other, `/jobs/${id}/complete`, { lease_token: second.json().job.lease_token, output: { outputImage: 'http://x/good.png' } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual((await job(env, id)).output_data, { outputImage: 'http://x/good.png' });
  });

  it('records progress and log lines from heartbeats, and refunds a job the worker fails', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const id = await run(env);
    const claim = (await worker(env, token, '/jobs/claim', {})).json().job;
    const beat = await worker(env, token, `/jobs/${id}/heartbeat`, { lease_token: claim.lease_token, progress: 0.5, logs: ['warming up'] });
    assert.equal(beat.json().continue, true);
    assert.equal((await env.app.store.jobGetById({ id }))?.progress, 0.5);
    assert.deepEqual((await env.app.store.jobLogList({ id, limit: 10 })).map((l) => l.line), ['warming up']);
    const failed = await worker(env, token, `/jobs/${id}/fail`, { lease_token: claim.lease_token, error: 'CUDA out of memory' });
    assert.equal(failed.statusCode, 200);
    const j = await job(env, id);
    assert.deepEqual([j.status, j.error_message, j.credits_refunded], ['failed', 'CUDA out of memory', 7]);
  });

  it('does not let a worker token claim models it was not granted', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    await run(env, 'gpu/other', {});
    const forbidden = await worker(env, token, '/jobs/claim', { models: ['gpu/other'] });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().code, 'worker_model_forbidden');
    assert.equal((await worker(env, token, '/jobs/claim', {})).statusCode, 204, 'its own models have no job; the other model\'s job is not handed out');
    const bad = await env.app.server.inject({ method: 'POST', url: '/worker/v1/jobs/claim', headers: { authorization: 'Bearer wk_live_nope' }, payload: {} });
    assert.equal(bad.statusCode, 401);
    const notWorker = await env.app.server.inject({ method: 'POST', url: '/admin/v1/workers', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { models: ['local/image'] } });
    assert.equal(notWorker.statusCode, 400, 'a worker cannot be granted a model the executor runs');
  });

  it('waits for a job with a long poll and hands it out as soon as it is created', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['gpu/echo']);
    const claiming = worker(env, token, '/jobs/claim', { wait_ms: 30_000 });
    // The claim has reached the server once its worker is seen (its token checked).
    await eventually(async () => ((await env.app.store.workerList()).some((w) => w.lastSeenAt !== null) ? true : undefined), 5_000, 'the claim to arrive');
    const id = await run(env);
    const res = await claiming;
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().job.id, id);
  });
});

describe('the Python worker of docs/examples', { timeout: 120_000 }, () => {
  const script = path.join(packageRoot, 'docs', 'examples', 'worker.py');
  const startPython = (env: Env, token: string) => {
    // Run as documented: python3 docs/examples/worker.py acme/sdxl
    const child = spawn('python3', [script, 'acme/sdxl'], { env: { ...process.env, GENJOBS_URL: env.url, GENJOBS_WORKER_TOKEN: token }, stdio: 'ignore', detached: true });
    env.children.push(child);
  };

  it('completes a job of the documented model (acme/sdxl) with a PNG, reporting its steps', async (t) => {
    const env = await setup();
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['acme/sdxl']);
    startPython(env, token);
    const id = await run(env, 'acme/sdxl', { prompt: 'a lighthouse at dusk', steps: 5 });
    const done = await eventually(async () => { const j = await job(env, id); return j.status === 'completed' || j.status === 'failed' ? j : undefined; }, 20_000, 'the Python worker to finish the job');
    assert.equal(done.status, 'completed', done.error_message);
    const file = await env.app.server.inject({ method: 'GET', url: new URL(done.output_data.outputImage as string).pathname });
    const image = PNG.sync.read(file.rawPayload);
    assert.deepEqual([image.width, image.height], [128, 128]);
    assert.ok((await env.app.store.jobLogList({ id, limit: 10 })).some((l) => l.line === 'step 1 of 5'), 'its log lines arrived');
  });

  it('fails (and so refunds) a job whose upload the server refuses, instead of leaving it to expire', async (t) => {
    const env = await setup(60_000, { GENJOBS_WORKER_UPLOAD_LIMIT: '1024' });
    t.after(() => teardown(env));
    const token = await issueWorker(env, ['acme/sdxl']);
    startPython(env, token);
    const id = await run(env, 'acme/sdxl', { prompt: 'too big to upload', steps: 1 });
    // The lease is a minute long: only the worker's own fail call ends the job within the wait.
    const done = await eventually(async () => { const j = await job(env, id); return j.status === 'processing' || j.status === 'pending' ? undefined : j; }, 20_000, 'the job to end');
    assert.equal(done.status, 'failed');
    assert.match(done.error_message, /upload was refused \(4\d\d\)/);
    assert.equal(done.credits_refunded, done.credits_charged);
  });
});
