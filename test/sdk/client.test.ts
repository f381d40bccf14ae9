import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError, ConflictError, GenJobs, InsufficientCreditsError, NotFoundError, BadRequestError, isTerminal, type Job,
} from '@genjobs/sdk';
import { liveApp } from './live-server.js';
import type { TestApp } from '../helpers/app.js';

const STORYBOARD = '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22';

/** Every method of @genjobs/sdk against a real genjobs server over a socket. */
describe('@genjobs/sdk against a live server', { timeout: 120_000 }, () => {
  let app: TestApp & { url: string };
  let client: GenJobs;
  let userId: string;

  before(async () => {
    app = await liveApp();
    const account = await app.account({ credits: 10_000 });
    userId = account.userId;
    client = new GenJobs({ baseUrl: app.url, apiKey: account.key });
  });
  after(() => app.dispose());

  it('lists the models, the apps, the account and its ledger', async () => {
    const models = await client.models.list();
    assert.equal(models.object, 'list');
    assert.ok(models.data.some((m) => m.id === 'local/image' && m.cost > 0 && m.settings.length > 0));
    const apps = await client.apps.list();
    const storyboard = apps.data.find((a) => a.id === STORYBOARD);
    assert.equal(storyboard?.node_count, 4);
    const account = await client.account.get();
    assert.equal(account.user_id, userId);
    assert.equal(account.credits, 10_000);
    const ledger = await client.account.ledger();
    assert.deepEqual(ledger.data.map((e) => [e.kind, e.amount]), [['grant', 10_000]]);
  });

  it('runs a synchronous model and answers with the finished job and its output', async () => {
    const job = await client.run('local/image', { prompt: 'a lighthouse', aspect_ratio: '16:9' });
    assert.equal(job.status, 'completed');
    assert.equal(job.model, 'local/image');
    assert.match(String((job.output as Record<string, unknown>).outputImage), /^http:\/\/genjobs\.test\/files\//);
    assert.deepEqual(await client.jobs.get(job.id).then((j) => j.status), 'completed');
  });

  it('sends an idempotency key with every run, so the same key is charged once', async () => {
    const before = (await client.account.get()).credits;
    const a = await client.run('local/text', { prompt: 'once' }, { idempotencyKey: 'sdk-test-key-1' });
    const b = await client.run('local/text', { prompt: 'once' }, { idempotencyKey: 'sdk-test-key-1' });
    assert.equal(a.id, b.id);
    assert.equal((await client.account.get()).credits, before - a.credits_charged);
    const c = await client.run('local/text', { prompt: 'twice' });
    const d = await client.run('local/text', { prompt: 'twice' });
    assert.notEqual(c.id, d.id, 'a random key per call: two calls are two runs');
  });

  it('waits for an asynchronous run, reporting each change, and returns it shaped like a run answer', async () => {
    const seen: string[] = [];
    // Still running when the wait's stream opens, on a loaded machine too: one that ended first shows only its end.
    const job = await client.run('local/test', { duration_ms: 3000 }, { wait: { onUpdate: (j) => seen.push(j.status) } });
    assert.equal(job.status, 'completed');
    assert.equal(job.model, 'local/test');
    assert.deepEqual(job.output, job.output_data);
    assert.equal(seen.at(-1), 'completed');
    assert.ok(seen.includes('processing') || seen.includes('pending'), `updates before the end: ${seen.join(',')}`);
  });

  it('resolves wait with a failed job rather than throwing: the outcome is in status', async () => {
    const job = await client.run('local/test', { duration_ms: 100, outcome: 'failed', error_message: 'boom' }, { wait: true });
    assert.equal(job.status, 'failed');
    assert.equal(job.error_message, 'boom');
    assert.equal(job.credits_refunded, job.credits_charged);
  });

  it('runs an app and follows its nodes until it ends', async () => {
    const nodeCounts: number[] = [];
    const job = await client.apps.run(STORYBOARD, { prompt: 'a fox' }, {
      wait: { onUpdate: (j) => nodeCounts.push(Object.keys((j.output_data as { node_outputs?: object } | null)?.node_outputs ?? {}).length) },
    });
    assert.equal(job.status, 'completed');
    assert.equal(job.app_name, 'Storyboard');
    assert.equal(Object.keys((job.output_data as { node_outputs: object }).node_outputs).length, 4);
    assert.equal(nodeCounts.at(-1), 4);
  });

  it('streams a job\'s events: the current status first, the terminal status last, then the end', async () => {
    const run = await client.run('local/test', { duration_ms: 300 });
    const events = [];
    for await (const e of client.jobs.events(run.id)) events.push(e);
    assert.equal(events[0]?.event, 'status');
    const last = events.at(-1)!;
    assert.equal(last.event, 'status');
    assert.equal(last.id, 'end');
    assert.equal((last.data as Job).status, 'completed');
  });

  it('waits by polling when asked not to listen live', async () => {
    const run = await client.run('local/test', { duration_ms: 200 });
    const job = await client.jobs.wait(run.id, { live: false, pollIntervalMs: 50 });
    assert.ok(isTerminal(job));
    assert.equal(job.status, 'completed');
  });

  it('cancels a job, and answers a second cancel with a ConflictError carrying status and code', async () => {
    const run = await client.run('local/test', { duration_ms: 30_000 });
    const cancelled = await client.jobs.cancel(run.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.credits_refunded, run.credits_charged);
    const err = await client.jobs.cancel(run.id).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ConflictError, String(err));
    assert.equal(err.status, 409);
    assert.equal(err.code, 'job_not_cancellable');
    assert.match(err.message, /already cancelled/);
  });

  it('cancels many jobs by filter', async () => {
    const a = await client.run('local/test', { duration_ms: 30_000 });
    const b = await client.run('local/test', { duration_ms: 30_000 });
    const res = await client.jobs.cancelMany({ model_id: 'local/test' });
    assert.equal(res.object, 'bulk_cancel');
    assert.ok(res.ids.includes(a.id) && res.ids.includes(b.id));
    assert.equal((await client.jobs.get(a.id)).status, 'cancelled');
  });

  it('retries a job as a new job that points at the original', async () => {
    const first = await client.run('local/image', { prompt: 'again' });
    const again = await client.jobs.retry(first.id);
    assert.notEqual(again.id, first.id);
    assert.equal(again.retry_of, first.id);
    assert.equal(again.status, 'completed');
  });

  it('throws typed errors: unknown job, bad input, too few credits, a wrong key', async () => {
    await assert.rejects(client.jobs.get('00000000-0000-7000-8000-000000000000'), (e: unknown) => e instanceof NotFoundError && e.code === 'job_not_found');
    await assert.rejects(client.run('nobody/nothing', {}), (e: unknown) => e instanceof BadRequestError && e.status === 400 && e.code === 'unknown_model');
    const poor = await app.account({ credits: 1 });
    const poorClient = new GenJobs({ baseUrl: app.url, apiKey: poor.key });
    await assert.rejects(poorClient.run('local/image', { prompt: 'x' }), (e: unknown) => e instanceof InsufficientCreditsError && e.status === 402);
    const stranger = new GenJobs({ baseUrl: `${app.url}/api/v1/`, apiKey: 'sk_live_not_a_key' });
    await assert.rejects(stranger.models.list(), (e: unknown) => e instanceof AuthenticationError && e.message === 'Invalid API key');
  });

  it('refuses to be made without an API key', () => {
    assert.throws(() => new GenJobs({ baseUrl: app.url, apiKey: '' }), /apiKey/);
  });
});
