import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { MediaPool } from '../../src/providers/builtin/media-pool.js';
import { renderPng } from '../../src/providers/builtin/media/png.js';
import { decodePng } from '../../src/providers/builtin/media/image-ops.js';
import { eventually, testApp, type TestApp } from '../helpers/app.js';

/* The built-in models' rendering runs on worker threads: the event loop stays free for HTTP. */

/** The largest picture local/upscale accepts at scale 4: its 4096x4096 output is the size limit. */
const LARGEST = renderPng({ prompt: 'a harbour at night, many small lights', width: 1024, height: 1024 });

/** Stores `data` as a PNG of this app's local folder and answers its served link. */
async function storedPng(app: TestApp, data: Buffer): Promise<string> {
  const file = await new LocalFileStorage(app.config.dataDir).put({ jobId: 'seed-images', extension: 'png', source: data, limit: data.length });
  return `${app.config.publicUrl}/files/${file.key}`;
}

async function storedImage(app: TestApp): Promise<string> {
  return storedPng(app, LARGEST);
}

/** The bytes behind a served link of this app's local folder. */
async function readLink(app: TestApp, url: string): Promise<Buffer | null> {
  const prefix = `${app.config.publicUrl}/files/`;
  assert.ok(url.startsWith(prefix), url);
  return new LocalFileStorage(app.config.dataDir).read(url.slice(prefix.length), 256 * 1024 * 1024);
}

/** Whether `thread` has exited yet (piscina's threads do not keep the process alive: poll, do not await). */
function exitOf(thread: Worker): () => boolean {
  let exited = false;
  thread.once('exit', () => { exited = true; });
  return () => exited;
}

async function liveApp(t: TestContext, env: Record<string, string> = {}): Promise<{ app: TestApp; base: string }> {
  const app = await testApp({ GENJOBS_SYNC_WAIT_MS: '0', GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

async function runUpscale(base: string, auth: Record<string, string>, imageUrl: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/models/run`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'local/upscale', input: { image_url: imageUrl, scale: 4 } }),
  });
  const body = await res.json() as { id: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

/** Runs local/image and resolves with the status it ends in. */
async function runImage(app: TestApp, base: string, auth: Record<string, string>, prompt: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/models/run`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'local/image', input: { prompt } }),
  });
  const { id } = await res.json() as { id: string };
  const finished = await eventually(async () => {
    const j = await app.store.jobGetById({ id });
    return j && j.status !== 'pending' && j.status !== 'processing' ? j : undefined;
  }, 20_000, `the job "${prompt}" to finish`);
  return finished.status;
}

describe('media worker threads', () => {
  it('answers /healthz and GET /jobs/:id while the largest upscale runs, before it finishes', async (t) => {
    const { app, base } = await liveApp(t);
    const { auth } = await app.account({ credits: 100 });
    const image = await storedImage(app);
    const order: string[] = [];
    let jobId = '';
    const terminal = new Promise<void>((resolve) => {
      app.events.onChanged((n) => {
        if (n.id === jobId && (n.status === 'completed' || n.status === 'failed')) {
          order.push(`job ${n.status}`);
          resolve();
        }
      });
    });
    jobId = await runUpscale(base, auth, image);
    // The job's pixels are on a media thread now (on the event loop, nothing could look until they were done).
    await eventually(() => (app.media.state.tasks === 1 ? true : undefined), 60_000, 'the upscale to reach a media thread');
    // Three requests one after another, each needing several turns of the server's event loop.
    for (let i = 0; i < 3; i++) {
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      order.push('healthz');
    }
    const job = await fetch(`${base}/api/v1/jobs/${jobId}`, { headers: auth });
    assert.equal(job.status, 200);
    order.push(`read ${((await job.json()) as { status: string }).status}`);
    await terminal;
    assert.deepEqual(order, ['healthz', 'healthz', 'healthz', 'read processing', 'job completed']);

    const done = await (await fetch(`${base}/api/v1/jobs/${jobId}`, { headers: auth })).json() as { output_data: { outputImage: string } };
    const output = await readLink(app, done.output_data.outputImage);
    assert.ok(output);
    const picture = decodePng(output);
    assert.deepEqual([picture.width, picture.height], [4096, 4096]);
    assert.ok(app.media.state.threads.length >= 1 && app.media.state.threads.length <= app.config.mediaThreads);
  });

  it('stops the thread of a cancelled upscale, refunds it, and runs the next job on a fresh thread', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_MEDIA_THREADS: '1' });
    const { auth, userId } = await app.account({ credits: 100 });
    const image = await storedImage(app);
    // A job first, so the thread is up: a task given to a ready thread is running on it at once.
    await runImage(app, base, auth, 'warm-up');
    const before = (await app.store.userGetById({ id: userId }))?.credits;
    const jobId = await runUpscale(base, auth, image);
    const [thread] = await eventually(() => {
      const { threads, tasks, queued } = app.media.state;
      return threads.length === 1 && tasks === 1 && queued === 0 ? threads : undefined;
    }, 20_000, 'the upscale to run on the media thread');
    const exited = exitOf(thread!);
    const cancel = await fetch(`${base}/api/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: auth });
    assert.ok(cancel.ok, `cancel answered ${cancel.status}`);
    await eventually(() => (exited() ? true : undefined), 20_000, 'the thread to stop');
    const user = await app.store.userGetById({ id: userId });
    assert.equal(user?.credits, before, 'a cancelled job is refunded');

    assert.equal(await runImage(app, base, auth, 'after the cancel'), 'completed');
  });

  it('rejects an aborted task at once, whether queued or running, and closes without waiting for work', async () => {
    const pool = new MediaPool(1);
    const big = { kind: 'upscale' as const, name: 'big.png', scale: 4 };
    const never = new AbortController().signal;
    // A first task, so the thread is up: a task given to a ready thread is running on it at once.
    await pool.run({ kind: 'image', prompt: 'warm-up', width: 8, height: 8, seed: 0 }, never);
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.run({ ...big, image: new Uint8Array(LARGEST) }, running.signal);
    const second = pool.run({ ...big, image: new Uint8Array(LARGEST) }, queued.signal);
    assert.deepEqual({ ...pool.state, threads: pool.state.threads.length }, { threads: 1, tasks: 2, queued: 1 }, 'one task running, one queued');
    queued.abort(new Error('cancelled while queued'));
    await assert.rejects(second);
    const exited = exitOf(pool.state.threads[0]!);
    running.abort(new Error('cancelled while running'));
    await assert.rejects(first);
    await eventually(() => (exited() ? true : undefined), 20_000, 'the thread to stop');

    const small = await pool.run({ kind: 'image', prompt: 'still works', width: 64, height: 48, seed: 1 }, never);
    assert.deepEqual([decodePng(small).width, decodePng(small).height], [64, 48]);
    const late = assert.rejects(pool.run({ ...big, image: new Uint8Array(LARGEST) }, never));
    await pool.close();
    await late;
    await assert.rejects(pool.run({ kind: 'audio', prompt: 'x', seconds: 1 }, never), /closed/);
  });

  it('names an input that is not a PNG in the job\'s error, as before', async (t) => {
    const { app, base } = await liveApp(t);
    const { auth } = await app.account({ credits: 100 });
    const notPng = await storedPng(app, Buffer.from('not a picture'));
    const jobId = await runUpscale(base, auth, notPng);
    const failed = await eventually(async () => {
      const j = await app.store.jobGetById({ id: jobId });
      return j && j.status === 'failed' ? j : undefined;
    }, 20_000, 'the job to fail');
    assert.equal(failed.errorMessage, `${notPng}: the image is not a PNG file that can be read`);
  });
});
