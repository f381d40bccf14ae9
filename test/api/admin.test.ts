import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function admin(app: TestApp, method: Method, url: string, payload?: unknown, headers: Record<string, string> = ADMIN) {
  return app.server.inject({ method, url: `/admin/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function createUser(app: TestApp, body: Record<string, unknown> = { name: 'Ada', credits: 100 }): Promise<string> {
  const res = await admin(app, 'POST', '/users', body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id as string;
}

/** A 400 whose `error` starts with the field it is about. */
function assertNamesField(res: { statusCode: number; json(): Record<string, unknown> }, field: string): void {
  assert.equal(res.statusCode, 400);
  const body = res.json();
  assert.equal(typeof body.error, 'string');
  assert.ok((body.error as string).startsWith(`${field}:`), `"${body.error}" should start with "${field}:"`);
}

describe('admin API switched off', () => {
  it('answers 404 naming GENJOBS_ADMIN_TOKEN on every admin route when no token is configured', async (t) => {
    const app = await testApp({ GENJOBS_ADMIN_TOKEN: '' });
    t.after(() => app.dispose());
    assert.equal(app.config.adminToken, null);
    for (const [method, url] of [['POST', '/users'], ['GET', `/users/${randomUUID()}`], ['GET', `/users/${randomUUID()}/keys`]] as const) {
      // Even the token a test deployment would use is refused: there is no token to match.
      const res = await admin(app, method, url, method === 'POST' ? {} : undefined);
      assert.equal(res.statusCode, 404);
      assert.match(res.json().error, /GENJOBS_ADMIN_TOKEN/);
      const bare = await admin(app, method, url, method === 'POST' ? {} : undefined, {});
      assert.equal(bare.statusCode, 404);
    }
  });
});

describe('admin API authentication', () => {
  it('answers 401 to a wrong token and to a missing one, and creates nothing', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const wrong = await admin(app, 'POST', '/users', { name: 'x' }, { authorization: `Bearer ${ADMIN_TOKEN}x` });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error, 'Invalid admin token');
    const none = await admin(app, 'POST', '/users', { name: 'x' }, {});
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error, 'Missing Authorization Bearer token');
    // An API key is not an admin token.
    const { auth } = await app.account();
    assert.equal((await admin(app, 'GET', `/users/${randomUUID()}`, undefined, auth)).statusCode, 401);
  });
});

describe('admin users and credits', () => {
  it('creates a user (201 with id, name, credits) and reads it back', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const res = await admin(app, 'POST', '/users', { name: 'Ada', credits: 100 });
    assert.equal(res.statusCode, 201);
    const user = res.json();
    assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(user.name, 'Ada');
    assert.equal(user.credits, 100);
    assert.equal(user.api_access, true);
    const got = await admin(app, 'GET', `/users/${user.id}`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), user);
  });

  it('adds and removes credits with exact balances, and never takes a balance below zero', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app, { name: 'Ada', credits: 100 });
    const plus = await admin(app, 'POST', `/users/${id}/credits`, { amount: 50 });
    assert.equal(plus.statusCode, 200);
    assert.deepEqual(plus.json(), { user_id: id, credits: 150 });

    const tooMuch = await admin(app, 'POST', `/users/${id}/credits`, { amount: -1000 });
    assertNamesField(tooMuch, 'amount');
    assert.match(tooMuch.json().error, /available 150/);
    assert.equal((await admin(app, 'GET', `/users/${id}`)).json().credits, 150);

    const minus = await admin(app, 'POST', `/users/${id}/credits`, { amount: -150 });
    assert.equal(minus.statusCode, 200);
    assert.deepEqual(minus.json(), { user_id: id, credits: 0 });

    assertNamesField(await admin(app, 'POST', `/users/${id}/credits`, { amount: -1 }), 'amount');
    assert.equal((await admin(app, 'GET', `/users/${id}`)).json().credits, 0);
  });

  it('turns API access off with PATCH, after which the account\'s key gets 403', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    assert.equal((await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).statusCode, 200);
    const patched = await admin(app, 'PATCH', `/users/${userId}`, { api_access: false });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().api_access, false);
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().error, /API access/);
    assert.equal((await admin(app, 'PATCH', `/users/${userId}`, { api_access: true })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).statusCode, 200);
  });
});

describe('admin API keys', () => {
  it('creates a key shown once, which works on /api/v1/account', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app, { name: 'Ada', credits: 7 });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await admin(app, 'POST', `/users/${id}/keys`, { name: 'ci', rate_limit_per_minute: 30, expires_at: expiresAt });
    assert.equal(res.statusCode, 201);
    const created = res.json();
    assert.equal(typeof created.id, 'string');
    assert.match(created.key, /^sk_live_[A-Za-z0-9_-]{32,}$/);
    assert.equal(typeof created.key_prefix, 'string');
    assert.ok(created.key_prefix.length > 'sk_live_'.length && created.key_prefix.length < created.key.length);
    assert.ok(created.key.startsWith(created.key_prefix));
    assert.equal(created.name, 'ci');
    assert.equal(created.rate_limit_per_minute, 30);
    assert.equal(created.expires_at, expiresAt);
    assert.equal(created.is_active, true);

    const account = await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: { authorization: `Bearer ${created.key}` } });
    assert.equal(account.statusCode, 200);
    assert.equal(account.json().user_id, id);
    assert.equal(account.json().credits, 7);
    assert.equal(account.headers['x-ratelimit-limit'], '30');
  });

  it('defaults a key to no expiry and the deployment\'s rate limit', async (t) => {
    const app = await testApp({ GENJOBS_DEFAULT_RATE_LIMIT: '42' });
    t.after(() => app.dispose());
    const id = await createUser(app);
    const res = await admin(app, 'POST', `/users/${id}/keys`, {});
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().rate_limit_per_minute, 42);
    assert.equal(res.json().expires_at, null);
    assert.equal(res.json().name, null);
  });

  it('lists keys without the secret anywhere in the body', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app);
    const a = (await admin(app, 'POST', `/users/${id}/keys`, { name: 'a' })).json();
    const b = (await admin(app, 'POST', `/users/${id}/keys`, { name: 'b' })).json();
    const res = await admin(app, 'GET', `/users/${id}/keys`);
    assert.equal(res.statusCode, 200);
    const list = res.json();
    assert.equal(list.object, 'list');
    assert.deepEqual(list.data.map((k: { id: string }) => k.id).sort(), [a.id, b.id].sort());
    for (const k of list.data) {
      assert.equal('key' in k, false);
      assert.equal(k.is_active, true);
      assert.ok([a.key_prefix, b.key_prefix].includes(k.key_prefix));
    }
    for (const secret of [a.key, b.key]) {
      assert.equal(res.body.includes(secret), false);
      // Not even the secret part after the shown prefix.
      assert.equal(res.body.includes(secret.slice(secret.length - 20)), false);
    }
  });

  it('stores only the SHA-256 of a key, never the key itself', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app);
    const created = (await admin(app, 'POST', `/users/${id}/keys`, { name: 'hashed' })).json();
    const records = await app.store.apiKeyListByUser({ userId: id });
    assert.equal(records.length, 1);
    const [record] = records;
    assert.ok(record);
    assert.equal(record.keyHash, createHash('sha256').update(created.key).digest('hex'));
    for (const [field, value] of Object.entries(record)) {
      assert.notEqual(value, created.key, `field ${field} holds the key`);
      if (typeof value === 'string') assert.equal(value.includes(created.key.slice(12)), false, `field ${field} holds part of the secret`);
    }
  });

  it('revokes a key with DELETE, after which it gets 401 Invalid API key', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app);
    const created = (await admin(app, 'POST', `/users/${id}/keys`, {})).json();
    const auth = { authorization: `Bearer ${created.key}` };
    assert.equal((await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth })).statusCode, 200);
    const del = await admin(app, 'DELETE', `/users/${id}/keys/${created.id}`);
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().id, created.id);
    assert.equal(del.json().is_active, false);
    assert.equal('key' in del.json(), false);
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, 'Invalid API key');
    const listed = (await admin(app, 'GET', `/users/${id}/keys`)).json().data;
    assert.equal(listed[0].is_active, false);
  });

  it('answers 404 API key not found to revoking another user\'s key or an unknown key', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const owner = await createUser(app);
    const other = await createUser(app);
    const created = (await admin(app, 'POST', `/users/${owner}/keys`, {})).json();
    const res = await admin(app, 'DELETE', `/users/${other}/keys/${created.id}`);
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'API key not found');
    assert.equal((await admin(app, 'DELETE', `/users/${owner}/keys/${randomUUID()}`)).json().error, 'API key not found');
    // The key still works.
    const ok = await app.server.inject({ method: 'GET', url: '/api/v1/account', headers: { authorization: `Bearer ${created.key}` } });
    assert.equal(ok.statusCode, 200);
  });
});

describe('admin API: unknown users', () => {
  it('answers 404 User not found on every per-user route', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const missing = randomUUID();
    const routes: [Method, string, unknown][] = [
      ['GET', `/users/${missing}`, undefined],
      ['PATCH', `/users/${missing}`, { api_access: false }],
      ['POST', `/users/${missing}/credits`, { amount: 10 }],
      ['GET', `/users/${missing}/ledger`, undefined],
      ['POST', `/users/${missing}/keys`, {}],
      ['GET', `/users/${missing}/keys`, undefined],
      ['DELETE', `/users/${missing}/keys/${randomUUID()}`, undefined],
    ];
    for (const [method, url, body] of routes) {
      const res = await admin(app, method, url, body);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'User not found', code: 'user_not_found' }, `${method} ${url}`);
    }
  });
});

describe('admin API validation', () => {
  it('answers 400 naming the field for bad user and credit bodies', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    assertNamesField(await admin(app, 'POST', '/users', { name: 'x', credits: -5 }), 'credits');
    assertNamesField(await admin(app, 'POST', '/users', { credits: 1.5 }), 'credits');
    assertNamesField(await admin(app, 'POST', '/users', { credits: '10' }), 'credits');
    assertNamesField(await admin(app, 'POST', '/users', { api_access: 'yes' }), 'api_access');
    const id = await createUser(app, { credits: 10 });
    assertNamesField(await admin(app, 'POST', `/users/${id}/credits`, {}), 'amount');
    assertNamesField(await admin(app, 'POST', `/users/${id}/credits`, { amount: 1.5 }), 'amount');
    assertNamesField(await admin(app, 'POST', `/users/${id}/credits`, { amount: '5' }), 'amount');
    assertNamesField(await admin(app, 'PATCH', `/users/${id}`, { api_access: 'no' }), 'api_access');
    assertNamesField(await admin(app, 'PATCH', `/users/${id}`, {}), 'api_access');
    assert.equal((await admin(app, 'GET', `/users/${id}`)).json().credits, 10);
  });

  it('answers 400 naming the field for bad key bodies, and creates no key', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const id = await createUser(app);
    const bad: [Record<string, unknown>, string][] = [
      [{ rate_limit_per_minute: 0 }, 'rate_limit_per_minute'],
      [{ rate_limit_per_minute: 2.5 }, 'rate_limit_per_minute'],
      [{ rate_limit_per_minute: '10' }, 'rate_limit_per_minute'],
      [{ expires_at: new Date(Date.now() - 60_000).toISOString() }, 'expires_at'],
      [{ expires_at: 'garbage' }, 'expires_at'],
      [{ expires_at: 1_900_000_000_000 }, 'expires_at'],
      [{ name: 12 }, 'name'],
    ];
    for (const [body, field] of bad) assertNamesField(await admin(app, 'POST', `/users/${id}/keys`, body), field);
    assert.deepEqual((await admin(app, 'GET', `/users/${id}/keys`)).json().data, []);
  });

  it('answers 400 to a body that is not a JSON object', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const res = await app.server.inject({
      method: 'POST', url: '/admin/v1/users', headers: { ...ADMIN, 'content-type': 'application/json' }, payload: '[1,2]',
    });
    assertNamesField(res, 'body');
  });
});
