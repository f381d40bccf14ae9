import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testApp, type TestApp } from '../helpers/app.js';

type Json = Record<string, any>;
type Auth = { authorization: string };

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const EXECUTOR_OFF = { GENJOBS_EXECUTOR: 'false' };

async function call(app: TestApp, auth: Auth, method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({
    method, url,
    headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json() as Json };
}

const get = (app: TestApp, auth: Auth, url: string) => call(app, auth, 'GET', url);
const cancel = (app: TestApp, auth: Auth, id: string) => call(app, auth, 'POST', `/api/v1/jobs/${id}/cancel`);

/** Runs a model and returns the accepted job (asserting it was accepted). */
async function runJob(app: TestApp, auth: Auth, model: string, input: Json = {}): Promise<Json> {
  const res = await call(app, auth, 'POST', '/api/v1/models/run', { model, input });
  assert.ok(res.status === 200 || res.status === 202, `run of ${model}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function balance(app: TestApp, auth: Auth): Promise<number> {
  const res = await get(app, auth, '/api/v1/account');
  assert.equal(res.status, 200);
  return res.body.credits as number;
}

async function waitForStatus(app: TestApp, auth: Auth, id: string, status: string, ms = 10_000): Promise<Json> {
  return eventually(async () => {
    const res = await get(app, auth, `/api/v1/jobs/${id}`);
    assert.equal(res.status, 200);
    return res.body.status === status ? res.body : undefined;
  }, ms, `job ${id} to be ${status}`);
}

/** Waits until the job is processing and the executor really holds it. */
async function waitUntilRunning(app: TestApp, auth: Auth, id: string): Promise<Json> {
  const job = await waitForStatus(app, auth, id, 'processing');
  await eventually(() => (app.executor!.runningCount > 0 ? true : undefined), 5000, 'the executor to run the job');
  return job;
}

describe('GET /api/v1/jobs: limit and order', () => {
  let app: TestApp;
  let auth: Auth;
  let created: string[];
  before(async () => {
    app = await testApp(EXECUTOR_OFF);
    ({ auth } = await app.account({ credits: 1000 }));
    created = [];
    for (let i = 0; i < 25; i++) created.push((await runJob(app, auth, 'local/test')).id as string);
  });
  after(() => app.dispose());

  for (const limit of ['0', '101', 'abc', '-1', '1.5', '']) {
    it(`refuses limit=${limit} with a 400 naming limit`, async () => {
      const res = await get(app, auth, `/api/v1/jobs?limit=${limit}`);
      assert.equal(res.status, 400);
      assert.ok((res.body.error as string).includes('limit'), res.body.error);
    });
  }

  it('returns 20 jobs by default, with has_more', async () => {
    const res = await get(app, auth, '/api/v1/jobs');
    assert.equal(res.status, 200);
    assert.equal(res.body.object, 'list');
    assert.equal(res.body.data.length, 20);
    assert.equal(res.body.has_more, true);
  });

  it('returns up to 100 jobs with limit=100, without has_more', async () => {
    const res = await get(app, auth, '/api/v1/jobs?limit=100');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 25);
    assert.equal(res.body.has_more, false);
  });

  it('returns just the newest job with limit=1', async () => {
    const res = await get(app, auth, '/api/v1/jobs?limit=1');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 1);
    assert.equal(res.body.data[0].id, created[24]);
  });

  it('lists newest first', async () => {
    const res = await get(app, auth, '/api/v1/jobs?limit=100');
    const data = res.body.data as Json[];
    assert.deepEqual(data.map((j) => j.id), [...created].reverse());
    for (let i = 1; i < data.length; i++) {
      assert.ok(data[i - 1]!.created_at >= data[i]!.created_at, `job ${i - 1} is not older than job ${i}`);
    }
  });

  it('visits every job exactly once when paging 7 at a time with starting_after', async () => {
    const seen: string[] = [];
    const hasMore: boolean[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await get(app, auth, `/api/v1/jobs?limit=7${cursor ? `&starting_after=${cursor}` : ''}`);
      assert.equal(res.status, 200);
      const ids = (res.body.data as Json[]).map((j) => j.id as string);
      seen.push(...ids);
      hasMore.push(res.body.has_more as boolean);
      if (!res.body.has_more) break;
      cursor = ids[ids.length - 1];
    }
    assert.deepEqual(hasMore, [true, true, true, false]);
    assert.equal(seen.length, 25);
    assert.deepEqual(seen, [...created].reverse());
  });

  it('refuses a starting_after that is not a job with a 400 naming starting_after', async () => {
    const res = await get(app, auth, '/api/v1/jobs?starting_after=0190b2c4-0000-7000-8000-000000000000');
    assert.equal(res.status, 400);
    assert.ok((res.body.error as string).includes('starting_after'), res.body.error);
  });

  it('refuses a starting_after that is another account\'s job with a 400 naming starting_after', async () => {
    const other = await app.account({ credits: 10 });
    const theirs = await runJob(app, other.auth, 'local/test');
    const res = await get(app, auth, `/api/v1/jobs?starting_after=${theirs.id}`);
    assert.equal(res.status, 400);
    assert.ok((res.body.error as string).includes('starting_after'), res.body.error);
  });

  it('lists only the caller\'s jobs', async () => {
    const other = await app.account({ credits: 10 });
    const theirs = await runJob(app, other.auth, 'local/test');
    const mine = await get(app, auth, '/api/v1/jobs?limit=100');
    assert.equal((mine.body.data as Json[]).some((j) => j.id === theirs.id), false);
    const listed = await get(app, other.auth, '/api/v1/jobs');
    assert.deepEqual((listed.body.data as Json[]).map((j) => j.id), [theirs.id]);
  });
});

describe('GET /api/v1/jobs: filters', () => {
  let app: TestApp;
  let auth: Auth;
  const ids = (res: { body: Json }) => (res.body.data as Json[]).map((j) => j.id as string);
  let tests: string[];
  let videos: string[];
  before(async () => {
    app = await testApp(EXECUTOR_OFF);
    ({ auth } = await app.account({ credits: 1000 }));
    tests = [];
    videos = [];
    for (let i = 0; i < 3; i++) {
      tests.push((await runJob(app, auth, 'local/test')).id as string);
      await sleep(5);
      videos.push((await runJob(app, auth, 'local/video', { prompt: `clip ${i}` })).id as string);
      await sleep(5);
    }
    assert.equal((await cancel(app, auth, tests[0]!)).status, 200);
  });
  after(() => app.dispose());

  it('filters by status', async () => {
    const pending = await get(app, auth, '/api/v1/jobs?status=pending');
    assert.equal(pending.status, 200);
    assert.deepEqual(ids(pending), [videos[2], tests[2], videos[1], tests[1], videos[0]]);
    const cancelled = await get(app, auth, '/api/v1/jobs?status=cancelled');
    assert.deepEqual(ids(cancelled), [tests[0]]);
    const completed = await get(app, auth, '/api/v1/jobs?status=completed');
    assert.deepEqual(ids(completed), []);
  });

  it('refuses an unknown status with a 400 naming status', async () => {
    const res = await get(app, auth, '/api/v1/jobs?status=done');
    assert.equal(res.status, 400);
    assert.ok((res.body.error as string).includes('status'), res.body.error);
  });

  it('filters by model_id', async () => {
    const res = await get(app, auth, '/api/v1/jobs?model_id=local/video');
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res), [...videos].reverse());
    const none = await get(app, auth, '/api/v1/jobs?model_id=local/image');
    assert.deepEqual(ids(none), []);
  });

  it('filters by run_type, and refuses an unknown one naming run_type', async () => {
    const models = await get(app, auth, '/api/v1/jobs?run_type=model');
    assert.equal(models.body.data.length, 6);
    const apps = await get(app, auth, '/api/v1/jobs?run_type=app');
    assert.equal(apps.status, 200);
    assert.deepEqual(ids(apps), []);
    const bad = await get(app, auth, '/api/v1/jobs?run_type=workflow');
    assert.equal(bad.status, 400);
    assert.ok((bad.body.error as string).includes('run_type'), bad.body.error);
  });

  it('filters by created_after and created_before, both exclusive', async () => {
    const all = await get(app, auth, '/api/v1/jobs');
    const byId = new Map((all.body.data as Json[]).map((j) => [j.id as string, j]));
    const from = byId.get(tests[1]!)!.created_at as string;
    const to = byId.get(videos[2]!)!.created_at as string;
    const afterRes = await get(app, auth, `/api/v1/jobs?created_after=${from}`);
    assert.equal(afterRes.status, 200);
    assert.deepEqual(ids(afterRes), [videos[2], tests[2], videos[1]]);
    const beforeRes = await get(app, auth, `/api/v1/jobs?created_before=${to}`);
    assert.deepEqual(ids(beforeRes), [tests[2], videos[1], tests[1], videos[0], tests[0]]);
    const both = await get(app, auth, `/api/v1/jobs?created_after=${from}&created_before=${to}`);
    assert.deepEqual(ids(both), [tests[2], videos[1]]);
    const combined = await get(app, auth, `/api/v1/jobs?created_after=${from}&model_id=local/test`);
    assert.deepEqual(ids(combined), [tests[2]]);
  });

  it('refuses a created_after that is not a time with a 400 naming created_after', async () => {
    const res = await get(app, auth, '/api/v1/jobs?created_after=yesterday');
    assert.equal(res.status, 400);
    assert.ok((res.body.error as string).includes('created_after'), res.body.error);
  });
});

describe('GET /api/v1/jobs/:id: the job object', () => {
  let app: TestApp;
  afterEach(() => app.dispose());

  it('has every field of the platform\'s job, then the extensions, with ISO millisecond timestamps', async () => {
    app = await testApp();
    const { auth } = await app.account({ credits: 100 });
    const run = await runJob(app, auth, 'local/test', { duration_ms: 0 });
    const job = await waitForStatus(app, auth, run.id as string, 'completed');
    for (const field of [
      'id', 'object', 'run_type', 'model_id', 'app_id', 'status', 'input_data', 'output_data', 'error_message',
      'credits_charged', 'created_at', 'completed_at', 'webhook_delivered', 'started_at', 'cancelled_at', 'credits_refunded',
    ]) {
      assert.ok(Object.hasOwn(job, field), `job has ${field}`);
    }
    assert.equal(job.id, run.id);
    assert.match(job.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(job.object, 'job');
    assert.equal(job.run_type, 'model');
    assert.equal(job.model_id, 'local/test');
    assert.equal(job.app_id, null);
    assert.equal(job.status, 'completed');
    assert.deepEqual(job.input_data, { input: { duration_ms: 0 } });
    assert.deepEqual(job.output_data, { outputText: 'local/test completed after 0 ms' });
    assert.equal(job.error_message, null);
    assert.equal(job.credits_charged, 1);
    assert.equal(job.credits_refunded, 0);
    assert.equal(job.webhook_delivered, false);
    assert.equal(job.cancelled_at, null);
    for (const t of ['created_at', 'started_at', 'completed_at']) assert.match(job[t], ISO_MS, `${t} is ISO with milliseconds and Z`);
    assert.ok(job.created_at <= job.started_at && job.started_at <= job.completed_at, 'created <= started <= completed');
    assert.equal('queue_position' in job, false);

    const listed = await get(app, auth, '/api/v1/jobs');
    assert.deepEqual(listed.body.data[0], job);
  });

  it('shows a pending job\'s queue_position', async () => {
    app = await testApp(EXECUTOR_OFF);
    const { auth } = await app.account({ credits: 100 });
    const first = await runJob(app, auth, 'local/test');
    const second = await runJob(app, auth, 'local/test');
    assert.equal(first.queue_position, 0);
    assert.equal(second.queue_position, 1);
    const res = await get(app, auth, `/api/v1/jobs/${second.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.queue_position, 1);
    assert.equal(res.body.started_at, null);
    assert.equal(res.body.completed_at, null);
  });
});

describe('GET and cancel of a job that is not the caller\'s', () => {
  let app: TestApp;
  before(async () => { app = await testApp(EXECUTOR_OFF); });
  after(() => app.dispose());

  it('answers 404 Job not found to another account and leaves the job untouched', async () => {
    const owner = await app.account({ credits: 100 });
    const stranger = await app.account({ credits: 100 });
    const job = await runJob(app, owner.auth, 'local/test');

    const read = await get(app, stranger.auth, `/api/v1/jobs/${job.id}`);
    assert.equal(read.status, 404);
    assert.equal(read.body.error, 'Job not found');
    const cancelled = await cancel(app, stranger.auth, job.id as string);
    assert.equal(cancelled.status, 404);
    assert.equal(cancelled.body.error, 'Job not found');

    const still = await get(app, owner.auth, `/api/v1/jobs/${job.id}`);
    assert.equal(still.body.status, 'pending');
    assert.equal(still.body.cancelled_at, null);
    assert.equal(still.body.credits_refunded, 0);
    assert.equal(await balance(app, owner.auth), 99);
    assert.equal(await balance(app, stranger.auth), 100);
  });

  it('answers 404 Job not found for ids that are not jobs', async () => {
    const { auth } = await app.account({ credits: 100 });
    for (const id of ['not-a-uuid', 'job_123', '0190b2c4-0000-7000-8000-000000000000']) {
      const read = await get(app, auth, `/api/v1/jobs/${id}`);
      assert.equal(read.status, 404, id);
      assert.equal(read.body.error, 'Job not found');
      const cancelled = await cancel(app, auth, id);
      assert.equal(cancelled.status, 404, id);
      assert.equal(cancelled.body.error, 'Job not found');
    }
  });
});

describe('POST /api/v1/jobs/:id/cancel: a pending job', () => {
  let app: TestApp;
  after(() => app.dispose());

  it('cancels it, refunds it in full and shows the refund in the listing and the ledger', async () => {
    app = await testApp(EXECUTOR_OFF);
    const { auth } = await app.account({ credits: 100 });
    const job = await runJob(app, auth, 'local/video', { prompt: 'slow clip' });
    assert.equal(job.status, 'pending');
    assert.equal(await balance(app, auth), 50);

    const res = await cancel(app, auth, job.id as string);
    assert.equal(res.status, 200);
    assert.equal(res.body.id, job.id);
    assert.equal(res.body.object, 'job');
    assert.equal(res.body.status, 'cancelled');
    assert.match(res.body.cancelled_at, ISO_MS);
    assert.equal(await balance(app, auth), 100);

    const listed = await get(app, auth, '/api/v1/jobs');
    const shown = listed.body.data[0] as Json;
    assert.equal(shown.id, job.id);
    assert.equal(shown.status, 'cancelled');
    assert.equal(shown.credits_charged, 50);
    assert.equal(shown.credits_refunded, 50);
    assert.equal(shown.cancelled_at, res.body.cancelled_at);
    assert.equal(shown.completed_at, res.body.cancelled_at);
    assert.equal('queue_position' in shown, false);

    const ledger = await get(app, auth, '/api/v1/account/ledger');
    const mine = (ledger.body.data as Json[]).filter((e) => e.job_id === job.id).map((e) => [e.kind, e.amount]);
    assert.deepEqual(mine, [['refund', 50], ['charge', -50]]);
  });
});

describe('POST /api/v1/jobs/:id/cancel: a processing job', () => {
  let app: TestApp;
  after(() => app.dispose());

  it('stops its provider, refunds it in full by default, and the job stays cancelled', async () => {
    app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0' });
    const { auth } = await app.account({ credits: 100 });
    const job = await runJob(app, auth, 'local/test', { duration_ms: 60_000 });
    const running = await waitUntilRunning(app, auth, job.id as string);
    assert.match(running.started_at, ISO_MS);
    assert.equal(app.executor!.runningCount, 1);

    const res = await cancel(app, auth, job.id as string);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.match(res.body.cancelled_at, ISO_MS);
    // The 60 s provider is aborted, not left running under a new label.
    // The executor's run of the job is over (its result, if any, offered to the store and refused).
    await eventually(() => (app.executor!.runningCount === 0 ? true : undefined), 3000, 'the provider to stop');
    assert.equal(await balance(app, auth), 100);

    const later = await get(app, auth, `/api/v1/jobs/${job.id}`);
    assert.equal(later.body.status, 'cancelled');
    assert.equal(later.body.output_data, null);
    assert.equal(later.body.error_message, null);
    assert.equal(later.body.credits_refunded, 1);
    assert.equal(later.body.cancelled_at, res.body.cancelled_at);
  });
});

describe('POST /api/v1/jobs/:id/cancel: the cancellation policy', () => {
  let app: TestApp;
  let dir: string;
  after(async () => {
    await app.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refunds a processing job per GENJOBS_CANCEL_REFUND_PERCENT and a pending one in full', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-catalog-'));
    const catalog = path.join(dir, 'models.json');
    fs.writeFileSync(catalog, JSON.stringify({
      models: [{
        id: 't/slow', name: 'Slow Test', modality: 'text', cost: 40, outputType: 'text', sync: false,
        timeout_ms: 660000, concurrency: 1, provider: { type: 'builtin', name: 'test' },
        settings: [
          { key: 'duration_ms', label: 'Duration (ms)', inputType: 'integer', min: 0, max: 600000, defaultValue: 0 },
          { key: 'outcome', label: 'Outcome', inputType: 'select', options: ['completed', 'failed'], defaultValue: 'completed' },
          { key: 'error_message', label: 'Error message', inputType: 'text', maxLength: 2000 },
        ],
      }],
    }));
    app = await testApp({ GENJOBS_CATALOG: catalog, GENJOBS_CANCEL_REFUND_PERCENT: '50', GENJOBS_SHUTDOWN_GRACE_MS: '0' });
    const { auth } = await app.account({ credits: 100 });
    const processing = await runJob(app, auth, 't/slow', { duration_ms: 60_000 });
    await waitUntilRunning(app, auth, processing.id as string);
    // The model runs one at a time, so this one waits.
    const pending = await runJob(app, auth, 't/slow', { duration_ms: 60_000 });
    assert.equal(pending.status, 'pending');
    assert.equal(await balance(app, auth), 20);

    assert.equal((await cancel(app, auth, pending.id as string)).status, 200);
    const pendingAfter = await get(app, auth, `/api/v1/jobs/${pending.id}`);
    assert.equal(pendingAfter.body.credits_refunded, 40);
    assert.equal(await balance(app, auth), 60);

    assert.equal((await cancel(app, auth, processing.id as string)).status, 200);
    const processingAfter = await get(app, auth, `/api/v1/jobs/${processing.id}`);
    assert.equal(processingAfter.body.status, 'cancelled');
    assert.equal(processingAfter.body.credits_charged, 40);
    assert.equal(processingAfter.body.credits_refunded, 20);
    assert.equal(await balance(app, auth), 80);
    await eventually(() => (app.executor!.runningCount === 0 ? true : undefined), 3000, 'the provider to stop');
  });
});

describe('POST /api/v1/jobs/:id/cancel: a terminal job', () => {
  let app: TestApp;
  let auth: Auth;
  before(async () => {
    app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0' });
    ({ auth } = await app.account({ credits: 100 }));
  });
  after(() => app.dispose());

  async function expectConflict(id: string, status: string, balanceBefore: number) {
    const res = await cancel(app, auth, id);
    assert.equal(res.status, 409);
    assert.ok((res.body.error as string).includes(status), `error "${res.body.error}" names ${status}`);
    const job = await get(app, auth, `/api/v1/jobs/${id}`);
    assert.equal(job.body.status, status);
    if (status !== 'cancelled') assert.equal(job.body.cancelled_at, null);
    assert.equal(await balance(app, auth), balanceBefore);
  }

  it('refuses to cancel a completed job with a 409 naming completed', async () => {
    const job = await runJob(app, auth, 'local/test');
    await waitForStatus(app, auth, job.id as string, 'completed');
    await expectConflict(job.id as string, 'completed', await balance(app, auth));
  });

  it('refuses to cancel a failed job with a 409 naming failed, refunding nothing more', async () => {
    const job = await runJob(app, auth, 'local/test', { outcome: 'failed' });
    const failed = await waitForStatus(app, auth, job.id as string, 'failed');
    assert.equal(failed.credits_refunded, 1);
    await expectConflict(job.id as string, 'failed', await balance(app, auth));
    const again = await get(app, auth, `/api/v1/jobs/${job.id}`);
    assert.equal(again.body.credits_refunded, 1);
  });

  it('refuses to cancel a cancelled job with a 409 naming cancelled, refunding nothing more', async () => {
    const job = await runJob(app, auth, 'local/test', { duration_ms: 60_000 });
    assert.equal((await cancel(app, auth, job.id as string)).status, 200);
    const first = await get(app, auth, `/api/v1/jobs/${job.id}`);
    await expectConflict(job.id as string, 'cancelled', await balance(app, auth));
    const again = await get(app, auth, `/api/v1/jobs/${job.id}`);
    assert.equal(again.body.credits_refunded, 1);
    assert.equal(again.body.cancelled_at, first.body.cancelled_at);
    await eventually(() => (app.executor!.runningCount === 0 ? true : undefined), 3000, 'no job to run');
  });
});
