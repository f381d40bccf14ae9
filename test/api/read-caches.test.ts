import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { CallerCache } from '../../src/accounts/caller-cache.js';
import { FinalJobCache, isFinal } from '../../src/jobs/final-jobs.js';
import { presentJob, presentJobText } from '../../src/jobs/present.js';
import type { JobRecord, Store } from '../../src/store/store.js';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
type Auth = { authorization: string };

/** Counts the calls of one store method of the app from now on. */
function countCalls(store: Store, method: 'apiKeyGetByHash' | 'jobGetById'): { readonly n: number } {
  const counter = { n: 0 };
  const original = (store[method] as (...args: unknown[]) => unknown).bind(store);
  (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
    counter.n++;
    return original(...args);
  };
  return counter;
}

const getAccount = (app: TestApp, auth: Auth) => app.server.inject({ method: 'GET', url: '/api/v1/account', headers: auth });
const getJob = (app: TestApp, auth: Auth, id: string) => app.server.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth });

async function finishedJob(app: TestApp, auth: Auth, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: {}, ...extra } });
  assert.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  await eventually(async () => ((await getJob(app, auth, id)).json().status === 'completed' ? true : undefined), 10_000, 'the job to complete');
  return id;
}

describe('API keys found recently are not looked up again', () => {
  it('looks a busy key up once, not at every request', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const lookups = countCalls(app.store, 'apiKeyGetByHash');
    for (let i = 0; i < 5; i++) assert.equal((await getAccount(app, auth)).statusCode, 200);
    assert.equal(lookups.n, 1);
  });

  it('refuses a key revoked by another process once the cache period is over', async (t) => {
    // Five seconds: the second request must come within the period on a loaded machine too.
    const app = await testApp({ GENJOBS_AUTH_CACHE_MS: '5000' });
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    assert.equal((await getAccount(app, auth)).statusCode, 200);
    const [key] = await app.store.apiKeyListByUser({ userId });
    await app.store.apiKeyRevoke({ userId, keyId: key!.id }); // as the CLI would, on the same database
    assert.equal((await getAccount(app, auth)).statusCode, 200, 'still trusted within the cache period');
    await eventually(async () => ((await getAccount(app, auth)).statusCode === 401 ? true : undefined), 5_000, 'the revoked key to be refused');
  });

  it('looks every key up at every request with GENJOBS_AUTH_CACHE_MS=0', async (t) => {
    const app = await testApp({ GENJOBS_AUTH_CACHE_MS: '0' });
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    assert.equal((await getAccount(app, auth)).statusCode, 200);
    await app.store.userSetApiAccess({ userId, apiAccess: false });
    assert.equal((await getAccount(app, auth)).statusCode, 403);
  });

  it('applies API access switched off through the admin API at once', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId, auth } = await app.account();
    assert.equal((await getAccount(app, auth)).statusCode, 200);
    const patched = await app.server.inject({ method: 'PATCH', url: `/admin/v1/users/${userId}`, headers: ADMIN, payload: { api_access: false } });
    assert.equal(patched.statusCode, 200);
    assert.equal((await getAccount(app, auth)).statusCode, 403);
  });

  it('forgets entries after their time and drops the oldest when full', () => {
    const cache = new CallerCache(1_000, 2);
    const caller = (id: string) => ({ user: { id } , key: { id } }) as never;
    cache.set('a', caller('a'), 0);
    assert.ok(cache.get('a', 999));
    assert.equal(cache.get('a', 1_000), undefined);
    cache.set('a', caller('a'), 0);
    cache.set('b', caller('b'), 0);
    cache.set('c', caller('c'), 0);
    assert.equal(cache.get('a', 1), undefined, 'the oldest went');
    assert.ok(cache.get('b', 1) && cache.get('c', 1));
    const off = new CallerCache(0);
    off.set('a', caller('a'), 0);
    assert.equal(off.get('a', 0), undefined);
  });
});

describe('finished jobs are read from memory', () => {
  it('reads a completed job from the store once, then answers the same from memory', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const id = await finishedJob(app, auth);
    const reads = countCalls(app.store, 'jobGetById');
    const first = await getJob(app, auth, id);
    const second = await getJob(app, auth, id);
    assert.equal(reads.n, 0, 'the poll that saw it complete already kept it');
    assert.equal(second.statusCode, 200);
    assert.deepEqual(second.json(), first.json());
    assert.equal(second.json().status, 'completed');
    assert.match(String(second.headers['content-type']), /^application\/json; charset=utf-8$/);
  });

  it('reads every job from the store with GENJOBS_JOB_CACHE_SIZE=0', async (t) => {
    const app = await testApp({ GENJOBS_JOB_CACHE_SIZE: '0' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const id = await finishedJob(app, auth);
    const reads = countCalls(app.store, 'jobGetById');
    await getJob(app, auth, id);
    await getJob(app, auth, id);
    assert.equal(reads.n, 2);
  });

  it('never answers another account with it', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const owner = await app.account();
    const other = await app.account();
    const id = await finishedJob(app, owner.auth);
    assert.equal((await getJob(app, owner.auth, id)).statusCode, 200);
    assert.equal((await getJob(app, other.auth, id)).statusCode, 404);
  });

  it('keeps reading a job whose webhook is not delivered yet from the store', async (t) => {
    const app = await testApp({ GENJOBS_WEBHOOKS: 'false' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const id = await finishedJob(app, auth, { webhook_url: 'http://127.0.0.1:9/hook' });
    const reads = countCalls(app.store, 'jobGetById');
    await getJob(app, auth, id);
    await getJob(app, auth, id);
    assert.equal(reads.n, 2);
    assert.equal((await getJob(app, auth, id)).json().webhook_delivered, false);
  });

  it('keeps only final jobs, the most recently read ones', () => {
    const job = (id: string, over: Partial<JobRecord> = {}) => ({ id, userId: 'u', status: 'completed', webhookUrl: null, webhookDelivered: false, ...over }) as JobRecord;
    assert.equal(isFinal(job('a')), true);
    assert.equal(isFinal(job('a', { status: 'processing' })), false);
    assert.equal(isFinal(job('a', { webhookUrl: 'https://x.test/h' })), false);
    assert.equal(isFinal(job('a', { webhookUrl: 'https://x.test/h', webhookDelivered: true })), true);
    const cache = new FinalJobCache(2);
    cache.remember(job('pending', { status: 'pending' }));
    assert.equal(cache.size, 0);
    cache.remember(job('a'));
    cache.remember(job('b'));
    assert.ok(cache.get('a', 'u'), 'read: now the most recent');
    cache.remember(job('c'));
    assert.equal(cache.get('b', 'u'), undefined, 'the least recently read went');
    assert.ok(cache.get('a', 'u') && cache.get('c', 'u'));
    assert.equal(cache.get('a', 'someone else'), undefined);
  });

  it('writes the JSON of a final job once and of a live job at every read', () => {
    const base = {
      id: 'j1', userId: 'u', runType: 'model', modelId: 'local/test', appId: null, status: 'completed', inputData: { input: {} },
      outputData: { outputText: 'done' }, errorMessage: null, creditsCharged: 1, creditsRefunded: 0, webhookUrl: null, webhookDelivered: false,
      createdAt: 1_000, startedAt: 1_001, completedAt: 1_002, cancelledAt: null, progress: null, retryOf: null, cancelAfterAt: null, priority: 'normal',
    } as unknown as JobRecord;
    const text = presentJobText(base);
    assert.deepEqual(JSON.parse(text), presentJob(base));
    (base as { outputData: unknown }).outputData = { outputText: 'changed' };
    assert.equal(presentJobText(base), text, 'a final record is written once');
    const live = { ...base, status: 'pending' } as JobRecord;
    assert.deepEqual(JSON.parse(presentJobText(live, 3)), presentJob(live, 3));
    assert.equal(JSON.parse(presentJobText(live, 3)).queue_position, 3);
  });
});
