import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { openSse, type SseEvent } from './sse.js';
import { MIN_WAIT_MS } from '../helpers/waits.js';

/* Live job status: the server-sent event streams of one job and of an account, over a real socket. */

type Json = Record<string, any>;
type Auth = { authorization: string };

/** A listening test app, disposed when the test ends; `base` is its URL. */
async function liveApp(t: TestContext, env: Record<string, string> = {}): Promise<{ app: TestApp; base: string }> {
  const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

async function post(app: TestApp, auth: Auth, url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: res.json() as Json };
}

async function startTestJob(app: TestApp, auth: Auth, durationMs: number): Promise<Json> {
  const res = await post(app, auth, '/api/v1/models/run', { model: 'local/test', input: { duration_ms: durationMs } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body;
}

const statuses = (events: SseEvent[], id?: string) => events.filter((e) => e.event === 'status' && (id === undefined || e.data.id === id)).map((e) => e.data.status as string);

/** The listeners on the app's job events (a stream that leaks them would show here). */
const listenerCount = (app: TestApp) => {
  const emitter = (app.events as unknown as { emitter: { eventNames(): (string | symbol)[]; listenerCount(n: string | symbol): number } }).emitter;
  return emitter.eventNames().reduce((n, name) => n + emitter.listenerCount(name), 0);
};

describe('GET /api/v1/jobs/:id/events', () => {
  it('streams every status of a model job in order, each event with an id, and closes after the terminal one', async (t) => {
    const { app, base } = await liveApp(t);
    const { auth } = await app.account({ credits: 10 });
    const before = listenerCount(app);
    // Long enough to be still running when the stream opens, on a loaded machine too: a job that
    // ended first would show only its end.
    const job = await startTestJob(app, auth, 5000);
    const stream = await openSse(`${base}/api/v1/jobs/${job.id}/events`, auth);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(stream.headers.get('x-ratelimit-limit'), 'rate-limit headers like every /api/v1 answer');
    await Promise.race([stream.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('stream did not end')), MIN_WAIT_MS))]);

    const seen = statuses(stream.events);
    assert.equal(stream.events[0]?.event, 'status', 'the current state comes first');
    assert.deepEqual(seen.filter((s) => s !== 'pending'), ['processing', 'completed'], `statuses ${seen.join(', ')}`);
    assert.ok(seen.indexOf('pending') <= 0, 'pending, if seen, comes first');
    const last = stream.events[stream.events.length - 1]!;
    assert.equal(last.event, 'status');
    assert.equal(last.data.status, 'completed');
    assert.equal(last.data.object, 'job');
    assert.equal(last.data.output_data.outputText, 'local/test completed after 5000 ms');
    for (const e of stream.events) assert.ok(e.id !== undefined && e.id !== '', `event ${e.event} has an id`);
    assert.equal(new Set(stream.events.map((e) => e.id)).size, stream.events.length, 'ids are unique');
    assert.equal(last.id, 'end');

    // A finished job: its one status event, then the end; an EventSource reconnecting after `end` gets 204.
    const again = await openSse(`${base}/api/v1/jobs/${job.id}/events`, auth);
    await again.ended;
    assert.deepEqual(again.events.map((e) => [e.event, e.data.status]), [['status', 'completed']]);
    const reconnect = await fetch(`${base}/api/v1/jobs/${job.id}/events`, { headers: { ...auth, 'last-event-id': 'end' } });
    assert.equal(reconnect.status, 204);
    await eventually(() => (listenerCount(app) === before ? true : undefined), 2000, 'stream listeners to be removed');
  });

  it('answers 404 for another account\'s job and 401 without a key, as every /api/v1 route', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_EXECUTOR: 'false' });
    const owner = await app.account({ credits: 10 });
    const other = await app.account({ credits: 10 });
    const job = await startTestJob(app, owner.auth, 0);
    const foreign = await fetch(`${base}/api/v1/jobs/${job.id}/events`, { headers: other.auth });
    assert.equal(foreign.status, 404);
    assert.deepEqual(await foreign.json(), { error: 'Job not found', code: 'job_not_found' });
    const anonymous = await fetch(`${base}/api/v1/jobs/${job.id}/events`);
    assert.equal(anonymous.status, 401);
  });

  it('streams progress and new log lines as the job reports them, and ends at a cancel', async (t) => {
    const { app, base } = await liveApp(t);
    const { auth } = await app.account({ credits: 10 });
    const job = await startTestJob(app, auth, 20_000);
    const running = await eventually(async () => {
      const j = await app.store.jobGetById({ id: job.id as string });
      return j?.status === 'processing' ? j : undefined;
    }, 5000, 'the job to be processing');
    const stream = await openSse(`${base}/api/v1/jobs/${job.id}/events`, auth);
    t.after(() => stream.close());
    await stream.waitFor((e) => e.event === 'status' && e.data.status === 'processing', 3000, 'the processing status');
    assert.equal(stream.events[0]?.data.progress, null);

    assert.equal(await app.store.jobReportProgress({ id: job.id as string, leaseToken: running.leaseToken, progress: 0.25, logs: ['loading', 'step 1'], now: Date.now() }), true);
    const progress = await stream.waitFor((e) => e.event === 'progress', 3000, 'a progress event');
    assert.deepEqual(progress.data, { id: job.id, progress: 0.25 });
    await stream.waitFor((e) => e.event === 'log' && e.data.seq === 2, 3000, 'the second log line');
    assert.equal(await app.store.jobReportProgress({ id: job.id as string, leaseToken: running.leaseToken, progress: 0.5, logs: ['step 2'], now: Date.now() }), true);
    await stream.waitFor((e) => e.event === 'progress' && e.data.progress === 0.5, 3000, 'progress 0.5');
    await stream.waitFor((e) => e.event === 'log' && e.data.seq === 3, 3000, 'the third log line');
    assert.deepEqual(stream.events.filter((e) => e.event === 'log').map((e) => e.data),
      [{ id: job.id, seq: 1, line: 'loading' }, { id: job.id, seq: 2, line: 'step 1' }, { id: job.id, seq: 3, line: 'step 2' }]);

    const cancel = await post(app, auth, `/api/v1/jobs/${job.id}/cancel`, {});
    assert.equal(cancel.status, 200);
    await stream.ended;
    const last = stream.events[stream.events.length - 1]!;
    assert.deepEqual([last.event, last.data.status, last.data.progress], ['status', 'cancelled', 0.5]);
  });

  it('streams an app job\'s node outputs as they appear, before its terminal status', async (t) => {
    const { app, base } = await liveApp(t);
    const { userId, auth } = await app.account({ credits: 10 });
    const created = await app.server.inject({
      method: 'POST', url: `/admin/v1/users/${userId}/apps`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        name: 'Three steps',
        nodes: [
          { id: 'quick', model: 'local/test', settings: { duration_ms: 100 } },
          { id: 'middle', model: 'local/test', settings: { duration_ms: 700 } },
          // Slow enough that the quick node is told well before the end on a loaded machine too.
          { id: 'slow', model: 'local/test', settings: { duration_ms: 6000 } },
        ],
      }),
    });
    assert.equal(created.statusCode, 201, created.body);
    const run = await post(app, auth, '/api/v1/apps/run', { app_id: created.json().id, inputs: {} });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const stream = await openSse(`${base}/api/v1/jobs/${run.body.id}/events`, auth);
    // The quick node's output is told while the slow one still runs, not only at the end.
    const quick = await stream.waitFor((e) => e.event === 'node' && e.data.node_id === 'quick', 3000, 'the quick node');
    assert.deepEqual(quick.data, { id: run.body.id, node_id: 'quick', output: { outputText: 'local/test completed after 100 ms' } });
    assert.equal(stream.isEnded(), false);
    assert.ok(!statuses(stream.events).includes('completed'));
    await stream.ended;

    const nodes = stream.events.filter((e) => e.event === 'node').map((e) => e.data.node_id as string);
    assert.deepEqual(nodes, ['quick', 'middle', 'slow']);
    const last = stream.events[stream.events.length - 1]!;
    assert.deepEqual([last.event, last.data.status], ['status', 'completed']);
    assert.deepEqual(Object.keys(last.data.output_data.node_outputs).sort(), ['middle', 'quick', 'slow']);
  });
});

describe('GET /api/v1/jobs/events', () => {
  it('streams the status changes of every job of the account, not another\'s, and stays open until the client leaves', async (t) => {
    const { app, base } = await liveApp(t);
    const { auth } = await app.account({ credits: 10 });
    const other = await app.account({ credits: 10 });
    const before = listenerCount(app);
    // An unfinished job from before the stream opens is told first.
    // Long enough to be still running when the stream opens, on a loaded machine too.
    const waiting = await startTestJob(app, auth, 8000);
    await eventually(async () => ((await app.store.jobGetById({ id: waiting.id as string }))?.status === 'processing' ? true : undefined), 5000);

    const stream = await openSse(`${base}/api/v1/jobs/events`, auth);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const first = await stream.waitFor((e) => e.event === 'status', 3000, 'the unfinished job');
    assert.deepEqual([first.data.id, first.data.status], [waiting.id, 'processing']);

    const foreign = await startTestJob(app, other.auth, 100);
    const job = await startTestJob(app, auth, 400);
    await stream.waitFor((e) => e.event === 'status' && e.data.id === job.id && e.data.status === 'completed', 5000, 'the new job to complete');
    const seen = statuses(stream.events, job.id as string);
    assert.deepEqual(seen.filter((s) => s !== 'pending'), ['processing', 'completed'], `statuses ${seen.join(', ')}`);
    assert.ok(seen.indexOf('pending') <= 0);
    for (const e of stream.events) assert.ok(e.id, 'every event has an id');

    await stream.waitFor((e) => e.data.id === waiting.id && e.data.status === 'completed', 5000, 'the first job to complete');
    assert.equal(stream.events.some((e) => e.data.id === foreign.id), false, 'another account\'s job is never told');
    assert.deepEqual(statuses(stream.events, waiting.id as string), ['processing', 'completed']);
    // Still open after its jobs finished: a job started now is still told on it.
    const later = await startTestJob(app, auth, 0);
    await stream.waitFor((e) => e.data.id === later.id && e.data.status === 'completed', 5000, 'a later job to be told');
    assert.equal(stream.isEnded(), false);

    stream.close();
    await stream.ended;
    await eventually(() => (listenerCount(app) === before ? true : undefined), 3000, 'the stream\'s listeners to be removed');
  });
});
