import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';
import { registeredRoutes } from '../../src/api/schemas/index.js';
import { defaultCatalogPath } from '../../src/paths.js';

type Json = Record<string, unknown>;
type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

const FINGERPRINT = `admin-token:${createHash('sha256').update(ADMIN_TOKEN).digest('hex').slice(0, 8)}`;

/** An admin request sent under `requestId` from `address`. */
async function admin(app: TestApp, method: Method, url: string, payload?: unknown, requestId?: string, address = '198.51.100.23') {
  const res = await app.server.inject({
    method, url: `/admin/v1${url}`, remoteAddress: address,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.json() as Json, raw: res.body };
}

async function auditPage(app: TestApp, query = ''): Promise<{ data: Json[]; has_more: boolean }> {
  const res = await admin(app, 'GET', `/audit${query}`);
  assert.equal(res.status, 200, res.raw);
  return res.body as unknown as { data: Json[]; has_more: boolean };
}

/** The bundled catalog plus one model served by workers, so a worker can be registered. */
async function appWithWorkerModel(): Promise<TestApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-audit-'));
  const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
  catalog.models.push({ id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } });
  const file = path.join(dir, 'catalog.json');
  fs.writeFileSync(file, JSON.stringify(catalog));
  const app = await testApp({ GENJOBS_CATALOG: file });
  const dispose = app.dispose.bind(app);
  app.dispose = async () => { await dispose(); fs.rmSync(dir, { recursive: true, force: true }); };
  return app;
}

const appDefinition = (name: string) => ({ name, nodes: [{ id: 'only', model: 'local/test', settings: {} }] });

interface Step {
  /** `METHOD /admin/v1/...` as the route is registered. */
  route: string;
  action: string;
  targetType: string;
  /** Sends the request under `requestId`; returns the target's id and the details expected (a subset). */
  run(requestId: string): Promise<{ targetId: string; details: Json }>;
}

describe('admin audit log', () => {
  it('records every admin write with the request id it was sent under, the token\'s fingerprint and the address, readable at GET /admin/v1/audit', async (t) => {
    const app = await appWithWorkerModel();
    t.after(() => app.dispose());
    const ids: { user?: string; key?: string; app?: string; worker?: string } = {};
    const ok = (res: { status: number; raw: string }, status = 200) => assert.equal(res.status, status, res.raw);

    const steps: Step[] = [
      {
        route: 'POST /admin/v1/users', action: 'user.create', targetType: 'user',
        async run(rid) {
          const res = await admin(app, 'POST', '/users', { name: 'Ada', credits: 100 }, rid);
          ok(res, 201);
          ids.user = res.body.id as string;
          return { targetId: ids.user, details: { name: 'Ada', credits: 100, api_access: true } };
        },
      },
      {
        route: 'PATCH /admin/v1/users/:id', action: 'user.update', targetType: 'user',
        async run(rid) {
          ok(await admin(app, 'PATCH', `/users/${ids.user}`, { api_access: false }, rid));
          return { targetId: ids.user!, details: { api_access: false } };
        },
      },
      {
        route: 'PATCH /admin/v1/users/:id', action: 'user.update', targetType: 'user',
        async run(rid) {
          ok(await admin(app, 'PATCH', `/users/${ids.user}`, { weight: 3, max_running: null, max_priority: 'normal' }, rid));
          return { targetId: ids.user!, details: { weight: 3, max_running: null, max_priority: 'normal' } };
        },
      },
      {
        route: 'POST /admin/v1/users/:id/credits', action: 'user.credits.grant', targetType: 'user',
        async run(rid) {
          ok(await admin(app, 'POST', `/users/${ids.user}/credits`, { amount: 50, reason: 'top-up' }, rid));
          return { targetId: ids.user!, details: { amount: 50, reason: 'top-up' } };
        },
      },
      {
        route: 'POST /admin/v1/users/:id/credits', action: 'user.credits.deduct', targetType: 'user',
        async run(rid) {
          ok(await admin(app, 'POST', `/users/${ids.user}/credits`, { amount: -20 }, rid));
          return { targetId: ids.user!, details: { amount: -20, reason: null } };
        },
      },
      {
        route: 'POST /admin/v1/users/:id/keys', action: 'api_key.create', targetType: 'api_key',
        async run(rid) {
          const res = await admin(app, 'POST', `/users/${ids.user}/keys`, { name: 'ci', rate_limit_per_minute: 600 }, rid);
          ok(res, 201);
          ids.key = res.body.id as string;
          return { targetId: ids.key, details: { user_id: ids.user, name: 'ci', rate_limit_per_minute: 600, expires_at: null } };
        },
      },
      {
        route: 'DELETE /admin/v1/users/:id/keys/:keyId', action: 'api_key.revoke', targetType: 'api_key',
        async run(rid) {
          ok(await admin(app, 'DELETE', `/users/${ids.user}/keys/${ids.key}`, undefined, rid));
          return { targetId: ids.key!, details: { user_id: ids.user } };
        },
      },
      {
        route: 'POST /admin/v1/users/:id/apps', action: 'app.create', targetType: 'app',
        async run(rid) {
          const res = await admin(app, 'POST', `/users/${ids.user}/apps`, appDefinition('First'), rid);
          ok(res, 201);
          ids.app = res.body.id as string;
          return { targetId: ids.app, details: { user_id: ids.user, name: 'First', nodes: 1 } };
        },
      },
      {
        route: 'PUT /admin/v1/apps/:appId', action: 'app.replace', targetType: 'app',
        async run(rid) {
          ok(await admin(app, 'PUT', `/apps/${ids.app}`, appDefinition('Second'), rid));
          return { targetId: ids.app!, details: { name: 'Second', nodes: 1 } };
        },
      },
      {
        route: 'PATCH /admin/v1/apps/:appId', action: 'app.update', targetType: 'app',
        async run(rid) {
          ok(await admin(app, 'PATCH', `/apps/${ids.app}`, { is_active: false }, rid));
          return { targetId: ids.app!, details: { is_active: false } };
        },
      },
      {
        route: 'POST /admin/v1/workers', action: 'worker.register', targetType: 'worker',
        async run(rid) {
          const res = await admin(app, 'POST', '/workers', { name: 'gpu-1', models: ['gpu/echo'] }, rid);
          ok(res, 201);
          ids.worker = res.body.id as string;
          return { targetId: ids.worker, details: { name: 'gpu-1', models: ['gpu/echo'] } };
        },
      },
      {
        route: 'DELETE /admin/v1/workers/:workerId', action: 'worker.revoke', targetType: 'worker',
        async run(rid) {
          ok(await admin(app, 'DELETE', `/workers/${ids.worker}`, undefined, rid));
          return { targetId: ids.worker!, details: {} };
        },
      },
    ];

    // Every route that changes something under /admin/v1 is one of the steps: a new one must be audited and listed here.
    const writes = registeredRoutes(app.server).filter((r) => r.url.startsWith('/admin/v1') && r.method !== 'GET').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual([...new Set(writes)].sort(), [...new Set(steps.map((s) => s.route))].sort());

    const requestIds: string[] = [];
    for (const [i, step] of steps.entries()) {
      const rid = `audit-test-${i}-${step.action}`;
      requestIds.push(rid);
      const expected = await step.run(rid);
      const { data } = await auditPage(app, `?action=${step.action}&target_id=${expected.targetId}`);
      const entry = data.find((e) => e.request_id === rid);
      assert.ok(entry, `${step.action}: no entry with request id ${rid} in ${JSON.stringify(data)}`);
      assert.equal(entry.object, 'audit_entry');
      assert.equal(entry.actor, FINGERPRINT);
      assert.equal(entry.client_address, '198.51.100.23');
      assert.equal(entry.target_type, step.targetType);
      assert.equal(entry.target_id, expected.targetId);
      assert.equal(entry.user_id, step.targetType === 'worker' ? null : ids.user);
      assert.ok(Math.abs(Date.parse(entry.at as string) - Date.now()) < 60_000, `${entry.at} is the time of the change`);
      const details = entry.details as Json;
      for (const [field, value] of Object.entries(expected.details)) assert.deepEqual(details[field], value, `${step.action}: details.${field}`);
    }
    // The whole log is those writes, newest first, one entry each.
    const all = await auditPage(app, '?limit=100');
    assert.deepEqual(all.data.map((e) => e.request_id), [...requestIds].reverse());
    assert.equal(all.has_more, false);
    // An account's changes include its keys' and apps', not the workers'.
    const ofAccount = await auditPage(app, `?limit=100&user_id=${ids.user}`);
    assert.deepEqual(ofAccount.data.map((e) => e.request_id), requestIds.filter((r) => !r.includes('worker.')).reverse());
    // Each definition version leaves its own digest, so a replacement shows.
    const appEntries = (await auditPage(app, `?target_id=${ids.app}`)).data;
    const digests = appEntries.filter((e) => e.action !== 'app.update').map((e) => (e.details as Json).definition_sha256);
    assert.equal(digests.length, 2);
    assert.match(String(digests[0]), /^[0-9a-f]{64}$/);
    assert.notEqual(digests[0], digests[1]);
  });

  it('records nothing for a write that was refused or found nothing', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const created = await admin(app, 'POST', '/users', { credits: 5 }, 'first');
    const id = created.body.id as string;
    assert.equal((await admin(app, 'POST', `/users/${id}/credits`, { amount: -6 })).status, 400);
    assert.equal((await admin(app, 'POST', `/users/${id}/credits`, { amount: 'lots' })).status, 400);
    assert.equal((await admin(app, 'PATCH', `/users/${id}`, { api_access: 'no' })).status, 400);
    assert.equal((await admin(app, 'DELETE', `/users/${id}/keys/00000000-0000-7000-8000-000000000000`)).status, 404);
    assert.equal((await admin(app, 'DELETE', '/workers/00000000-0000-7000-8000-000000000000')).status, 404);
    assert.equal((await admin(app, 'PATCH', '/apps/00000000-0000-7000-8000-000000000000', { is_active: false })).status, 404);
    assert.deepEqual((await auditPage(app)).data.map((e) => [e.action, e.request_id]), [['user.create', 'first']]);
  });

  it('names the client a trusted proxy forwarded for (GENJOBS_TRUST_PROXY), and the connection\'s address otherwise', async (t) => {
    /** Creates an account from `address` with `forwardedFor`, and returns the client address its audit entry holds. */
    const recorded = async (app: TestApp, address: string, forwardedFor: string) => {
      const res = await app.server.inject({
        method: 'POST', url: '/admin/v1/users', remoteAddress: address, payload: { name: 'proxied' },
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-forwarded-for': forwardedFor },
      });
      assert.equal(res.statusCode, 201, res.body);
      const { data } = await auditPage(app, `?target_id=${res.json().id}`);
      return data[0]!.client_address;
    };
    const direct = await testApp();
    t.after(() => direct.dispose());
    // Nothing trusted (the default): a forged header changes nothing.
    assert.equal(await recorded(direct, '198.51.100.23', '203.0.113.9'), '198.51.100.23');

    const proxied = await testApp({ GENJOBS_TRUST_PROXY: '10.0.0.0/8, loopback' });
    t.after(() => proxied.dispose());
    // Through a trusted proxy: the address it was handed. A chain of trusted proxies is walked back.
    assert.equal(await recorded(proxied, '10.1.2.3', '203.0.113.9'), '203.0.113.9');
    assert.equal(await recorded(proxied, '127.0.0.1', '203.0.113.9, 10.4.5.6'), '203.0.113.9');
    // What the client itself put in front of the proxy's entry is not believed.
    assert.equal(await recorded(proxied, '10.1.2.3', '192.0.2.77, 203.0.113.9'), '203.0.113.9');
    // A sender that is not a trusted proxy is the client, whatever it forwards.
    assert.equal(await recorded(proxied, '198.51.100.23', '203.0.113.9'), '198.51.100.23');
  });

  it('pages newest first with limit and starting_after, and refuses a bad query with a 400 naming the field', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const users: string[] = [];
    for (let i = 0; i < 5; i++) users.push((await admin(app, 'POST', '/users', { name: `u${i}` }, `create-${i}`)).body.id as string);
    const first = await auditPage(app, '?limit=2');
    assert.deepEqual(first.data.map((e) => e.target_id), [users[4], users[3]]);
    assert.equal(first.has_more, true);
    const second = await auditPage(app, `?limit=2&starting_after=${first.data[1]!.id}`);
    assert.deepEqual(second.data.map((e) => e.target_id), [users[2], users[1]]);
    const last = await auditPage(app, `?limit=2&starting_after=${second.data[1]!.id}`);
    assert.deepEqual(last.data.map((e) => e.target_id), [users[0]]);
    assert.equal(last.has_more, false);
    assert.deepEqual((await auditPage(app, '?action=worker.revoke')).data, []);

    for (const [query, field] of [['?limit=0', 'limit'], ['?limit=101', 'limit'], ['?limit=ten', 'limit'], ['?action=', 'action'], [`?target_id=${'x'.repeat(201)}`, 'target_id'], ['?user_id=', 'user_id']] as const) {
      const res = await admin(app, 'GET', `/audit${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'invalid_parameter');
      assert.ok(String(res.body.error).startsWith(`${field}:`), `${query}: ${res.body.error}`);
    }
    const bare = await app.server.inject({ method: 'GET', url: '/admin/v1/audit' });
    assert.equal(bare.statusCode, 401);
  });

  it('keeps no secret: no admin token, API key, worker token nor their hashes appear in the log', async (t) => {
    const app = await appWithWorkerModel();
    t.after(() => app.dispose());
    const user = (await admin(app, 'POST', '/users', { name: 'Secretive', credits: 10 })).body.id as string;
    const key = (await admin(app, 'POST', `/users/${user}/keys`, { name: 'k' })).body;
    await admin(app, 'DELETE', `/users/${user}/keys/${key.id}`);
    const worker = (await admin(app, 'POST', '/workers', { models: ['gpu/echo'] })).body;
    await admin(app, 'DELETE', `/workers/${worker.id}`);
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const secrets = [ADMIN_TOKEN, key.key as string, worker.token as string];
    const forbidden = [...secrets, ...secrets.map(sha), key.key_prefix as string];
    const viaApi = (await admin(app, 'GET', '/audit?limit=100')).raw;
    const stored = JSON.stringify(await app.store.auditList({ limit: 1000 }));
    assert.equal(JSON.parse(stored).length, 5);
    for (const secret of forbidden) {
      assert.ok(secret.length >= 8, 'a real secret to look for');
      assert.ok(!viaApi.includes(secret), `GET /admin/v1/audit shows ${secret.slice(0, 6)}...`);
      assert.ok(!stored.includes(secret), `the audit rows hold ${secret.slice(0, 6)}...`);
    }
  });
});
