import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, testApp } from '../helpers/app.js';
import { newId } from '../../src/ids.js';
import { generateWorkerToken } from '../../src/workers/tokens.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/api/json-body.js';

/** `{"a":{"a":…}}` with `levels` objects, around `inner`. */
const nested = (levels: number, inner = '1') => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;

describe('the JSON nesting limit', () => {
  it('counts the nesting of arrays and objects, not brackets inside strings', () => {
    assert.equal(nestsDeeperThan(nested(64), 64), false);
    assert.equal(nestsDeeperThan(nested(65), 64), true);
    assert.equal(nestsDeeperThan(`${'['.repeat(65)}${']'.repeat(65)}`, 64), true);
    assert.equal(nestsDeeperThan(JSON.stringify({ prompt: '[[[[[{{{{{'.repeat(100) }), 64), false);
    assert.equal(nestsDeeperThan(JSON.stringify({ prompt: 'a \\" [[[[' }), 2), false, 'an escaped quote does not end the string');
    // A megabyte of brackets: the check walks it without recursion.
    assert.equal(nestsDeeperThan('['.repeat(1_000_000), 64), true);
  });

  it('answers 400 json_too_deep, before any other work, to a deep body with an Idempotency-Key on every kind of route', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    const deep = `{"model":"local/text","input":${nested(3_000, '{"prompt":"x"}')}}`;
    const { token, tokenHash } = generateWorkerToken();
    await app.store.workerCreate({ id: newId(), name: 'w', tokenHash, models: ['local/text'], now: Date.now() });
    const calls: Array<[string, Record<string, string>]> = [
      ['/api/v1/models/run', { ...auth, 'idempotency-key': 'deep-1' }],
      ['/api/v1/apps/run', { ...auth, 'idempotency-key': 'deep-2' }],
      ['/api/v1/jobs/none/cancel', auth],
      ['/admin/v1/users', { authorization: `Bearer ${ADMIN_TOKEN}` }],
      [`/admin/v1/users/${userId}/credits`, { authorization: `Bearer ${ADMIN_TOKEN}` }],
      ['/worker/v1/jobs/claim', { authorization: `Bearer ${token}` }],
    ];
    for (const [url, headers] of calls) {
      const res = await app.server.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: deep });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.deepEqual(res.json(), {
        error: `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep: send a flatter body`, code: 'json_too_deep',
      }, url);
    }
    assert.equal((await app.store.jobList({ userId, limit: 10 })).length, 0, 'no job was created');
  });

  it('still accepts a body nested exactly to the limit', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    // model and input take two levels; the prompt's object nests the rest.
    const body = `{"model":"local/text","input":{"prompt":"x","extra":${nested(MAX_JSON_DEPTH - 2)}}}`;
    const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' }, payload: body });
    assert.equal(res.statusCode, 400, res.body);
    assert.notEqual(res.json().code, 'json_too_deep', 'it reaches the input check (which refuses the unknown setting)');
  });
});
