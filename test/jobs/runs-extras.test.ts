import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';

/* Prefer: wait, Idempotency-Key, Cancel-After, bulk cancel and retry. */

type Json = Record<string, any>;
type Headers = Record<string, string>;
type Answer = { status: number; body: Json; headers: Record<string, unknown> };

const RENDER = '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11'; // template app: local/image (10) -> local/upscale (5)

async function newApp(t: TestContext, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  return app;
}

async function call(app: TestApp, headers: Headers, method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> {
  const res = await app.server.inject({
    method, url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.body === '' ? {} : (res.json() as Json), headers: res.headers };
}

const runModel = (app: TestApp, headers: Headers, body: unknown) => call(app, headers, 'POST', '/api/v1/models/run', body);
const testJob = (durationMs: number, extra: Json = {}) => ({ model: 'local/test', input: { duration_ms: durationMs, ...extra } });

async function balance(app: TestApp, auth: Headers): Promise<number> {
  const res = await call(app, auth, 'GET', '/api/v1/account');
  assert.equal(res.status, 200);
  return res.body.credits as number;
}

async function jobs(app: TestApp, auth: Headers): Promise<Json[]> {
  const res = await call(app, auth, 'GET', '/api/v1/jobs?limit=100');
  assert.equal(res.status, 200);
  return res.body.data as Json[];
}

async function waitForStatus(app: TestApp, auth: Headers, id: string, status: string, ms = 10_000): Promise<Json> {
  return eventually(async () => {
    const res = await call(app, auth, 'GET', `/api/v1/jobs/${id}`);
    assert.equal(res.status, 200);
    return res.body.status === status ? res.body : undefined;
  }, ms, `job ${id} to be ${status}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

// The holds are long and the jobs slow next to the times measured, so that a loaded machine (a
// job finishing seconds late, an answer stalled for a second) cannot pass for a hold that ends
// too early or too late: each bound sits far from both what is right and what would be wrong.
describe('Prefer: wait=N', () => {
  it('holds GET /jobs/:id until the job is terminal, or N seconds with the job as it is', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 10 });
    const quick = await runModel(app, auth, testJob(300));
    assert.equal(quick.status, 202);
    const early = await timed(() => call(app, { ...auth, prefer: 'wait=60' }, 'GET', `/api/v1/jobs/${quick.body.id}`));
    assert.equal(early.value.status, 200);
    assert.equal(early.value.body.status, 'completed');
    assert.equal(early.value.headers['preference-applied'], 'wait=60');
    assert.ok(early.ms < 30_000, `answered at completion, not at the end of the hold, after ${early.ms} ms`);

    const slow = await runModel(app, auth, testJob(60_000));
    const late = await timed(() => call(app, { ...auth, prefer: 'wait=1' }, 'GET', `/api/v1/jobs/${slow.body.id}`));
    assert.equal(late.value.status, 200);
    assert.ok(['pending', 'processing'].includes(late.value.body.status as string), late.value.body.status);
    assert.equal(late.value.headers['preference-applied'], 'wait=1');
    assert.ok(late.ms >= 900 && late.ms < 10_000, `answered after about 1 s: ${late.ms} ms`);

    // Unknown or malformed preferences are ignored: an immediate answer, no Preference-Applied.
    for (const prefer of ['wait=soon', 'wait=0', 'respond-async', 'wait=-3']) {
      const ignored = await timed(() => call(app, { ...auth, prefer }, 'GET', `/api/v1/jobs/${slow.body.id}`));
      assert.equal(ignored.value.status, 200, prefer);
      assert.equal(ignored.value.headers['preference-applied'], undefined, prefer);
      // Any hold lasts a second at least.
      assert.ok(ignored.ms < 1000, `${prefer}: ${ignored.ms} ms`);
    }
    // Among other preferences, and over the limit: cut to 60.
    const mixed = await call(app, { ...auth, prefer: 'respond-async, wait=1' }, 'GET', `/api/v1/jobs/${slow.body.id}`);
    assert.equal(mixed.headers['preference-applied'], 'wait=1');
    assert.equal((await call(app, auth, 'POST', `/api/v1/jobs/${slow.body.id}/cancel`)).status, 200);
    const capped = await call(app, { ...auth, prefer: 'wait=600' }, 'GET', `/api/v1/jobs/${slow.body.id}`);
    assert.equal(capped.headers['preference-applied'], 'wait=60');
  });

  it('holds a model run (200 once terminal, 202 otherwise) and an app run (always 202) for the waited job', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 100 });
    const done = await timed(() => runModel(app, { ...auth, prefer: 'wait=60' }, testJob(300)));
    assert.equal(done.value.status, 200);
    assert.equal(done.value.body.status, 'completed');
    assert.equal(done.value.body.output.outputText, 'local/test completed after 300 ms');
    assert.equal(done.value.headers['preference-applied'], 'wait=60');
    assert.ok(done.ms < 30_000, `answered at completion, not at the end of the hold, after ${done.ms} ms`);

    const running = await timed(() => runModel(app, { ...auth, prefer: 'wait=1' }, testJob(60_000)));
    assert.equal(running.value.status, 202);
    assert.ok(['pending', 'processing'].includes(running.value.body.status as string));
    assert.ok(running.ms >= 900 && running.ms < 10_000, `${running.ms} ms`);
    await call(app, auth, 'POST', `/api/v1/jobs/${running.value.body.id}/cancel`);

    const appRun = await timed(() => call(app, { ...auth, prefer: 'wait=60' }, 'POST', '/api/v1/apps/run', { app_id: RENDER, inputs: { prompt: 'a fox' } }));
    assert.equal(appRun.value.status, 202);
    assert.equal(appRun.value.body.status, 'completed');
    assert.equal(appRun.value.body.app_name, 'Render and Upscale');
    assert.deepEqual(Object.keys(appRun.value.body.output.node_outputs).sort(), ['render', 'upscale']);
    assert.equal(appRun.value.headers['preference-applied'], 'wait=60');
  });
});

describe('Idempotency-Key', () => {
  it('returns the first run\'s job for the same key and body, charging once, and 409 for another body', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const key = { ...auth, 'idempotency-key': 'order-42' };
    const first = await runModel(app, key, { model: 'local/test', input: { duration_ms: 10, outcome: 'completed' } });
    assert.equal(first.status, 202);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    // The same request, keys in another order.
    const again = await runModel(app, key, { input: { outcome: 'completed', duration_ms: 10 }, model: 'local/test' });
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await balance(app, auth), 99);
    assert.equal((await jobs(app, auth)).length, 1);

    const conflict = await runModel(app, key, testJob(20));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'idempotency_conflict');
    assert.match(conflict.body.error, /order-42/);
    assert.equal(await balance(app, auth), 99);

    // The key binds the route too, and keys are per account.
    const other = await app.account({ credits: 100 });
    const theirs = await runModel(app, { ...other.auth, 'idempotency-key': 'order-42' }, { model: 'local/test', input: { duration_ms: 10, outcome: 'completed' } });
    assert.equal(theirs.status, 202);
    assert.notEqual(theirs.body.id, first.body.id);
    const appRun = await call(app, key, 'POST', '/api/v1/apps/run', { app_id: RENDER, inputs: { prompt: 'x' } });
    assert.equal(appRun.status, 409);

    for (const bad of ['', 'has space', 'x'.repeat(256), 'naïve']) {
      const res = await app.server.inject({
        method: 'POST', url: '/api/v1/models/run',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': Buffer.from(bad, 'utf8').toString('latin1') },
        payload: JSON.stringify(testJob(0)),
      });
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
      assert.match(res.json().error as string, /^Idempotency-Key: /);
    }
    assert.equal(await balance(app, auth), 99);
  });

  it('creates one job and one charge for 20 concurrent identical runs, all answered with its id', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth, userId } = await app.account({ credits: 100 });
    const headers = { ...auth, 'idempotency-key': 'burst-1' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => runModel(app, headers, testJob(0))));
    for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
    const ids = new Set(answers.map((a) => a.body.id as string));
    assert.equal(ids.size, 1);
    assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 19);
    assert.equal(await balance(app, auth), 99);
    assert.deepEqual((await jobs(app, auth)).map((j) => j.id), [...ids]);
    const charges = (await app.store.ledgerList({ userId, limit: 100 })).filter((e) => e.kind === 'charge');
    assert.equal(charges.length, 1);

    // An app run replays the same way, with 202.
    const appHeaders = { ...auth, 'idempotency-key': 'app-1' };
    const a1 = await call(app, appHeaders, 'POST', '/api/v1/apps/run', { app_id: RENDER, inputs: { prompt: 'fox' } });
    const a2 = await call(app, appHeaders, 'POST', '/api/v1/apps/run', { app_id: RENDER, inputs: { prompt: 'fox' } });
    assert.deepEqual([a1.status, a2.status], [202, 202]);
    assert.equal(a2.body.id, a1.body.id);
    assert.equal(a2.body.app_name, 'Render and Upscale');
    assert.equal(a2.headers['idempotent-replayed'], 'true');
    assert.equal(await balance(app, auth), 99 - 15);
  });
});

describe('Cancel-After', () => {
  it('records the deadline from seconds or a duration with units, and refuses anything else or under 5 s', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const plain = await runModel(app, auth, testJob(0));
    assert.equal('cancel_after_at' in plain.body, false);
    assert.equal(plain.body.progress, null);
    assert.equal(plain.body.retry_of, null);
    for (const [value, seconds] of [['30', 30], ['30s', 30], ['5m', 300], ['1h', 3600], ['1m30s', 90], ['5', 5], [' 2h15m ', 8100]] as const) {
      const before = Date.now();
      const res = await runModel(app, { ...auth, 'cancel-after': value }, testJob(0));
      assert.equal(res.status, 202, `${value}: ${JSON.stringify(res.body)}`);
      const at = Date.parse(res.body.cancel_after_at as string);
      assert.ok(at >= before + seconds * 1000 && at <= Date.now() + seconds * 1000, `${value}: ${res.body.cancel_after_at}`);
    }
    const charged = await balance(app, auth);
    for (const value of ['4', '4s', '0', 'abc', '1x', '', '-5', '5.5', '1m 30s', '30ms', 's', '99999999h']) {
      const res = await runModel(app, { ...auth, 'cancel-after': value }, testJob(0));
      assert.equal(res.status, 400, JSON.stringify(value));
      assert.match(res.body.error as string, /^Cancel-After: /);
    }
    assert.equal(await balance(app, auth), charged, 'a refused run charges nothing');
  });

  it('cancels and refunds a job still running at its deadline, stopping its provider', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 10 });
    const started = Date.now();
    // The job would run far past the deadline; the deadline's upkeep runs every second, so its
    // cancel comes about 5 s in, and (a loaded machine allowing) well before 15 s.
    const res = await runModel(app, { ...auth, 'cancel-after': '5s' }, testJob(60_000));
    assert.equal(res.status, 202);
    await waitForStatus(app, auth, res.body.id as string, 'processing', 3000);
    assert.equal(await balance(app, auth), 9);
    const cancelled = await waitForStatus(app, auth, res.body.id as string, 'cancelled', 7500);
    const at = Date.now() - started;
    assert.ok(at >= 4900 && at < 15_000, `cancelled after ${at} ms`);
    assert.equal(cancelled.credits_refunded, 1);
    assert.ok(cancelled.cancelled_at);
    assert.equal(await balance(app, auth), 10);
    await eventually(() => (app.executor?.runningCount === 0 ? true : undefined), 2000, 'the provider to stop');
  });
});

describe('POST /api/v1/jobs/cancel', () => {
  it('cancels exactly the matching pending and processing jobs of the caller, refunding each', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const other = await app.account({ credits: 100 });
    const a = await Promise.all([1, 2, 3].map(() => runModel(app, auth, testJob(0))));
    const b = await runModel(app, auth, { model: 'local/audio', input: { prompt: 'rain' } });
    const theirs = await runModel(app, other.auth, testJob(0));
    assert.equal(await balance(app, auth), 100 - 3 - 20);

    const byModel = await call(app, auth, 'POST', '/api/v1/jobs/cancel', { model_id: 'local/test' });
    assert.equal(byModel.status, 200, JSON.stringify(byModel.body));
    assert.equal(byModel.body.object, 'bulk_cancel');
    assert.equal(byModel.body.cancelled, 3);
    assert.deepEqual([...byModel.body.ids].sort(), a.map((r) => r.body.id).sort());
    assert.equal(byModel.body.credits_refunded, 3);
    assert.equal(await balance(app, auth), 80);
    assert.equal((await call(app, auth, 'GET', `/api/v1/jobs/${b.body.id}`)).body.status, 'pending');
    for (const r of a) assert.equal((await call(app, auth, 'GET', `/api/v1/jobs/${r.body.id}`)).body.status, 'cancelled');

    // Filters are checked, and unknown fields refused: a typo must not cancel everything.
    for (const [body, field] of [[{ status: 'completed' }, 'status'], [{ modelId: 'local/test' }, 'modelId'], [{ app_id: 5 }, 'app_id'], [[], 'body']] as const) {
      const res = await call(app, auth, 'POST', '/api/v1/jobs/cancel', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error as string, new RegExp(`^${field}: `));
    }
    const noBody = await call(app, auth, 'POST', '/api/v1/jobs/cancel');
    assert.equal(noBody.status, 400);
    assert.equal((await call(app, auth, 'GET', `/api/v1/jobs/${b.body.id}`)).body.status, 'pending');

    const none = await call(app, auth, 'POST', '/api/v1/jobs/cancel', { status: 'processing' });
    assert.deepEqual([none.status, none.body.cancelled, none.body.ids], [200, 0, []]);
    const rest = await call(app, auth, 'POST', '/api/v1/jobs/cancel', {});
    assert.deepEqual([rest.body.cancelled, rest.body.ids, rest.body.credits_refunded], [1, [b.body.id], 20]);
    assert.equal(await balance(app, auth), 100);
    const again = await call(app, auth, 'POST', '/api/v1/jobs/cancel', {});
    assert.equal(again.body.cancelled, 0);
    // Another account's job is untouched.
    assert.equal((await call(app, other.auth, 'GET', `/api/v1/jobs/${theirs.body.id}`)).body.status, 'pending');
    assert.equal(await balance(app, other.auth), 99);
  });

  it('refunds processing jobs per the cancellation policy and stops them', async (t) => {
    const app = await newApp(t, { GENJOBS_CANCEL_REFUND_PERCENT: '50' });
    const { auth } = await app.account({ credits: 200 });
    const slow = await runModel(app, auth, { model: 'local/test', input: { duration_ms: 20_000 } });
    await waitForStatus(app, auth, slow.body.id as string, 'processing', 3000);
    const res = await call(app, auth, 'POST', '/api/v1/jobs/cancel', { status: 'processing' });
    assert.deepEqual([res.body.cancelled, res.body.ids, res.body.credits_refunded], [1, [slow.body.id], 0]);
    await eventually(() => (app.executor?.runningCount === 0 ? true : undefined), 2000, 'the provider to stop');
    assert.equal(await balance(app, auth), 199);
  });
});

describe('POST /api/v1/jobs/:id/retry', () => {
  it('runs a model job again as a new, newly charged job linked by retry_of', async (t) => {
    const app = await newApp(t);
    const { auth, userId } = await app.account({ credits: 3 });
    const failing = await runModel(app, auth, testJob(500, { outcome: 'failed', error_message: 'flaky' }));
    const failed = await waitForStatus(app, auth, failing.body.id as string, 'failed');
    assert.equal(failed.retry_of, null);
    assert.equal(await balance(app, auth), 3);

    const retry = await call(app, auth, 'POST', `/api/v1/jobs/${failed.id}/retry`);
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.notEqual(retry.body.id, failed.id);
    assert.equal(retry.body.retry_of, failed.id);
    assert.equal(retry.body.model, 'local/test');
    assert.deepEqual(retry.body.input_data, failed.input_data);
    assert.equal(retry.body.credits_charged, 1);
    assert.equal(await balance(app, auth), 2);
    const retried = await waitForStatus(app, auth, retry.body.id as string, 'failed');
    assert.equal(retried.retry_of, failed.id);

    // A synchronous model: 200 with the finished job; not enough credits: 402, no job.
    const text = await runModel(app, auth, { model: 'local/text', input: { prompt: 'hello' } });
    assert.equal(text.status, 200);
    const textRetry = await call(app, auth, 'POST', `/api/v1/jobs/${text.body.id}/retry`);
    assert.equal(textRetry.status, 402, JSON.stringify(textRetry.body));
    assert.equal(textRetry.body.code, 'insufficient_credits');
    const count = (await jobs(app, auth)).length;
    await app.store.userGrantCredits({ userId, amount: 10, reason: null, now: Date.now() });
    const textRetry2 = await call(app, auth, 'POST', `/api/v1/jobs/${text.body.id}/retry`);
    assert.equal(textRetry2.status, 200);
    assert.equal(textRetry2.body.status, 'completed');
    assert.equal(textRetry2.body.retry_of, text.body.id);
    assert.equal((await jobs(app, auth)).length, count + 1);
  });

  it('re-checks an app job against the app as it is now, and finds no job of another account', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { userId, auth } = await app.account({ credits: 100 });
    const other = await app.account({ credits: 100 });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await call(app, admin, 'POST', `/admin/v1/users/${userId}/apps`, { name: 'Echo', nodes: [{ id: 'only', model: 'local/test', settings: {} }] });
    assert.equal(created.status, 201);
    const run = await call(app, auth, 'POST', '/api/v1/apps/run', { app_id: created.body.id, inputs: {} });
    assert.equal(run.status, 202);

    const retry = await call(app, auth, 'POST', `/api/v1/jobs/${run.body.id}/retry`);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.run_type, 'app');
    assert.equal(retry.body.app_id, created.body.id);
    assert.equal(retry.body.app_name, 'Echo');
    assert.equal(retry.body.retry_of, run.body.id);
    assert.equal(await balance(app, auth), 98);

    const foreign = await call(app, other.auth, 'POST', `/api/v1/jobs/${run.body.id}/retry`);
    assert.equal(foreign.status, 404);
    assert.deepEqual(foreign.body, { error: 'Job not found', code: 'job_not_found' });
    assert.equal(await balance(app, other.auth), 100);
    assert.equal((await call(app, auth, 'POST', '/api/v1/jobs/00000000-0000-7000-8000-000000000000/retry')).status, 404);

    // The app was deactivated since: the retry is refused like a new run, and charges nothing.
    assert.equal((await app.server.inject({ method: 'PATCH', url: `/admin/v1/apps/${created.body.id}`, headers: { ...admin, 'content-type': 'application/json' }, payload: '{"is_active":false}' })).statusCode, 200);
    const gone = await call(app, auth, 'POST', `/api/v1/jobs/${run.body.id}/retry`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'app_not_found');
    assert.equal(await balance(app, auth), 98);
  });
});
