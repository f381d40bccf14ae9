import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { eventually, testApp } from '../helpers/app.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { packageRoot } from '../../src/paths.js';

/** Every error body: an `error` string, and at most a `code` besides. */
function assertErrorBody(body: unknown): { error: string; code?: string } {
  assert.equal(typeof body, 'object');
  assert.ok(body !== null);
  const b = body as Record<string, unknown>;
  assert.equal(typeof b.error, 'string');
  assert.ok((b.error as string).length > 0);
  for (const key of Object.keys(b)) assert.ok(key === 'error' || key === 'code', `unexpected field ${key} in error body`);
  if (b.code !== undefined) assert.ok(Object.hasOwn(ERROR_CODES, b.code as string), `unknown code ${String(b.code)}`);
  return b as { error: string; code?: string };
}

describe('errors of the request body', () => {
  it('answers 400 mentioning JSON to a body that is not valid JSON', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"model": "local/text",',
    });
    assert.equal(res.statusCode, 400);
    const body = assertErrorBody(res.json());
    assert.match(body.error, /JSON/);
    assert.equal(body.code, 'invalid_json');
    assert.equal((await app.store.jobList({ userId, limit: 10 })).length, 0);
  });

  it('refuses prototype-poisoning keys as invalid JSON', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"model":"local/text","input":{"prompt":"x"},"__proto__":{"admin":true}}',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(assertErrorBody(res.json()).code, 'invalid_json');
  });

  it('answers 413 naming the limit to a body larger than GENJOBS_BODY_LIMIT', async (t) => {
    const app = await testApp({ GENJOBS_BODY_LIMIT: '2048' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const payload = JSON.stringify({ model: 'local/text', input: { prompt: 'x'.repeat(10 * 1024) } });
    const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' }, payload });
    assert.equal(res.statusCode, 413);
    const body = assertErrorBody(res.json());
    assert.equal(body.error, 'The request body is larger than the limit of 2048 bytes');
    assert.equal(body.code, 'body_too_large');
  });

  it('answers 415 to a text/plain body', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'model=local/text',
    });
    assert.equal(res.statusCode, 415);
    const body = assertErrorBody(res.json());
    assert.equal(body.code, 'unsupported_media_type');
    assert.match(body.error, /text\/plain/);
    assert.match(body.error, /application\/json/);
  });

  it('answers 415 to a form-encoded body', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'model=local%2Ftext',
    });
    assert.equal(res.statusCode, 415);
    assert.equal(assertErrorBody(res.json()).code, 'unsupported_media_type');
  });

  it('reads Content-Type: application/json with an empty body as no body (cancel of an unknown job is 404)', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: `/api/v1/jobs/${randomUUID()}/cancel`, headers: { ...auth, 'content-type': 'application/json' }, payload: '',
    });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'Job not found', code: 'job_not_found' });
  });

  it('answers 400 naming model to a run with an empty JSON body', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' }, payload: '',
    });
    assert.equal(res.statusCode, 400);
    assert.match(assertErrorBody(res.json()).error, /^model\b/);
  });
});

describe('errors of routing and of the server', () => {
  it('answers 404 with a JSON error to an unknown route', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    for (const url of ['/nope', '/api/v2/jobs', '/api/v1/nope?x=1']) {
      const res = await app.server.inject({ method: 'GET', url, headers: auth });
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = assertErrorBody(res.json());
      assert.equal(body.code, 'route_not_found');
      assert.ok(body.error.startsWith(`No route GET ${url.split('?')[0]}`), body.error);
    }
  });

  it('authenticates unknown routes under /api/v1 before answering 404, with the rate-limit headers', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ rateLimitPerMinute: 5 });
    assert.equal((await app.server.inject({ method: 'POST', url: '/api/v1/nope' })).statusCode, 401);
    const res = await app.server.inject({ method: 'POST', url: '/api/v1/nope', headers: auth });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-ratelimit-remaining'], '4');
  });

  it('answers file_not_found for a missing output file', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const res = await app.server.inject({ method: 'GET', url: `/files/${randomUUID()}/missing.png` });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'File not found', code: 'file_not_found' });
  });

  it('answers 503 with Retry-After in the contract\'s error format while shutting down', async (t) => {
    const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '5000' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    // A job that outlasts the grace period holds the shutdown for all of it, whatever the load.
    const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: { duration_ms: 60_000 } } });
    await eventually(async () => ((await app.store.jobGetById({ id: run.json().id }))?.status === 'processing' ? true : undefined));
    // The running job holds the shutdown in its grace period while the next request arrives.
    const closing = app.close();
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth });
    await closing;
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.equal(assertErrorBody(res.json()).code, 'unavailable');
  });

  it('answers 500 without leaking internals when the store fails', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    app.store.jobList = async () => {
      throw new Error('SQLITE_BUSY: secret internals at /srv/genjobs/data/genjobs.db');
    };
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/jobs', headers: auth });
    assert.equal(res.statusCode, 500);
    const body = assertErrorBody(res.json());
    assert.equal(body.code, 'internal_error');
    assert.equal(body.error, ERROR_CODES.internal_error.message);
    for (const leak of ['SQLITE', 'secret', 'genjobs.db', 'at ', 'Error:', 'stack', '.js:', '.ts:']) {
      assert.equal(res.body.includes(leak), false, `the 500 body leaks ${JSON.stringify(leak)}: ${res.body}`);
    }
  });

  it('answers 500 without leaking a thrown non-Error value', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    app.store.jobList = async () => {
      throw { statusCode: 500, message: 'SELECT * FROM jobs secret' };
    };
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/jobs', headers: auth });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: ERROR_CODES.internal_error.message, code: 'internal_error' });
  });

  it('gives every error answer an `error` string', async (t) => {
    const app = await testApp({ GENJOBS_BODY_LIMIT: '2048' });
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 0, rateLimitPerMinute: 1000 });
    const { auth: limited } = await app.account({ rateLimitPerMinute: 1 });
    const { auth: noAccess } = await app.account({ apiAccess: false });
    const json = { ...auth, 'content-type': 'application/json' };
    await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: limited });
    const cases: [number, InjectOptions][] = [
      [400, { method: 'GET', url: '/api/v1/jobs?limit=0', headers: auth }],
      [400, { method: 'POST', url: '/api/v1/models/run', headers: json, payload: '{' }],
      [400, { method: 'POST', url: '/api/v1/models/run', headers: json, payload: '{"model":"nobody/nothing"}' }],
      [400, { method: 'POST', url: '/api/v1/models/run', headers: json, payload: '"a string"' }],
      [401, { method: 'GET', url: '/api/v1/jobs' }],
      [401, { method: 'GET', url: '/api/v1/jobs', headers: { authorization: 'Bearer sk_live_unknown' } }],
      [402, { method: 'POST', url: '/api/v1/models/run', headers: json, payload: '{"model":"local/text","input":{"prompt":"hi"}}' }],
      [403, { method: 'GET', url: '/api/v1/jobs', headers: noAccess }],
      [404, { method: 'GET', url: `/api/v1/jobs/${randomUUID()}`, headers: auth }],
      [404, { method: 'GET', url: '/files/nothing-here.png' }],
      [413, { method: 'POST', url: '/api/v1/models/run', headers: json, payload: JSON.stringify({ pad: 'x'.repeat(4096) }) }],
      [415, { method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'x' }],
      [429, { method: 'GET', url: '/api/v1/account', headers: limited }],
    ];
    for (const [status, request] of cases) {
      const res = await app.server.inject(request);
      const what = `${String(request.method)} ${String(request.url)}`;
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assertErrorBody(res.json());
    }
  });
});

describe('docs/errors.md', () => {
  it('lists every error code with its HTTP status in a table row', () => {
    const doc = fs.readFileSync(path.join(packageRoot, 'docs', 'errors.md'), 'utf8');
    const rows = doc.split('\n').filter((line) => line.trim().startsWith('|')).map((line) =>
      line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim().replace(/^`|`$/g, '')));
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      const row = rows.find((cells) => cells[0] === code);
      assert.ok(row, `docs/errors.md has no table row for ${code}`);
      assert.equal(row[1], String(status), `docs/errors.md gives ${code} the status ${row[1]}, the code says ${status}`);
    }
    const documented = rows.map((cells) => cells[0] ?? '').filter((c) => /^[a-z_]+$/.test(c));
    for (const code of documented) assert.ok(Object.hasOwn(ERROR_CODES, code), `docs/errors.md lists ${code}, which is not in ERROR_CODES`);
  });
});
