import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { AppDirectory } from '../../src/apps/directory.js';
import { Executor } from '../../src/executor/executor.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { newId } from '../../src/ids.js';

/* What an accepted run keeps: the input as resolved at acceptance, the app definition it was charged under. */

type Json = Record<string, any>;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function newApp(t: TestContext): Promise<TestApp> {
  // No executor: each test starts one when the accepted job should run.
  const app = await testApp({ GENJOBS_EXECUTOR: 'false', GENJOBS_SHUTDOWN_GRACE_MS: '0' });
  t.after(() => app.dispose());
  return app;
}

async function call(app: TestApp, headers: Record<string, string>, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.json() as Json };
}

/** Starts an executor on the app's store, stopped when the test ends. */
function startExecutor(t: TestContext, app: TestApp): void {
  const executor = new Executor({
    store: app.store, catalog: app.catalog, providers: new ProviderRegistry(app.catalog.models), events: app.events,
    files: new LocalFileStorage(app.dataDir), links: { link: (f: { key: string }) => `http://genjobs.test/files/${f.key}`, stable: true }, apps: new AppDirectory(app.catalog, app.store),
    logger: pino({ level: 'silent' }), pollMs: 50,
  });
  executor.start();
  t.after(() => executor.stop(0));
}

const terminal = (app: TestApp, auth: Record<string, string>, id: string) => eventually(async () => {
  const job = (await call(app, auth, 'GET', `/api/v1/jobs/${id}`)).body;
  return ['completed', 'failed', 'cancelled'].includes(job.status as string) ? job : undefined;
}, 10_000, `job ${id} to finish`);

describe('accepted runs', () => {
  it('an app edited between acceptance and start runs the definition the run was accepted and charged under', async (t) => {
    const app = await newApp(t);
    const { userId, auth } = await app.account({ credits: 100 });
    const created = await call(app, ADMIN, 'POST', `/admin/v1/users/${userId}/apps`, {
      name: 'First', nodes: [{ id: 'a', model: 'local/test', settings: {} }],
    });
    assert.equal(created.status, 201);
    const run = await call(app, { ...auth, 'content-type': 'application/json' }, 'POST', '/api/v1/apps/run', { app_id: created.body.id });
    assert.equal(run.status, 202);
    assert.equal(run.body.credits_charged, 1);

    // The edit: node a now fails, a second node is added and the price changes.
    const edited = await call(app, ADMIN, 'PUT', `/admin/v1/apps/${created.body.id}`, {
      name: 'Second', cost: 7, nodes: [
        { id: 'a', model: 'local/test', settings: { outcome: 'failed', error_message: 'the edited definition ran' } },
        { id: 'b', model: 'local/test', settings: {} },
      ],
    });
    assert.equal(edited.status, 200);

    startExecutor(t, app);
    const job = await terminal(app, auth, run.body.id as string);
    assert.equal(job.status, 'completed', job.error_message as string);
    assert.equal(job.output_data.app_name, 'First');
    assert.deepEqual(Object.keys(job.output_data.node_outputs as Json), ['a']);
    assert.equal(job.credits_charged, 1);
  });

  it('a model run keeps its input resolved at acceptance, defaults filled in, and shows the input as given', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account();
    const run = await call(app, { ...auth, 'content-type': 'application/json' }, 'POST', '/api/v1/models/run', { model: 'local/test', input: { duration_ms: 3 } });
    assert.equal(run.status, 202);
    assert.deepEqual(run.body.input_data, { input: { duration_ms: 3 } });
    assert.equal(run.body.run_spec, undefined, 'the spec is never shown');
    const stored = await app.store.jobGetById({ id: run.body.id as string });
    assert.deepEqual(stored?.runSpec, { input: { duration_ms: 3, outcome: 'completed' } });
  });

  it('the executor runs what the spec says, not the input as given', async (t) => {
    const app = await newApp(t);
    const { userId, auth } = await app.account();
    // A job whose spec differs from its shown input: only the spec can make it fail this way.
    const created = await app.store.jobCreateCharged({
      id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} },
      runSpec: { input: { duration_ms: 0, outcome: 'failed', error_message: 'ran from the spec' } },
      webhookUrl: null, cost: 1, now: Date.now(),
    });
    assert.ok(created.ok);
    app.events.created(created.job);
    startExecutor(t, app);
    const job = await terminal(app, auth, created.job.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.error_message, 'ran from the spec');
  });

  it('a job accepted before specs were kept (no spec) is resolved against the catalog when it runs', async (t) => {
    const app = await newApp(t);
    const { userId, auth } = await app.account();
    const created = await app.store.jobCreateCharged({
      id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null,
      inputData: { input: { outcome: 'failed', error_message: 'ran from the input' } }, webhookUrl: null, cost: 1, now: Date.now(),
    });
    assert.ok(created.ok);
    assert.equal(created.job.runSpec, null);
    app.events.created(created.job);
    startExecutor(t, app);
    const job = await terminal(app, auth, created.job.id);
    assert.equal(job.error_message, 'ran from the input');
  });
});
