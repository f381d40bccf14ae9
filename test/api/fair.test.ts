import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, testApp } from '../helpers/app.js';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const EXECUTOR_OFF = { GENJOBS_EXECUTOR: 'false' };

describe('fair scheduler over the API', () => {
  it('shows and changes an account\'s scheduling settings with PATCH /admin/v1/users/:id', async (t) => {
    const app = await testApp(EXECUTOR_OFF);
    t.after(() => app.dispose());
    const { userId } = await app.account();
    const patch = (payload: object) => app.server.inject({ method: 'PATCH', url: `/admin/v1/users/${userId}`, headers: ADMIN, payload });
    const shown = (await app.server.inject({ method: 'GET', url: `/admin/v1/users/${userId}`, headers: ADMIN })).json();
    assert.deepEqual([shown.weight, shown.max_running, shown.max_running_per_model, shown.max_priority], [1, null, null, 'high']);
    const set = await patch({ weight: 3, max_running: 5, max_running_per_model: 2, max_priority: 'normal' });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual([set.json().weight, set.json().max_running, set.json().max_running_per_model, set.json().max_priority, set.json().api_access], [3, 5, 2, 'normal', true]);
    const cleared = (await patch({ max_running: null, api_access: false })).json();
    assert.deepEqual([cleared.weight, cleared.max_running, cleared.api_access], [3, null, false]);
    for (const [body, field] of [[{ weight: 0 }, 'weight'], [{ max_priority: 'urgent' }, 'max_priority'], [{ max_running: -1 }, 'max_running']] as const) {
      const res = await patch(body);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'invalid_parameter');
      assert.match(res.json().error, new RegExp(`^${field}`));
    }
    const kept = (await app.server.inject({ method: 'GET', url: `/admin/v1/users/${userId}`, headers: ADMIN })).json();
    assert.equal(kept.weight, 3, 'a refused change writes nothing');
  });

  it('takes a run\'s priority up to the account\'s max_priority, and refuses one above it with nothing charged', async (t) => {
    const app = await testApp(EXECUTOR_OFF);
    t.after(() => app.dispose());
    const { userId, auth } = await app.account({ credits: 1000 });
    const run = (body: object) => app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', ...body } });
    const high = await run({ priority: 'high' });
    assert.equal(high.statusCode, 202, high.body);
    assert.equal(high.json().priority, 'high');
    const plain = (await run({})).json();
    assert.equal(plain.priority, 'normal');
    // The high-priority run goes first in the account's queue, though it came first anyway; a low one goes last.
    const low = (await run({ priority: 'low' })).json();
    const later = (await run({})).json();
    assert.deepEqual([plain.queue_position, low.queue_position, later.queue_position], [1, 2, 2]);
    const got = await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${low.id}`, headers: auth });
    assert.deepEqual([got.json().priority, got.json().queue_position], ['low', 3]);

    await app.server.inject({ method: 'PATCH', url: `/admin/v1/users/${userId}`, headers: ADMIN, payload: { max_priority: 'normal' } });
    const before = (await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).json();
    const refused = await run({ priority: 'high' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().code, 'priority_not_allowed');
    assert.match(refused.json().error, /at most "normal", not "high"/);
    const after = (await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).json();
    assert.deepEqual(after, before, 'nothing charged');
    assert.equal((await run({ priority: 'normal' })).statusCode, 202);
    const bad = await run({ priority: 'urgent' });
    assert.equal(bad.statusCode, 400);
  });
});
