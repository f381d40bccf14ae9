import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';
import { createApiKey } from '../../src/accounts/admin.js';
import { generateApiKey, hashApiKey } from '../../src/accounts/api-keys.js';
import { createHash } from 'node:crypto';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function get(app: TestApp, url: string, headers: Record<string, string> = {}) {
  return app.server.inject({ method: 'GET', url, headers });
}

/** The error body of a 401/403/429: `error` exactly as the contract says, at most a `code` besides. */
function assertErrorBody(body: Record<string, unknown>, error: string | RegExp): void {
  if (typeof error === 'string') assert.equal(body.error, error);
  else assert.match(String(body.error), error);
  for (const key of Object.keys(body)) assert.ok(key === 'error' || key === 'code', `unexpected field ${key} in error body`);
}

describe('authentication of /api/v1', () => {
  it('stores keys as their SHA-256 in hex, so keys stored by earlier versions keep working', () => {
    const { key, keyHash } = generateApiKey();
    assert.equal(keyHash, createHash('sha256').update(key).digest('hex'));
    assert.equal(hashApiKey('sk_live_example'), createHash('sha256').update('sk_live_example').digest('hex'));
  });

  const missing = [
    ['no Authorization header', undefined],
    ['a Basic credential', 'Basic xyz'],
    ['Bearer with nothing after it', 'Bearer'],
    ['Bearer followed by spaces only', 'Bearer   '],
  ] as const;
  for (const [what, header] of missing) {
    it(`answers 401 Missing Authorization Bearer token to ${what}`, async (t) => {
      const app = await testApp();
      t.after(() => app.dispose());
      const res = await get(app, '/api/v1/account', header === undefined ? {} : { authorization: header });
      assert.equal(res.statusCode, 401);
      assertErrorBody(res.json(), 'Missing Authorization Bearer token');
    });
  }

  it('answers 401 Invalid API key to a key that does not exist', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const res = await get(app, '/api/v1/account', { authorization: `Bearer ${generateApiKey().key}` });
    assert.equal(res.statusCode, 401);
    assertErrorBody(res.json(), 'Invalid API key');
  });

  it('answers 401 Invalid API key to a key revoked through the admin API', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, key, auth } = await app.account();
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 200);
    const [record] = await app.store.apiKeyListByUser({ userId });
    assert.ok(record);
    const del = await app.server.inject({ method: 'DELETE', url: `/admin/v1/users/${userId}/keys/${record.id}`, headers: ADMIN });
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().is_active, false);
    const res = await get(app, '/api/v1/account', auth);
    assert.equal(res.statusCode, 401);
    assertErrorBody(res.json(), 'Invalid API key');
    assert.ok(!JSON.stringify(res.json()).includes(key));
  });

  it('answers 401 Invalid API key to an expired key', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const user = await app.store.userCreate({ name: null, credits: 10, now: Date.now() });
    const generated = generateApiKey();
    await app.store.apiKeyCreate({
      userId: user.id, name: 'expired', keyPrefix: generated.keyPrefix, keyHash: generated.keyHash,
      expiresAt: Date.now() - 1, rateLimitPerMinute: 100, now: Date.now() - 60_000,
    });
    const res = await get(app, '/api/v1/account', { authorization: `Bearer ${generated.key}` });
    assert.equal(res.statusCode, 401);
    assertErrorBody(res.json(), 'Invalid API key');
  });

  it('accepts a key until its expires_at, then answers 401 Invalid API key', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const user = await app.store.userCreate({ name: null, credits: 10, now: Date.now() });
    // Three seconds: the first request must come before the expiry on a loaded machine too.
    const expiresAt = new Date(Date.now() + 3000).toISOString();
    const { key } = await createApiKey(app.store, user.id, { expires_at: expiresAt }, { rateLimitPerMinute: 60 });
    const auth = { authorization: `Bearer ${key}` };
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 200);
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 50));
    const res = await get(app, '/api/v1/account', auth);
    assert.equal(res.statusCode, 401);
    assertErrorBody(res.json(), 'Invalid API key');
  });

  it('answers 403 saying API access is not enabled when the account has no API access', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ apiAccess: false });
    const res = await get(app, '/api/v1/account', auth);
    assert.equal(res.statusCode, 403);
    assertErrorBody(res.json(), /API access/);
    assert.equal(res.json().code, 'api_access_disabled');
  });

  it('accepts the bearer scheme case-insensitively and the key with surrounding spaces', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { key } = await app.account();
    assert.equal((await get(app, '/api/v1/account', { authorization: `bearer ${key}` })).statusCode, 200);
    assert.equal((await get(app, '/api/v1/account', { authorization: `Bearer  ${key} ` })).statusCode, 200);
  });
});

describe('rate limits per key', () => {
  it('admits rate_limit_per_minute requests with counting headers, then answers 429 with Retry-After', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ rateLimitPerMinute: 3 });
    for (const remaining of [2, 1, 0]) {
      const res = await get(app, '/api/v1/account', auth);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-ratelimit-limit'], '3');
      assert.equal(res.headers['x-ratelimit-remaining'], String(remaining));
      const reset = String(res.headers['x-ratelimit-reset']);
      assert.match(reset, /^\d+$/);
      // Room left: the window has room now (0); full: the seconds until the oldest request leaves it.
      if (remaining > 0) assert.equal(reset, '0');
      else assert.ok(Number(reset) >= 1 && Number(reset) <= 61, `X-RateLimit-Reset ${reset} within 1..61`);
    }
    const res = await get(app, '/api/v1/account', auth);
    assert.equal(res.statusCode, 429);
    assert.deepEqual(res.json(), { error: 'Rate limit exceeded', code: 'rate_limited' });
    const retryAfter = String(res.headers['retry-after']);
    assert.match(retryAfter, /^[1-9]\d*$/);
    assert.ok(Number(retryAfter) <= 61, `Retry-After ${retryAfter} <= 61`);
    assert.equal(res.headers['x-ratelimit-limit'], '3');
    assert.equal(res.headers['x-ratelimit-remaining'], '0');
    assert.equal(res.headers['x-ratelimit-reset'], retryAfter);
  });

  it('keeps refusing while over the limit: refused requests do not reset the window', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ rateLimitPerMinute: 1 });
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 200);
    for (let i = 0; i < 5; i++) assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 429);
  });

  it('puts the rate-limit headers on an error answer of an authenticated request (404)', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account({ rateLimitPerMinute: 5 });
    const res = await get(app, `/api/v1/jobs/${randomUUID()}`, auth);
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'Job not found');
    assert.equal(res.headers['x-ratelimit-limit'], '5');
    assert.equal(res.headers['x-ratelimit-remaining'], '4');
    assert.match(String(res.headers['x-ratelimit-reset']), /^\d+$/);
  });

  it('limits each key on its own: another key of the same account is unaffected', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account({ rateLimitPerMinute: 2 });
    const { key: second } = await createApiKey(app.store, userId, { rate_limit_per_minute: 2 }, { rateLimitPerMinute: 60 });
    const secondAuth = { authorization: `Bearer ${second}` };
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 200);
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 200);
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 429);
    const res = await get(app, '/api/v1/account', secondAuth);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-limit'], '2');
    assert.equal(res.headers['x-ratelimit-remaining'], '1');
    assert.equal((await get(app, '/api/v1/account', auth)).statusCode, 429);
  });
});
