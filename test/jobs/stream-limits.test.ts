import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testApp, type TestApp } from '../helpers/app.js';
import { openSse, type SseStream } from './sse.js';

/* Event streams: capped per key and per process, and an account's streams share one subscription and one read per change. */

type Auth = { authorization: string };

async function liveApp(t: TestContext, env: Record<string, string> = {}): Promise<{ app: TestApp; base: string }> {
  const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

async function run(base: string, auth: Auth, durationMs = 60_000): Promise<string> {
  const res = await fetch(`${base}/api/v1/models/run`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'local/test', input: { duration_ms: durationMs } }),
  });
  const body = await res.json() as { id: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

const hasStatus = (id: string, status: string) => (e: { event: string; data: any }) => e.event === 'status' && e.data.id === id && e.data.status === status;

/** The app's job-event listeners by event name (as the streams hold them). */
function listeners(app: TestApp): Record<string, number> {
  const emitter = (app.events as unknown as { emitter: { eventNames(): (string | symbol)[]; listenerCount(n: string | symbol): number } }).emitter;
  return Object.fromEntries(emitter.eventNames().map((n) => [String(n), emitter.listenerCount(n)]));
}

/** Opens streams until one is refused; each refusal must be the documented 429. */
async function expectRefused(url: string, auth: Auth, limit: RegExp): Promise<void> {
  const res = await fetch(url, { headers: { ...auth, accept: 'text/event-stream' } });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '10');
  const body = await res.json() as { error: string; code: string };
  assert.equal(body.code, 'too_many_streams');
  assert.match(body.error, limit);
}

describe('event stream limits', () => {
  it('refuses a key\'s stream past GENJOBS_STREAMS_PER_KEY with a 429, keeps the open ones working, and counts both kinds', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_STREAMS_PER_KEY: '2', GENJOBS_EXECUTOR: 'false' });
    const a = await app.account();
    const b = await app.account();
    const jobId = await run(base, a.auth);
    const accountStream = await openSse(`${base}/api/v1/jobs/events`, a.auth);
    const jobStream = await openSse(`${base}/api/v1/jobs/${jobId}/events`, a.auth);
    t.after(() => { accountStream.close(); jobStream.close(); });
    assert.equal(accountStream.status, 200);
    assert.equal(jobStream.status, 200);
    await expectRefused(`${base}/api/v1/jobs/events`, a.auth, /this API key has 2 open.*GENJOBS_STREAMS_PER_KEY/);
    await expectRefused(`${base}/api/v1/jobs/${jobId}/events`, a.auth, /this API key has 2 open/);
    // Another key is not held back by this one.
    const other = await openSse(`${base}/api/v1/jobs/events`, b.auth);
    t.after(() => other.close());
    assert.equal(other.status, 200);

    // The open streams still tell what happens.
    const cancel = await fetch(`${base}/api/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: a.auth });
    assert.ok(cancel.ok);
    await accountStream.waitFor(hasStatus(jobId, 'cancelled'), 5000, 'the cancel on the account stream');
    await jobStream.waitFor(hasStatus(jobId, 'cancelled'), 5000, 'the cancel on the job stream');
    // The job stream ended with its job: its slot is free again.
    await jobStream.ended;
    const again = await eventually(async () => {
      const s = await openSse(`${base}/api/v1/jobs/events`, a.auth);
      if (s.status === 200) return s;
      s.close();
      return undefined;
    }, 5000, 'a slot to come free');
    again.close();
  });

  it('refuses any stream past GENJOBS_STREAMS_MAX, all keys together', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_STREAMS_MAX: '3', GENJOBS_EXECUTOR: 'false' });
    const keys = await Promise.all([app.account(), app.account(), app.account(), app.account()]);
    const open: SseStream[] = [];
    t.after(() => { for (const s of open) s.close(); });
    for (const k of keys.slice(0, 3)) {
      const s = await openSse(`${base}/api/v1/jobs/events`, k.auth);
      open.push(s);
      assert.equal(s.status, 200);
    }
    await expectRefused(`${base}/api/v1/jobs/events`, keys[3]!.auth, /this server has 3 open.*GENJOBS_STREAMS_MAX/);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200, 'other requests are not held back');
  });
});

describe('account stream fan-out', () => {
  it('serves all of an account\'s streams from one subscription and one read per change, and other accounts\' streams read nothing', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_EXECUTOR: 'false' });
    const a = await app.account();
    const b = await app.account();
    const before = listeners(app);
    const streamsA = await Promise.all(Array.from({ length: 10 }, () => openSse(`${base}/api/v1/jobs/events`, a.auth)));
    const streamsB = await Promise.all(Array.from({ length: 10 }, () => openSse(`${base}/api/v1/jobs/events`, b.auth)));
    t.after(() => { for (const s of [...streamsA, ...streamsB]) s.close(); });
    const during = listeners(app);
    assert.equal((during.changed ?? 0) - (before.changed ?? 0), 1, `one 'changed' subscription for 20 streams: ${JSON.stringify(during)}`);
    assert.equal((during.created ?? 0) - (before.created ?? 0), 1, `one 'created' subscription for 20 streams: ${JSON.stringify(during)}`);

    // On PostgreSQL the store's own notification of the change comes too: when it comes before the
    // in-process notice, its owner is not known yet and is looked up once more. A constant either way.
    const perChange = process.env.GENJOBS_TEST_STORE === 'postgres' ? 3 : 1;
    // Count the reads of single jobs from here on.
    const reads = new Map<string, number>();
    const store = app.store as unknown as { jobGetById: (p: { id: string }) => Promise<unknown> };
    const read = store.jobGetById.bind(store);
    store.jobGetById = (p) => {
      reads.set(p.id, (reads.get(p.id) ?? 0) + 1);
      return read(p);
    };
    const jobA = await run(base, a.auth);
    await Promise.all(streamsA.map((s) => s.waitFor(hasStatus(jobA, 'pending'), 5000, 'the new job on every stream of its account')));
    // Once for the ten streams of its account, none for the other account's.
    const afterRun = reads.get(jobA) ?? 0;
    assert.ok(afterRun >= 1 && afterRun <= perChange, `the new job was read ${afterRun} times for 20 streams`);
    const cancel = await fetch(`${base}/api/v1/jobs/${jobA}/cancel`, { method: 'POST', headers: a.auth });
    assert.ok(cancel.ok);
    await Promise.all(streamsA.map((s) => s.waitFor(hasStatus(jobA, 'cancelled'), 5000, 'the cancel on every stream of its account')));
    const afterCancel = (reads.get(jobA) ?? 0) - afterRun;
    assert.ok(afterCancel >= 1 && afterCancel <= perChange, `the cancel was read ${afterCancel} times for 20 streams`);

    // B's streams hear of B's own job, and never of A's.
    const jobB = await run(base, b.auth);
    await Promise.all(streamsB.map((s) => s.waitFor(hasStatus(jobB, 'pending'), 5000, 'B\'s job on B\'s streams')));
    for (const s of streamsB) assert.ok(!s.events.some((e) => e.data?.id === jobA), 'no event of another account');
    for (const s of streamsA) assert.deepEqual(s.events.filter((e) => e.data?.id === jobA).map((e) => e.data.status), ['pending', 'cancelled']);

    // Closing every stream drops the subscription.
    for (const s of [...streamsA, ...streamsB]) s.close();
    await eventually(() => {
      const now = listeners(app);
      return (now.changed ?? 0) === (before.changed ?? 0) && (now.created ?? 0) === (before.created ?? 0) ? true : undefined;
    }, 5000, 'the subscription to be dropped');
  });

  it('finds changes no notice told of (another process\'s) on every stream of the account, an old unfinished job included', async (t) => {
    const { app, base } = await liveApp(t, { GENJOBS_EXECUTOR: 'false' });
    const a = await app.account({ credits: 1000 });
    const old = await run(base, a.auth);
    // Fifty newer jobs push the first one out of the newest a sweep lists.
    const newer: string[] = [];
    for (let i = 0; i < 50; i++) newer.push(await run(base, a.auth));
    const streams = await Promise.all(Array.from({ length: 3 }, () => openSse(`${base}/api/v1/jobs/events`, a.auth)));
    t.after(() => { for (const s of streams) s.close(); });
    for (const s of streams) await s.waitFor(hasStatus(old, 'pending'), 5000, 'the old unfinished job first');
    // Cancelled straight in the store, as another process without notifications would: no notice here.
    const refund = (job: { creditsCharged: number }) => job.creditsCharged;
    await app.store.jobCancel({ id: old, userId: a.userId, now: Date.now(), refundFor: refund });
    await app.store.jobCancel({ id: newer[49]!, userId: a.userId, now: Date.now(), refundFor: refund });
    for (const s of streams) {
      await s.waitFor(hasStatus(old, 'cancelled'), 5000, 'the old job\'s cancel, found by a sweep');
      await s.waitFor(hasStatus(newer[49]!, 'cancelled'), 5000, 'the newest job\'s cancel, found by a sweep');
    }
  });
});
