import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

const get = (app: TestApp, url: string, headers: Record<string, string> = ADMIN) =>
  app.server.inject({ method: 'GET', url: `/admin/v1${url}`, headers });

describe('admin API: the operator dashboard views', () => {
  it('lists accounts newest first, page by page, and refuses a bad limit naming it', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const res = await app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: ADMIN, payload: { name, credits: 5 } });
      ids.push(res.json().id);
    }
    const first = await get(app, '/users?limit=2');
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json().data.map((u: { name: string }) => u.name), ['c', 'b']);
    assert.equal(first.json().has_more, true);
    assert.equal(first.json().data[0].object, 'user');
    const next = await get(app, `/users?limit=2&starting_after=${ids[1]}`);
    assert.deepEqual(next.json().data.map((u: { id: string }) => u.id), [ids[0]]);
    assert.equal(next.json().has_more, false);
    for (const limit of ['0', '101', 'x']) {
      const bad = await get(app, `/users?limit=${limit}`);
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().error, /^limit:/);
    }
    assert.equal((await get(app, '/users', {})).statusCode, 401);
  });

  it('shows the queue at a glance: pending and processing jobs by model, and the oldest pending job', async (t) => {
    // No executor: runs stay pending, so the counts are exact.
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    const empty = (await get(app, '/queue')).json();
    assert.deepEqual(empty, { object: 'queue_summary', pending: 0, processing: 0, oldest_pending_created_at: null, oldest_pending_age_seconds: null, by_model: [] });
    const { auth } = await app.account();
    const run = (model: string) => app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model, input: { prompt: 'x' } } });
    const firstJob = (await run('local/audio')).json();
    await run('local/audio');
    await run('local/video');
    const summary = (await get(app, '/queue')).json();
    assert.equal(summary.pending, 3);
    assert.equal(summary.processing, 0);
    assert.equal(summary.oldest_pending_created_at, firstJob.created_at);
    assert.equal(typeof summary.oldest_pending_age_seconds, 'number');
    assert.deepEqual(summary.by_model, [
      { status: 'pending', run_type: 'model', model_id: 'local/audio', app_id: null, count: 2 },
      { status: 'pending', run_type: 'model', model_id: 'local/video', app_id: null, count: 1 },
    ]);
  });
});
