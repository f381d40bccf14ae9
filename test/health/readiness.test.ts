import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testApp } from '../helpers/app.js';
import { latestMigration } from '../../src/store/migrations.js';

describe('GET /healthz and GET /readyz', () => {
  it('says alive and ready with every check passed, executor included', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const alive = await app.server.inject({ method: 'GET', url: '/healthz' });
    assert.equal(alive.statusCode, 200);
    assert.deepEqual(alive.json(), { status: 'ok' });
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      status: 'ready',
      checks: { shutdown: 'ok', store: 'ok', migrations: `schema version ${latestMigration(app.store.dialect)}`, executor: 'ok' },
    });
  });

  it('passes the executor check in a role that runs no executor', async (t) => {
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().checks.executor, 'not run in this process');
  });

  it('answers 503 not_ready naming the store when it fails, and ready again once it answers', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const real = app.store.schemaVersion.bind(app.store);
    app.store.schemaVersion = async () => { throw new Error('connection refused'); };
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.deepEqual(res.json(), { error: 'Not ready: store: connection refused', code: 'not_ready' });
    app.store.schemaVersion = real;
    assert.equal((await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    // Liveness does not depend on the store.
    app.store.schemaVersion = async () => { throw new Error('connection refused'); };
    assert.equal((await app.server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('answers 503 naming the store when it does not answer in time', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    app.store.schemaVersion = () => new Promise<number>(() => {});
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().error, /^Not ready: store: the store did not answer within \d+ ms$/);
  });

  it('answers 503 naming the migrations when the database is behind this build', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const shipped = latestMigration(app.store.dialect);
    app.store.schemaVersion = async () => shipped - 1;
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: `Not ready: migrations: schema version ${shipped - 1}, this build needs ${shipped}`, code: 'not_ready' });
  });

  it('answers 503 naming the executor when its claim loop is stuck', async (t) => {
    const app = await testApp();
    let release: (() => void) | undefined;
    t.after(async () => { release?.(); await app.dispose(); });
    const realClaim = app.store.jobClaim.bind(app.store);
    // The next claim never comes back until the test releases it: the loop stops turning.
    app.store.jobClaim = (p) => new Promise((resolve) => { release = () => resolve(realClaim(p)); });
    const res = await eventually(async () => {
      const r = await app.server.inject({ method: 'GET', url: '/readyz' });
      return r.statusCode === 503 ? r : undefined;
    }, 15_000, 'readyz to notice the stuck executor');
    assert.equal(res.json().code, 'not_ready');
    assert.match(res.json().error, /^Not ready: executor: the executor's claim loop has not turned for \d+ ms$/);
  });

  it('answers 503 naming the shutdown while the process drains, and /healthz still answers', async (t) => {
    const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '5000' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    // A job that outlasts the grace period: the shutdown is held for the whole 5 s of it whatever
    // the machine's load, not for what was left of a short job when the probes arrive.
    const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: { duration_ms: 60_000 } } });
    await eventually(async () => ((await app.store.jobGetById({ id: run.json().id }))?.status === 'processing' ? true : undefined));
    // The running job holds the shutdown in its grace period while the probes arrive.
    const closing = app.close();
    const ready = await app.server.inject({ method: 'GET', url: '/readyz' });
    const alive = await app.server.inject({ method: 'GET', url: '/healthz' });
    await closing;
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { error: 'Not ready: shutdown: the server is shutting down', code: 'not_ready' });
    assert.equal(alive.statusCode, 200);
  });

  it('names the shutdown when it begins while the store is being asked', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const shipped = latestMigration(app.store.dialect);
    let release: (() => void) | undefined;
    app.store.schemaVersion = () => new Promise<number>((resolve) => { release = () => resolve(shipped); });
    const probe = app.server.inject({ method: 'GET', url: '/readyz' });
    await eventually(() => (release ? true : undefined), 5_000, 'the probe to ask the store');
    // SIGTERM arrives meanwhile: the process drains and its executor stops.
    const closing = app.close();
    release!();
    const res = await probe;
    await closing;
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: 'Not ready: shutdown: the server is shutting down', code: 'not_ready' });
  });
});
