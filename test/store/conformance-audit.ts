import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import type { AuditWrite, Store } from '../../src/store/store.js';

/**
 * The audit log on every adapter: each admin write given an `audit` records one row with its
 * change, in the same transaction; a write that changes nothing records nothing; the list pages
 * newest first and filters by action and target.
 */
export function auditConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`store conformance (audit log): ${name}`, () => {
    let store: Store;
    let t = 1_700_000_000_000;
    const now = () => ++t;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    const audit = (action: string, targetType: string, details: Record<string, unknown> = {}, targetId?: string): AuditWrite => ({
      actor: 'admin-token:0badc0de', requestId: `req-${action}`, clientAddress: '192.0.2.7', action, targetType, details, at: now(),
      ...(targetId !== undefined ? { targetId } : {}),
    });
    const all = () => store.auditList({ limit: 1000 });

    it('starts empty, and writes without an audit record nothing', async () => {
      const u = await store.userCreate({ name: 'quiet', credits: 5, now: now() });
      await store.userGrantCredits({ userId: u.id, amount: 3, reason: null, now: now() });
      assert.deepEqual(await all(), []);
    });

    it('records each admin write with its change: who, what, which target, when, which request, from where', async () => {
      const createAudit = audit('user.create', 'user', { name: 'ada', credits: 10 });
      const u = await store.userCreate({ name: 'ada', credits: 10, now: now(), audit: createAudit });
      await store.userGrantCredits({ userId: u.id, amount: 5, reason: 'top-up', now: now(), audit: audit('user.credits.grant', 'user', { amount: 5 }) });
      await store.userSetApiAccess({ userId: u.id, apiAccess: false, audit: audit('user.update', 'user', { api_access: false }) });
      const key = await store.apiKeyCreate({
        userId: u.id, name: 'ci', keyPrefix: 'gj_pref', keyHash: 'h1', expiresAt: null, rateLimitPerMinute: 60, now: now(), audit: audit('api_key.create', 'api_key', { user_id: u.id }),
      });
      await store.apiKeyRevoke({ userId: u.id, keyId: key.id, audit: audit('api_key.revoke', 'api_key') });
      const def = { name: 'app' };
      const appId = newId();
      await store.appCreate({ id: appId, userId: u.id, definition: def, now: now(), audit: audit('app.create', 'app') });
      await store.appUpdate({ id: appId, definition: { name: 'app 2' }, now: now(), audit: audit('app.replace', 'app') });
      await store.appSetActive({ id: appId, isActive: false, now: now(), audit: audit('app.update', 'app', { is_active: false }) });
      const w = await store.workerCreate({ id: newId(), name: 'gpu', tokenHash: 'wt1', models: ['gpu/a'], now: now(), audit: audit('worker.register', 'worker') });
      await store.workerRevoke({ id: w.id, audit: audit('worker.revoke', 'worker') });

      const entries = await all();
      assert.deepEqual(entries.map((e) => [e.action, e.targetType, e.targetId]), [
        ['worker.revoke', 'worker', w.id], ['worker.register', 'worker', w.id],
        ['app.update', 'app', appId], ['app.replace', 'app', appId], ['app.create', 'app', appId],
        ['api_key.revoke', 'api_key', key.id], ['api_key.create', 'api_key', key.id],
        ['user.update', 'user', u.id], ['user.credits.grant', 'user', u.id], ['user.create', 'user', u.id],
      ]);
      const first = entries[entries.length - 1]!;
      assert.deepEqual(first, {
        id: first.id, at: createAudit.at, actor: 'admin-token:0badc0de', action: 'user.create', targetType: 'user', targetId: u.id, userId: u.id,
        details: { name: 'ada', credits: 10 }, requestId: 'req-user.create', clientAddress: '192.0.2.7',
      });
      assert.equal(new Set(entries.map((e) => e.id)).size, entries.length, 'each entry has its own id');
      // The account each change concerns: the account, or the key's or app's owner; none for a worker.
      assert.deepEqual(entries.map((e) => e.userId), [null, null, u.id, u.id, u.id, u.id, u.id, u.id, u.id, u.id]);
      const ofAccount = await store.auditList({ limit: 100, userId: u.id });
      assert.deepEqual(ofAccount.map((e) => e.id), entries.slice(2).map((e) => e.id));
      assert.deepEqual((await store.auditList({ limit: 100, userId: u.id, action: 'api_key.create' })).map((e) => e.targetId), [key.id]);
    });

    it('keeps the CLI\'s entries, which have no request id or address', async () => {
      await store.userCreate({ name: null, credits: 0, now: now(), audit: { ...audit('user.create', 'user'), actor: 'cli:root', requestId: null, clientAddress: null } });
      const [e] = await all();
      assert.deepEqual([e?.actor, e?.requestId, e?.clientAddress], ['cli:root', null, null]);
    });

    it('records nothing for a write that changed nothing: a refused grant, an unknown account, key, app or worker', async () => {
      const u = await store.userCreate({ name: null, credits: 5, now: now() });
      const short = await store.userGrantCredits({ userId: u.id, amount: -6, reason: null, now: now(), audit: audit('user.credits.deduct', 'user') });
      assert.equal(short.ok, false);
      const missing = newId();
      assert.equal((await store.userGrantCredits({ userId: missing, amount: 1, reason: null, now: now(), audit: audit('user.credits.grant', 'user') })).ok, false);
      assert.equal(await store.userSetApiAccess({ userId: missing, apiAccess: false, audit: audit('user.update', 'user') }), null);
      assert.equal(await store.apiKeyRevoke({ userId: u.id, keyId: missing, audit: audit('api_key.revoke', 'api_key') }), null);
      assert.equal(await store.appUpdate({ id: missing, definition: {}, now: now(), audit: audit('app.replace', 'app') }), null);
      assert.equal(await store.appSetActive({ id: missing, isActive: false, now: now(), audit: audit('app.update', 'app') }), null);
      assert.equal(await store.workerRevoke({ id: missing, audit: audit('worker.revoke', 'worker') }), null);
      assert.deepEqual(await all(), []);
      assert.equal((await store.userGetById({ id: u.id }))?.credits, 5);
    });

    it('writes the row in the change\'s transaction: when the row cannot be written, the change is not made either', async () => {
      // A BigInt cannot be written as JSON: the audit insert throws after the change ran.
      const unwritable = audit('user.credits.grant', 'user', { amount: 10n });
      const u = await store.userCreate({ name: null, credits: 5, now: now() });
      await assert.rejects(store.userGrantCredits({ userId: u.id, amount: 10, reason: null, now: now(), audit: unwritable }));
      assert.equal((await store.userGetById({ id: u.id }))?.credits, 5, 'the grant was rolled back');
      assert.equal((await store.ledgerList({ userId: u.id, limit: 10 })).length, 1, 'no ledger entry for it');
      const before = await store.userList({ limit: 100 });
      await assert.rejects(store.userCreate({ name: 'ghost', credits: 1, now: now(), audit: audit('user.create', 'user', { n: 1n }) }));
      assert.deepEqual(await store.userList({ limit: 100 }), before, 'the account was not created');
      await assert.rejects(store.workerCreate({ id: newId(), name: 'w', tokenHash: 'wt2', models: [], now: now(), audit: audit('worker.register', 'worker', { n: 1n }) }));
      assert.deepEqual(await store.workerList(), []);
      assert.deepEqual(await all(), []);
    });

    it('uses the target id given instead of the written record\'s', async () => {
      const u = await store.userCreate({ name: null, credits: 0, now: now() });
      await store.userGrantCredits({ userId: u.id, amount: 1, reason: null, now: now(), audit: audit('user.credits.grant', 'user', {}, 'someone-else') });
      assert.equal((await all())[0]?.targetId, 'someone-else');
    });

    it('pages newest first after a given id, and filters by action and by target', async () => {
      const a = await store.userCreate({ name: 'a', credits: 0, now: now(), audit: audit('user.create', 'user') });
      const b = await store.userCreate({ name: 'b', credits: 0, now: now(), audit: audit('user.create', 'user') });
      for (let i = 1; i <= 3; i++) {
        await store.userGrantCredits({ userId: i === 2 ? b.id : a.id, amount: i, reason: null, now: now(), audit: audit('user.credits.grant', 'user', { amount: i }) });
      }
      const every = await all();
      assert.equal(every.length, 5);
      const page1 = await store.auditList({ limit: 2 });
      const page2 = await store.auditList({ limit: 2, beforeId: page1[1]!.id });
      const page3 = await store.auditList({ limit: 2, beforeId: page2[1]!.id });
      assert.deepEqual([...page1, ...page2, ...page3].map((e) => e.id), every.map((e) => e.id));
      assert.deepEqual((await store.auditList({ limit: 10, action: 'user.credits.grant' })).map((e) => e.details.amount), [3, 2, 1]);
      assert.deepEqual((await store.auditList({ limit: 10, targetId: a.id })).map((e) => e.action), ['user.credits.grant', 'user.credits.grant', 'user.create']);
      assert.deepEqual((await store.auditList({ limit: 10, targetId: b.id, action: 'user.create' })).map((e) => e.targetId), [b.id]);
      const older = await store.auditList({ limit: 10, targetId: a.id, beforeId: every[1]!.id });
      assert.deepEqual(older.map((e) => e.details.amount ?? null), [1, null]);
    });
  });
}
