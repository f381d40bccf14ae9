import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import { latestMigration } from '../../src/store/migrations.js';
import { JOB_STATUSES, canMove, type JobRecord, type JobStatus, type Store } from '../../src/store/store.js';
import { MAX_BALANCE } from '../../src/store/limits.js';

/**
 * The storage conformance suite: written against the Store interface alone, so every adapter
 * runs it unchanged. `makeStore` must return a fresh, empty store each time.
 */
export function storeConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    let t = 1_700_000_000_000;
    const now = () => ++t;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    const user = (credits = 100) => store.userCreate({ name: 'u', credits, now: now() });
    const job = async (userId: string, p: { cost?: number; modelId?: string; createdAt?: number } = {}) => {
      const r = await store.jobCreateCharged({
        id: newId(), userId, runType: 'model', modelId: p.modelId ?? 'local/test', appId: null,
        inputData: { input: { prompt: 'x' } }, webhookUrl: null, cost: p.cost ?? 10, now: p.createdAt ?? now(),
      });
      assert.ok(r.ok, 'job creation should succeed');
      return r.job;
    };
    const claim = async (p: { limit?: number; owner?: string; leaseMs?: number; at?: number; exclude?: string[]; maxAttempts?: number } = {}) =>
      store.jobClaim({ owner: p.owner ?? 'exec-a', limit: p.limit ?? 10, leaseMs: p.leaseMs ?? 30_000, now: p.at ?? now(), excludeModels: p.exclude ?? [], maxAttempts: p.maxAttempts ?? 3 });
    /** The ledger sums to the balance: credits are never created or lost. */
    const assertLedgerBalances = async (userId: string) => {
      const u = await store.userGetById({ id: userId });
      const entries = await store.ledgerList({ userId, limit: 10_000 });
      assert.equal(entries.reduce((s, e) => s + e.amount, 0), u?.credits, 'sum of ledger entries equals the balance');
    };

    describe('schema', () => {
      it('reports the newest migration shipped for its dialect as applied', async () => {
        const shipped = latestMigration(store.dialect);
        assert.ok(shipped > 0);
        assert.equal(await store.schemaVersion(), shipped);
      });
    });

    describe('users and credits', () => {
      it('creates a user with a grant ledger entry for its initial credits', async () => {
        const u = await user(250);
        assert.equal(u.credits, 250);
        assert.equal(u.apiAccess, true);
        const entries = await store.ledgerList({ userId: u.id, limit: 10 });
        assert.deepEqual(entries.map((e) => [e.kind, e.amount, e.balanceAfter]), [['grant', 250, 250]]);
        assert.deepEqual(await store.userGetById({ id: u.id }), u);
      });

      it('grants and deducts credits but never below zero', async () => {
        const u = await user(100);
        const up = await store.userGrantCredits({ userId: u.id, amount: 50, reason: 'top-up', now: now() });
        assert.ok(up.ok && up.user.credits === 150);
        const down = await store.userGrantCredits({ userId: u.id, amount: -150, reason: null, now: now() });
        assert.ok(down.ok && down.user.credits === 0);
        const refused = await store.userGrantCredits({ userId: u.id, amount: -1, reason: null, now: now() });
        assert.deepEqual(refused, { ok: false, reason: 'insufficient', available: 0 });
        assert.deepEqual(await store.userGrantCredits({ userId: newId(), amount: 5, reason: null, now: now() }), { ok: false, reason: 'not_found' });
        await assertLedgerBalances(u.id);
      });

      it('lists accounts in creation order, a page at a time', async () => {
        const made = [await user(), await user(), await user()];
        const all = await store.userList({ limit: 100 });
        assert.deepEqual(all.map((u) => u.id), made.map((u) => u.id));
        const page = await store.userList({ limit: 1, afterId: made[0]!.id });
        assert.deepEqual(page.map((u) => u.id), [made[1]!.id]);
      });

      it('keeps the balance, with the credits unfinished jobs hold, at most MAX_BALANCE (10^15), exact to the credit', async () => {
        const u = await user(0);
        const grant = (amount: number) => store.userGrantCredits({ userId: u.id, amount, reason: null, now: now() });
        const full = await grant(MAX_BALANCE);
        assert.ok(full.ok && full.user.credits === MAX_BALANCE);
        assert.deepEqual(await grant(1), { ok: false, reason: 'balance_limit', max: MAX_BALANCE, current: MAX_BALANCE });
        // A pending or processing job holds its charge: a refund would give it back, so it still counts.
        const j = await job(u.id, { cost: 100 });
        assert.deepEqual(await grant(1), { ok: false, reason: 'balance_limit', max: MAX_BALANCE, current: MAX_BALANCE });
        assert.deepEqual((await claim()).map((x) => x.id), [j.id]);
        assert.deepEqual(await grant(1), { ok: false, reason: 'balance_limit', max: MAX_BALANCE, current: MAX_BALANCE });
        await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: () => 40 });
        assert.deepEqual(await grant(61), { ok: false, reason: 'balance_limit', max: MAX_BALANCE, current: MAX_BALANCE - 60 });
        assert.ok((await grant(60)).ok);
        // At the top, single credits still move: nothing is rounded away.
        assert.ok((await grant(-1)).ok);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, MAX_BALANCE - 1);
        assert.ok((await grant(1)).ok);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, MAX_BALANCE);
        assert.ok((await grant(-MAX_BALANCE)).ok, 'taking credits away is never limited by the maximum');
        await assertLedgerBalances(u.id);
      });

      it('refuses credit amounts that are not exact integers, writing nothing', async () => {
        const u = await user(100);
        for (const amount of [1.5, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY]) {
          await assert.rejects(store.userGrantCredits({ userId: u.id, amount, reason: null, now: now() }), RangeError, String(amount));
        }
        await assert.rejects(store.userCreate({ name: null, credits: MAX_BALANCE + 1, now: now() }), RangeError);
        await assert.rejects(store.userCreate({ name: null, credits: 0.5, now: now() }), RangeError);
        await assert.rejects(store.jobCreateCharged({
          id: newId(), userId: u.id, runType: 'model', modelId: 'local/test', appId: null, inputData: {}, webhookUrl: null, cost: 2.5, now: now(),
        }), RangeError);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 100);
        assert.equal((await store.ledgerList({ userId: u.id, limit: 10 })).length, 1, 'only the initial grant');
      });

      it('switches API access', async () => {
        const u = await user();
        assert.equal((await store.userSetApiAccess({ userId: u.id, apiAccess: false }))?.apiAccess, false);
        assert.equal(await store.userSetApiAccess({ userId: newId(), apiAccess: false }), null);
      });
    });

    describe('API keys', () => {
      it('finds a key by hash with its user, lists and revokes it', async () => {
        const u = await user();
        const k = await store.apiKeyCreate({ userId: u.id, name: 'ci', keyPrefix: 'sk_live_abcd', keyHash: 'h1', expiresAt: null, rateLimitPerMinute: 60, now: now() });
        assert.equal(k.isActive, true);
        const found = await store.apiKeyGetByHash({ keyHash: 'h1' });
        assert.equal(found?.key.id, k.id);
        assert.equal(found?.user.id, u.id);
        assert.deepEqual(found, { key: k, user: await store.userGetById({ id: u.id }) }, 'the whole key and account');
        assert.equal(await store.apiKeyGetByHash({ keyHash: 'nope' }), null);
        assert.deepEqual((await store.apiKeyListByUser({ userId: u.id })).map((x) => x.id), [k.id]);
        const other = await user();
        assert.equal(await store.apiKeyRevoke({ userId: other.id, keyId: k.id }), null, 'another account cannot revoke it');
        assert.equal((await store.apiKeyRevoke({ userId: u.id, keyId: k.id }))?.isActive, false);
        assert.equal((await store.apiKeyGetByHash({ keyHash: 'h1' }))?.key.isActive, false);
      });
    });

    describe('private apps', () => {
      it('creates, reads, lists, updates and deactivates an account\'s apps', async () => {
        const u = await user();
        const other = await user();
        const def = { name: 'Chain', nodes: [{ id: 'a', model: 'local/image' }] };
        const app = await store.appCreate({ id: newId(), userId: u.id, definition: def, now: now() });
        assert.deepEqual([app.userId, app.isActive, app.definition], [u.id, true, def]);
        assert.deepEqual(await store.appGetById({ id: app.id }), app);
        await store.appCreate({ id: newId(), userId: other.id, definition: def, now: now() });
        assert.deepEqual((await store.appListByUser({ userId: u.id })).map((a) => a.id), [app.id]);
        const updated = await store.appUpdate({ id: app.id, definition: { ...def, name: 'Renamed' }, now: now() });
        assert.equal((updated?.definition as { name: string }).name, 'Renamed');
        assert.ok(updated!.updatedAt > app.updatedAt);
        assert.equal((await store.appSetActive({ id: app.id, isActive: false, now: now() }))?.isActive, false);
        assert.equal((await store.appListByUser({ userId: u.id }))[0]?.isActive, false, 'inactive apps are still listed for the operator');
        assert.equal(await store.appUpdate({ id: newId(), definition: def, now: now() }), null);
        assert.equal(await store.appGetById({ id: newId() }), null);
      });
    });

    describe('workers', () => {
      it('authenticates an active worker by token hash, noting when it was seen, and forgets a revoked one', async () => {
        const w = await store.workerCreate({ id: newId(), name: 'gpu-1', tokenHash: 'wh1', models: ['gpu/a', 'gpu/b'], now: now() });
        assert.deepEqual([w.name, w.models, w.isActive, w.lastSeenAt], ['gpu-1', ['gpu/a', 'gpu/b'], true, null]);
        const seenAt = now();
        const found = await store.workerAuthenticate({ tokenHash: 'wh1', now: seenAt });
        assert.equal(found?.id, w.id);
        assert.equal(found?.lastSeenAt, seenAt);
        assert.equal(await store.workerAuthenticate({ tokenHash: 'nope', now: now() }), null);
        assert.deepEqual((await store.workerList()).map((x) => x.id), [w.id]);
        assert.equal((await store.workerRevoke({ id: w.id }))?.isActive, false);
        assert.equal(await store.workerAuthenticate({ tokenHash: 'wh1', now: now() }), null);
      });
    });

    describe('operator views', () => {
      it('lists accounts newest first, page by page', async () => {
        const made = [];
        for (let i = 0; i < 5; i++) made.push(await user(i));
        const newestFirst = made.map((u) => u.id).reverse();
        const first = await store.userList({ limit: 3, order: 'desc' });
        assert.deepEqual(first.map((u) => u.id), newestFirst.slice(0, 3));
        assert.equal(first[0]?.credits, 4);
        const rest = await store.userList({ limit: 3, order: 'desc', afterId: first[2]?.id as string });
        assert.deepEqual(rest.map((u) => u.id), newestFirst.slice(3));
      });

      it('counts pending and processing jobs by status and model, with the oldest pending job', async () => {
        const u = await user(1000);
        assert.deepEqual(await store.jobQueueSummary(), { groups: [], oldestPendingCreatedAt: null });
        const oldest = await job(u.id, { modelId: 'local/test' });
        await job(u.id, { modelId: 'local/test' });
        await job(u.id, { modelId: 'local/image' });
        const running = await job(u.id, { modelId: 'local/video' });
        const claimed = await store.jobClaim({ owner: 'exec-a', limit: 1, leaseMs: 30_000, now: now(), onlyModels: ['local/video'], maxAttempts: 3 });
        assert.deepEqual(claimed.map((j) => j.id), [running.id]);
        const summary = await store.jobQueueSummary();
        assert.equal(summary.oldestPendingCreatedAt, oldest.createdAt);
        const rows = summary.groups.map((g) => [g.status, g.runType, g.modelId, g.appId, g.count]);
        assert.deepEqual(rows, [
          ['pending', 'model', 'local/test', null, 2],
          ['pending', 'model', 'local/image', null, 1],
          ['processing', 'model', 'local/video', null, 1],
        ]);
      });
    });

    describe('creating jobs', () => {
      it('charges and creates in one step, with a charge ledger entry', async () => {
        const u = await user(100);
        const j = await job(u.id, { cost: 30 });
        assert.equal(j.status, 'pending');
        assert.equal(j.creditsCharged, 30);
        assert.equal(j.creditsRefunded, 0);
        assert.deepEqual(j.inputData, { input: { prompt: 'x' } });
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 70);
        const charges = await store.ledgerList({ userId: u.id, limit: 10, jobId: j.id });
        assert.deepEqual(charges.map((e) => [e.kind, e.amount, e.balanceAfter]), [['charge', -30, 70]]);
      });

      it('writes nothing when the balance is short', async () => {
        const u = await user(20);
        const r = await store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 30, now: now() });
        assert.deepEqual(r, { ok: false, reason: 'insufficient', available: 20 });
        assert.equal((await store.jobList({ userId: u.id, limit: 10 })).length, 0);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 20);
        assert.equal((await store.ledgerList({ userId: u.id, limit: 10 })).length, 1, 'only the initial grant');
      });

      it('never overdraws under concurrent creations', async () => {
        const u = await user(100);
        const results = await Promise.all(Array.from({ length: 50 }, () =>
          store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: now() })));
        assert.equal(results.filter((r) => r.ok).length, 10);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 0);
        assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, 10);
        await assertLedgerBalances(u.id);
      });

      it('returns the record a read of the new job gives', async () => {
        const u = await user(100);
        const r = await store.jobCreateCharged({
          id: newId(), userId: u.id, runType: 'app', modelId: null, appId: 'app_1', inputData: { inputs: { a: [1, 'two', null] } },
          webhookUrl: 'https://example.com/hook', cost: 7, now: now(), cancelAfterAt: t + 5_000, retryOf: newId(),
        });
        assert.ok(r.ok);
        assert.deepEqual(r.job, await store.jobGetById({ id: r.job.id }));
        const plain = await job(u.id);
        assert.deepEqual(plain, await store.jobGetById({ id: plain.id }));
      });

      it('keeps a job\'s run spec as given, alone, in a batch and with an idempotency key; null when none is given', async () => {
        const u = await user(1000);
        const spec = { app: { id: 'app_1', nodes: [{ id: 'a', model: 'local/test', settings: { n: 2 } }] }, inputs: { p: 'x', list: [1, null] } };
        const make = (extra: object = {}) => store.jobCreateCharged({
          id: newId(), userId: u.id, runType: 'app', modelId: null, appId: 'app_1', inputData: { inputs: { p: 'x' } },
          webhookUrl: null, cost: 1, now: now(), runSpec: spec, ...extra,
        });
        const made = [await make(), ...(await Promise.all([make(), make(), make()])), await make({ idempotency: { key: 'spec', requestHash: 'h' } })];
        for (const r of made) {
          assert.ok(r.ok);
          assert.deepEqual(r.job.runSpec, spec);
          assert.deepEqual((await store.jobGetById({ id: r.job.id }))?.runSpec, spec);
        }
        assert.equal((await job(u.id)).runSpec, null);
      });

      it('charges exactly the affordable ones of creations started together, for several accounts', async () => {
        const rich = await user(100);
        const poor = await user(25);
        const costs = [30, 50, 40, 10, 5, 20];
        const start = (userId: string, cost: number) => store.jobCreateCharged({
          id: newId(), userId, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost, now: now(),
        });
        // Interleaved, all started in the same turn.
        const results = await Promise.all(costs.flatMap((cost) => [start(rich.id, cost), start(poor.id, cost)]));
        for (const [u, initial, own] of [[rich, 100, results.filter((_, i) => i % 2 === 0)], [poor, 25, results.filter((_, i) => i % 2 === 1)]] as const) {
          const charged = own.reduce((s, r, i) => s + (r.ok ? costs[i]! : 0), 0);
          const balance = (await store.userGetById({ id: u.id }))?.credits;
          assert.equal(balance, initial - charged);
          // A refusal means the balance was short at that moment, and it only falls: it is short now too.
          own.forEach((r, i) => { if (!r.ok) assert.ok(r.reason === 'insufficient' && r.available < costs[i]! && balance! < costs[i]!); });
          assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, own.filter((r) => r.ok).length);
          const charges = (await store.ledgerList({ userId: u.id, limit: 100 })).filter((e) => e.kind === 'charge');
          assert.equal(charges.length, own.filter((r) => r.ok).length);
          assert.equal(-charges.reduce((s, e) => s + e.amount, 0), charged);
          await assertLedgerBalances(u.id);
        }
      });

      it('a creation that fails with an error takes nothing from the others started with it', async () => {
        const u = await user(100);
        const dup = newId();
        const start = (id: string) => store.jobCreateCharged({
          id, userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: now(),
        });
        // The same job id twice: the second insert breaks the primary key after its debit.
        const results = await Promise.allSettled([start(newId()), start(dup), start(dup), start(newId())]);
        const ok = (r: (typeof results)[number]) => r.status === 'fulfilled' && r.value.ok;
        assert.ok(ok(results[0]!) && ok(results[3]!), 'the creations around it went through');
        assert.deepEqual([results[1]!, results[2]!].map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'one of the two took the id');
        assert.ok(ok(results[1]!) || ok(results[2]!));
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 70, 'the failed creation was not charged');
        assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, 3);
        await assertLedgerBalances(u.id);
      });
    });

    describe('many calls at once (adapters may send them together)', () => {
      it('30 concurrent creations with credits for 20: exactly 20 charged, the others told what is left', async () => {
        const u = await user(200);
        const other = await user(25);
        const make = (userId: string, id = newId()) => store.jobCreateCharged({
          id, userId, runType: 'model', modelId: 'm/x', appId: null, inputData: { n: id }, webhookUrl: null, cost: 10, now: now(),
        });
        // Interleaved with another account's runs, which must not take from this one's balance.
        const calls = Array.from({ length: 30 }, (_, i) => [make(u.id), ...(i < 3 ? [make(other.id)] : [])]).flat();
        const results = await Promise.all(calls);
        const mine = results.filter((r) => !r.ok || r.job.userId === u.id);
        const ok = results.filter((r) => r.ok);
        assert.equal(ok.filter((r) => r.job.userId === u.id).length, 20);
        assert.equal(ok.filter((r) => r.job.userId === other.id).length, 2);
        assert.deepEqual(results.map((r) => (r.ok ? null : r.reason === 'insufficient' ? [r.reason, r.available] : [r.reason])).filter((r) => r !== null).sort(),
          [...Array.from({ length: 10 }, () => ['insufficient', 0]), ['insufficient', 5]].sort());
        assert.equal(mine.length, 31);
        for (const r of ok) {
          assert.deepEqual(r.job.inputData, { n: r.job.id }, 'each caller gets its own job');
          assert.equal(r.replayed, false);
        }
        // Each charge saw the balance left by the ones before it: the balances after are all different.
        const balances = ok.filter((r) => r.job.userId === u.id).map((r) => r.balance).sort((a, b) => a - b);
        assert.deepEqual(balances, Array.from({ length: 20 }, (_, i) => i * 10));
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 0);
        assert.equal((await store.userGetById({ id: other.id }))?.credits, 5);
        assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, 20);
        const charges = (await store.ledgerList({ userId: u.id, limit: 100 })).filter((e) => e.kind === 'charge');
        assert.deepEqual(charges.map((e) => e.balanceAfter).sort((a, b) => a - b), balances);
        await assertLedgerBalances(u.id);
        await assertLedgerBalances(other.id);
      });

      it('a creation that cannot be written fails alone: the others made with it stand', async () => {
        const u = await user(100);
        const dup = newId();
        const make = (id: string) => store.jobCreateCharged({ id, userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: now() });
        const results = await Promise.allSettled([make(newId()), make(dup), make(newId()), make(dup), make(newId())]);
        assert.equal(results.filter((r) => r.status === 'rejected').length, 1, 'only one of the two with the same id fails');
        assert.deepEqual([0, 2, 4].map((i) => results[i]!.status), ['fulfilled', 'fulfilled', 'fulfilled']);
        assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, 4);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 60);
        await assertLedgerBalances(u.id);
      });

      it('concurrent rate-limit checks of several keys: each key admits exactly its own limit', async () => {
        const at = 1_800_000_200_000;
        const calls = Array.from({ length: 20 }, () => [
          store.rateLimitConsume({ keyId: 'key-a', limit: 5, now: at }),
          store.rateLimitConsume({ keyId: 'key-b', limit: 3, now: at }),
        ]).flat();
        const all = await Promise.all(calls);
        assert.equal(all.filter((d, i) => i % 2 === 0 && d.allowed).length, 5);
        assert.equal(all.filter((d, i) => i % 2 === 1 && d.allowed).length, 3);
        // One after another: the admitted ones saw 0, 1, 2, ... requests before them.
        assert.deepEqual(all.filter((d, i) => i % 2 === 0 && d.allowed).map((d) => d.remaining).sort(), [0, 1, 2, 3, 4]);
        assert.ok(all.every((d) => d.allowed || (d.remaining === 0 && d.resetSeconds >= 1)), 'a refused check says when to retry');
      });

      it('concurrent key lookups and queue positions: each caller gets its own answer', async () => {
        const u = await user(1000);
        const v = await user(1000);
        await store.apiKeyCreate({ userId: u.id, name: 'u', keyPrefix: 'p', keyHash: 'hash-u', expiresAt: null, rateLimitPerMinute: 5, now: now() });
        await store.apiKeyCreate({ userId: v.id, name: 'v', keyPrefix: 'p', keyHash: 'hash-v', expiresAt: null, rateLimitPerMinute: 5, now: now() });
        const found = await Promise.all(['hash-u', 'hash-v', 'hash-none', 'hash-u'].map((keyHash) => store.apiKeyGetByHash({ keyHash })));
        assert.deepEqual(found.map((f) => f && [f.key.keyHash, f.user.id]), [['hash-u', u.id], ['hash-v', v.id], null, ['hash-u', u.id]]);
        const jobs = [];
        for (let i = 0; i < 6; i++) jobs.push(await job(i % 2 ? v.id : u.id));
        const positions = await Promise.all([...jobs].reverse().map((j) => store.jobQueuePosition({ id: j.id, createdAt: j.createdAt })));
        assert.deepEqual(positions, [5, 4, 3, 2, 1, 0]);
      });

      it('50 concurrent completions, with current and stale lease tokens: each caller gets its own answer', async () => {
        const u = await user(10_000);
        const hooked = new Set<string>();
        for (let i = 0; i < 40; i++) {
          const r = await store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {},
            webhookUrl: i % 3 === 0 ? 'https://hooks.example/in' : null, cost: 1, now: now() });
          assert.ok(r.ok);
          if (i % 3 === 0) hooked.add(r.job.id);
        }
        const claimed = await claim({ limit: 40 });
        assert.equal(claimed.length, 40);
        // 30 with the current token, 10 with a stale one, and 10 second calls for jobs already in the first 30.
        const calls = [
          ...claimed.slice(0, 30).map((j) => ({ j, token: j.leaseToken, expect: 'done' as const })),
          ...claimed.slice(30).map((j) => ({ j, token: j.leaseToken - 1, expect: 'stale' as const })),
          ...claimed.slice(0, 10).map((j) => ({ j, token: j.leaseToken, expect: 'again' as const })),
        ];
        const at = now();
        const results = await Promise.all(calls.map((c, i) => store.jobComplete({ id: c.j.id, leaseToken: c.token, outputData: { call: i }, now: at + i })));
        calls.forEach((c, i) => {
          const r = results[i];
          if (c.expect === 'done') {
            assert.equal(r?.id, c.j.id, `call ${i} completes its own job`);
            assert.equal(r?.status, 'completed');
            assert.deepEqual(r?.outputData, { call: i });
            assert.equal(r?.completedAt, at + i);
            assert.equal(r?.leaseOwner, null);
          } else {
            assert.equal(r, null, `call ${i} (${c.expect}) changes nothing`);
          }
        });
        for (const c of calls) {
          const stored = await store.jobGetById({ id: c.j.id });
          if (c.expect === 'stale') assert.equal(stored?.status, 'processing');
          else {
            assert.equal(stored?.status, 'completed');
            assert.deepEqual(stored?.outputData, { call: calls.findIndex((x) => x.j.id === c.j.id) }, 'the first call\'s output is kept');
          }
          const deliveries = await store.webhookListByJob({ jobId: c.j.id });
          const owed = c.expect !== 'stale' && hooked.has(c.j.id);
          assert.deepEqual(deliveries.map((d) => d.event), owed ? ['job.completed'] : [], `deliveries of ${c.j.id}`);
        }
      });
    });

    describe('idempotent creation, deadlines and retries', () => {
      const create = (userId: string, key: string, hash: string, extra: object = {}) => store.jobCreateCharged({
        id: newId(), userId, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: now(),
        idempotency: { key, requestHash: hash }, ...extra,
      });

      it('returns the same job for a repeated key and body, charging once; a different body is a conflict', async () => {
        const u = await user(100);
        const first = await create(u.id, 'k1', 'h1');
        const again = await create(u.id, 'k1', 'h1');
        assert.ok(first.ok && again.ok);
        assert.equal(again.job.id, first.job.id);
        assert.deepEqual([first.replayed, again.replayed], [false, true]);
        assert.deepEqual(await create(u.id, 'k1', 'h2'), { ok: false, reason: 'idempotency_conflict', jobId: first.job.id });
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 90);
        const other = await user(100);
        assert.equal((await create(other.id, 'k1', 'h2')).ok, true, 'keys belong to one account');
      });

      it('creates one job for 20 concurrent identical requests', async () => {
        const u = await user(1000);
        const all = await Promise.all(Array.from({ length: 20 }, () => create(u.id, 'same', 'h')));
        const ids = new Set(all.map((r) => (r.ok ? r.job.id : 'refused')));
        assert.equal(ids.size, 1);
        assert.ok(!ids.has('refused'));
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 990);
        assert.equal((await store.jobList({ userId: u.id, limit: 100 })).length, 1);
      });

      it('forgets a key after 24 hours, and writes nothing when the balance is short', async () => {
        const u = await user(15);
        const first = await create(u.id, 'old', 'h1');
        t += 24 * 3_600_000 + 1;
        const later = await create(u.id, 'old', 'h2');
        assert.deepEqual(later, { ok: false, reason: 'insufficient', available: 5 });
        await store.userGrantCredits({ userId: u.id, amount: 10, reason: null, now: now() });
        const fresh = await create(u.id, 'old', 'h2');
        assert.ok(fresh.ok && first.ok && fresh.job.id !== first.job.id && !fresh.replayed);
      });

      it('finds unfinished jobs past their deadline, and keeps the retry link', async () => {
        const u = await user(100);
        const at = now();
        const due = await store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: at, cancelAfterAt: at + 1000 });
        const later = await store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 10, now: at, cancelAfterAt: at + 9000, retryOf: due.ok ? due.job.id : null });
        assert.ok(due.ok && later.ok);
        assert.equal(later.job.retryOf, due.job.id);
        assert.equal(due.job.cancelAfterAt, at + 1000);
        assert.deepEqual(await store.jobListPastDeadline({ now: at + 999, limit: 10 }), []);
        assert.deepEqual(await store.jobListPastDeadline({ now: at + 1000, limit: 10 }), [{ id: due.job.id, userId: u.id }]);
        await store.jobCancel({ id: due.job.id, userId: u.id, now: at + 1000, refundFor: (j) => j.creditsCharged });
        assert.deepEqual(await store.jobListPastDeadline({ now: at + 1000, limit: 10 }), [], 'a cancelled job is past nothing');
        assert.equal((await store.jobGetById({ id: later.job.id }))?.status, 'pending');
      });
    });

    describe('operational figures', () => {
      it('counts pending jobs per model with the oldest creation time, claimed and finished ones left out', async () => {
        const u = await user(1_000);
        assert.deepEqual(await store.jobQueueStats(), []);
        const a1 = await job(u.id, { modelId: 'm/a', createdAt: t + 10 });
        await job(u.id, { modelId: 'm/a', createdAt: t + 20 });
        const b1 = await job(u.id, { modelId: 'm/b', createdAt: t + 30 });
        t += 100;
        const byModel = async () => (await store.jobQueueStats()).sort((x, y) => String(x.modelId).localeCompare(String(y.modelId)));
        assert.deepEqual(await byModel(), [
          { modelId: 'm/a', pending: 2, oldestCreatedAt: a1.createdAt },
          { modelId: 'm/b', pending: 1, oldestCreatedAt: b1.createdAt },
        ]);
        await claim({ exclude: ['m/a'] });
        assert.deepEqual(await byModel(), [{ modelId: 'm/a', pending: 2, oldestCreatedAt: a1.createdAt }]);
      });

      it('tells when the oldest delivery still owed was created', async () => {
        const u = await user(100);
        assert.equal(await store.webhookOldestPendingAt(), null);
        const r = await store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: 'https://hooks.example/in', cost: 5, now: now() });
        assert.ok(r.ok);
        const [c] = await claim();
        await store.jobComplete({ id: c!.id, leaseToken: c!.leaseToken, outputData: {}, now: now() });
        const [d] = await store.webhookListByJob({ jobId: r.job.id });
        assert.equal(await store.webhookOldestPendingAt(), d!.createdAt);
      });
    });

    describe('webhook outbox', () => {
      const hooked = async (userId: string) => {
        const r = await store.jobCreateCharged({ id: newId(), userId, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: 'https://hooks.example/in', cost: 5, now: now() });
        assert.ok(r.ok);
        return r.job;
      };

      it('writes a delivery with each terminal move of a job that has a webhook_url, and none without', async () => {
        const u = await user(100);
        const done = await hooked(u.id);
        const failed = await hooked(u.id);
        const cancelled = await hooked(u.id);
        const plain = await job(u.id);
        for (const c of await claim({ limit: 10 })) {
          if (c.id === done.id) await store.jobComplete({ id: c.id, leaseToken: c.leaseToken, outputData: {}, now: now() });
          if (c.id === failed.id) await store.jobFail({ id: c.id, leaseToken: c.leaseToken, errorMessage: 'x', now: now() });
          if (c.id === plain.id) await store.jobComplete({ id: c.id, leaseToken: c.leaseToken, outputData: {}, now: now() });
        }
        await store.jobCancel({ id: cancelled.id, userId: u.id, now: now(), refundFor: () => 0 });
        const events = async (id: string) => (await store.webhookListByJob({ jobId: id })).map((d) => [d.event, d.status, d.url]);
        assert.deepEqual(await events(done.id), [['job.completed', 'pending', 'https://hooks.example/in']]);
        assert.deepEqual(await events(failed.id), [['job.failed', 'pending', 'https://hooks.example/in']]);
        assert.deepEqual(await events(cancelled.id), [['job.cancelled', 'pending', 'https://hooks.example/in']]);
        assert.deepEqual(await events(plain.id), []);
      });

      it('leases due deliveries, records attempts, and marks the job delivered at the first success', async () => {
        const u = await user(100);
        const j = await hooked(u.id);
        await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: () => 0 });
        const at = now() + 10;
        const [d] = await store.webhookClaimDue({ owner: 'disp-a', now: at, limit: 10, leaseMs: 30_000 });
        assert.equal(d?.jobId, j.id);
        assert.deepEqual(await store.webhookClaimDue({ owner: 'disp-b', now: at, limit: 10, leaseMs: 30_000 }), [], 'leased deliveries are not handed out twice');
        const attempt = (n: number, statusCode: number | null) => ({ n, at, statusCode, error: statusCode ? null : 'refused', durationMs: 3 });
        assert.equal(await store.webhookRecordAttempt({ id: d!.id, owner: 'disp-b', attempt: attempt(1, 500), result: 'retry', nextAttemptAt: at, payload: '{}' }), false, 'not the lease holder');
        assert.equal(await store.webhookRecordAttempt({ id: d!.id, owner: 'disp-a', attempt: attempt(1, 500), result: 'retry', nextAttemptAt: at + 100, payload: '{"first":1}' }), true);
        assert.deepEqual(await store.webhookClaimDue({ owner: 'disp-a', now: at + 99, limit: 10, leaseMs: 30_000 }), [], 'not due yet');
        const [again] = await store.webhookClaimDue({ owner: 'disp-a', now: at + 100, limit: 10, leaseMs: 30_000 });
        assert.equal(again?.payload, '{"first":1}');
        assert.equal(await store.webhookRecordAttempt({ id: d!.id, owner: 'disp-a', attempt: attempt(2, 204), result: 'delivered', nextAttemptAt: at + 100, payload: '{"other":2}' }), true);
        const [listed] = await store.webhookListByJob({ jobId: j.id });
        assert.deepEqual([listed?.status, listed?.attempts, listed?.payload, listed?.lastStatusCode], ['delivered', 2, '{"first":1}', 204]);
        assert.deepEqual(listed?.attemptLog.map((a) => [a.n, a.statusCode]), [[1, 500], [2, 204]]);
        assert.equal((await store.jobGetById({ id: j.id }))?.webhookDelivered, true);
      });

      it('stops the pending deliveries to an endpoint that is gone', async () => {
        const u = await user(100);
        const a = await hooked(u.id);
        const b = await hooked(u.id);
        await store.jobCancel({ id: a.id, userId: u.id, now: now(), refundFor: () => 0 });
        await store.jobCancel({ id: b.id, userId: u.id, now: now(), refundFor: () => 0 });
        assert.equal(await store.webhookFailEndpoint({ userId: u.id, url: 'https://hooks.example/in', reason: '410 Gone', now: now() }), 2);
        assert.deepEqual(await store.webhookClaimDue({ owner: 'x', now: now() + 10, limit: 10, leaseMs: 1000 }), []);
      });

      it('keeps an account\'s webhook secret, and the previous one after a rotation', async () => {
        const u = await user();
        assert.deepEqual(await store.userWebhookSecrets({ userId: u.id }), { current: null, previous: null, previousUntil: null });
        await store.userSetWebhookSecret({ userId: u.id, secret: 'whsec_a', previousUntil: null, onlyIfUnset: true });
        await store.userSetWebhookSecret({ userId: u.id, secret: 'whsec_b', previousUntil: null, onlyIfUnset: true });
        assert.equal((await store.userWebhookSecrets({ userId: u.id }))?.current, 'whsec_a', 'first use does not replace a secret');
        const rotated = await store.userSetWebhookSecret({ userId: u.id, secret: 'whsec_c', previousUntil: 5_000, onlyIfUnset: false });
        assert.deepEqual(rotated, { current: 'whsec_c', previous: 'whsec_a', previousUntil: 5_000 });
      });
    });

    describe('reading jobs', () => {
      it('lists an account\'s jobs newest first, with filters and a cursor', async () => {
        const u = await user(1000);
        const other = await user(1000);
        const jobs: JobRecord[] = [];
        for (let i = 0; i < 7; i++) jobs.push(await job(u.id, { modelId: i % 2 ? 'a/odd' : 'a/even', createdAt: 1000 + Math.floor(i / 2) }));
        await job(other.id);
        const all = await store.jobList({ userId: u.id, limit: 100 });
        assert.deepEqual(all.map((j) => j.id), [...jobs].reverse().map((j) => j.id), 'newest first; ties broken by id');
        const odd = await store.jobList({ userId: u.id, limit: 100, modelId: 'a/odd' });
        assert.deepEqual(odd.map((j) => j.modelId), ['a/odd', 'a/odd', 'a/odd']);
        const seen: string[] = [];
        let cursor: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await store.jobList({ userId: u.id, limit: 2, ...(cursor ? { startingAfter: cursor } : {}) });
          if (page.length === 0) break;
          seen.push(...page.map((j) => j.id));
          const last = page[page.length - 1] as JobRecord;
          cursor = { createdAt: last.createdAt, id: last.id };
        }
        assert.deepEqual(seen, all.map((j) => j.id), 'paging visits every job once, in order');
        const window = await store.jobList({ userId: u.id, limit: 100, createdAfter: 1000, createdBefore: 1003 });
        assert.deepEqual(window.map((j) => j.createdAt), [1002, 1002, 1001, 1001]);
        assert.equal((await store.jobList({ userId: u.id, limit: 100, status: 'completed' })).length, 0);
        assert.equal((await store.jobList({ userId: u.id, limit: 100, runType: 'app' })).length, 0);
      });

      it('gets a job only for its owner and counts its place in the queue', async () => {
        const u = await user(1000);
        const other = await user(1000);
        const first = await job(other.id);
        const second = await job(u.id);
        assert.equal((await store.jobGetById({ id: second.id, userId: u.id }))?.id, second.id);
        assert.equal(await store.jobGetById({ id: second.id, userId: other.id }), null);
        assert.equal((await store.jobGetById({ id: second.id }))?.id, second.id);
        assert.equal(await store.jobQueuePosition({ id: first.id, createdAt: first.createdAt }), 0);
        assert.equal(await store.jobQueuePosition({ id: second.id, createdAt: second.createdAt }), 1);
      });
    });

    describe('queue positions', () => {
      it('counts the pending jobs created before each job, whatever happened to the others', async () => {
        const u = await user(10_000);
        const jobs: JobRecord[] = [];
        for (let i = 0; i < 12; i++) jobs.push(await job(u.id, { cost: 1 }));
        // Take some from the head, cancel some in the middle, fail one and complete one.
        const claimed = await claim({ limit: 4 });
        await store.jobCancel({ id: jobs[6]!.id, userId: u.id, now: now(), refundFor: () => 0 });
        await store.jobCancel({ id: jobs[9]!.id, userId: u.id, now: now(), refundFor: () => 0 });
        await store.jobComplete({ id: claimed[0]!.id, leaseToken: claimed[0]!.leaseToken, outputData: null, now: now() });
        await store.jobFail({ id: claimed[1]!.id, leaseToken: claimed[1]!.leaseToken, errorMessage: 'x', now: now() });
        jobs.push(await job(u.id, { cost: 1 }));
        const pendingIds = new Set((await store.jobList({ userId: u.id, limit: 100, status: 'pending' })).map((j) => j.id));
        const expected = (j: JobRecord) => jobs.filter((o) => pendingIds.has(o.id) && (o.createdAt < j.createdAt || (o.createdAt === j.createdAt && o.id < j.id))).length;
        for (const j of jobs) assert.equal(await store.jobQueuePosition({ id: j.id, createdAt: j.createdAt }), expected(j), `position of job ${jobs.indexOf(j)}`);
        assert.equal(await store.jobQueuePosition({ id: jobs.at(-1)!.id, createdAt: jobs.at(-1)!.createdAt }), 12 - 4 - 2);
      });

      it('counts right in a longer queue, near its front, its middle and its back', async () => {
        const u = await user(10_000);
        const jobs: JobRecord[] = [];
        for (let i = 0; i < 300; i++) jobs.push(await job(u.id, { cost: 1 }));
        await claim({ limit: 2 });
        for (const i of [5, 150, 250]) await store.jobCancel({ id: jobs[i]!.id, userId: u.id, now: now(), refundFor: () => 0 });
        const gone = new Set([0, 1, 5, 150, 250]);
        const expected = (i: number) => jobs.slice(0, i).filter((_, k) => !gone.has(k)).length;
        for (const i of [2, 3, 100, 129, 130, 131, 140, 200, 251, 298, 299]) {
          assert.equal(await store.jobQueuePosition({ id: jobs[i]!.id, createdAt: jobs[i]!.createdAt }), expected(i), `position of job ${i}`);
        }
      });
    });

    describe('status moves', () => {
      /** Brings a fresh job to `status` through the allowed moves; returns it and its lease token. */
      const jobIn = async (status: JobStatus): Promise<JobRecord> => {
        const u = await user(1000);
        const j = await job(u.id);
        if (status === 'pending') return j;
        if (status === 'cancelled') return (await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: () => 0 }))!.job;
        const [claimed] = await claim({ limit: 1 });
        assert.equal(claimed?.id, j.id);
        if (status === 'processing') return claimed!;
        if (status === 'completed') return (await store.jobComplete({ id: j.id, leaseToken: claimed!.leaseToken, outputData: { ok: 1 }, now: now() }))!;
        return (await store.jobFail({ id: j.id, leaseToken: claimed!.leaseToken, errorMessage: 'boom', now: now() }))!;
      };

      /** Attempts one move with the store's guarded operations; returns whether the store made it. */
      const attempt = async (j: JobRecord, to: JobStatus): Promise<boolean> => {
        switch (to) {
          case 'pending': {
            // No call is meant to put a job back in the queue. The one that comes closest gives a
            // job back at shutdown: it must end the lease and leave the status alone.
            await store.jobRelease({ id: j.id, leaseToken: j.leaseToken, now: now() });
            return (await store.jobGetById({ id: j.id }))?.status === 'pending';
          }
          case 'processing': return (await claim({ limit: 10 })).some((c) => c.id === j.id);
          case 'completed': return (await store.jobComplete({ id: j.id, leaseToken: j.leaseToken, outputData: {}, now: now() })) !== null;
          case 'failed': return (await store.jobFail({ id: j.id, leaseToken: j.leaseToken, errorMessage: 'x', now: now() })) !== null;
          case 'cancelled': return (await store.jobCancel({ id: j.id, userId: j.userId, now: now(), refundFor: () => 0 }))?.changed === true;
        }
      };

      it('records outcomes reported together each on its own: a stale lease changes nothing, a failure refunds', async () => {
        const u = await user(100);
        const [a, b, c, d] = [await job(u.id), await job(u.id), await job(u.id), await job(u.id)];
        const claimed = await claim({ limit: 4 });
        assert.equal(claimed.length, 4);
        const token = (id: string) => claimed.find((j) => j.id === id)!.leaseToken;
        const [done, stale, failed, staleFail] = await Promise.all([
          store.jobComplete({ id: a.id, leaseToken: token(a.id), outputData: { n: 1 }, now: now() }),
          store.jobComplete({ id: b.id, leaseToken: token(b.id) + 1, outputData: { n: 2 }, now: now() }),
          store.jobFail({ id: c.id, leaseToken: token(c.id), errorMessage: 'boom', now: now() }),
          store.jobFail({ id: d.id, leaseToken: token(d.id) - 1, errorMessage: 'late', now: now() }),
        ]);
        assert.deepEqual([done?.status, stale, failed?.status, staleFail], ['completed', null, 'failed', null]);
        assert.deepEqual(done, await store.jobGetById({ id: a.id }));
        assert.deepEqual(failed, await store.jobGetById({ id: c.id }));
        assert.equal((await store.jobGetById({ id: b.id }))?.status, 'processing');
        assert.equal((await store.jobGetById({ id: d.id }))?.status, 'processing');
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 70, 'only the failed job was refunded');
        await assertLedgerBalances(u.id);
      });

      for (const from of JOB_STATUSES) {
        for (const to of JOB_STATUSES) {
          if (from === to) continue;
          const allowed = canMove(from, to);
          it(`${allowed ? 'allows' : 'refuses'} ${from} -> ${to}`, async () => {
            const j = await jobIn(from);
            assert.equal(j.status, from);
            assert.equal(await attempt(j, to), allowed);
            const after = await store.jobGetById({ id: j.id });
            assert.equal(after?.status, allowed ? to : from);
          });
        }
      }

      it('sets completed_at on every terminal status and started_at on claim', async () => {
        for (const s of ['completed', 'failed', 'cancelled'] as const) {
          const j = await jobIn(s);
          assert.ok(j.completedAt !== null, `${s} has completed_at`);
        }
        const p = await jobIn('processing');
        assert.ok(p.startedAt !== null);
        assert.equal(p.attempts, 1);
        assert.equal(p.leaseOwner, 'exec-a');
      });
    });

    describe('cancelling', () => {
      it('refunds what refundFor says, once, and refuses a terminal job', async () => {
        const u = await user(100);
        const j = await job(u.id, { cost: 40 });
        const r = await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: (x) => x.creditsCharged / 2 });
        assert.ok(r?.changed);
        assert.equal(r.previousStatus, 'pending');
        assert.equal(r.job.status, 'cancelled');
        assert.equal(r.job.creditsRefunded, 20);
        assert.ok(r.job.cancelledAt !== null);
        const again = await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: () => 40 });
        assert.equal(again?.changed, false);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 80);
        await assertLedgerBalances(u.id);
      });

      it('refunds whole credits, at most what is left of the charge and never less than nothing, whatever refundFor says', async () => {
        const u = await user(1000);
        const asked = [1000, -5, 12.9, Number.NaN, Number.POSITIVE_INFINITY];
        const refunded: number[] = [];
        for (const amount of asked) {
          const j = await job(u.id, { cost: 40 });
          const r = await store.jobCancel({ id: j.id, userId: u.id, now: now(), refundFor: () => amount });
          assert.ok(r?.changed);
          refunded.push(r.job.creditsRefunded);
          const entries = (await store.ledgerList({ userId: u.id, limit: 10, jobId: j.id })).filter((e) => e.kind === 'refund');
          assert.deepEqual(entries.map((e) => e.amount), r.job.creditsRefunded > 0 ? [r.job.creditsRefunded] : [], `the refund entry of ${amount}`);
        }
        assert.deepEqual(refunded, [40, 0, 12, 0, 40]);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 1000 - 5 * 40 + 40 + 12 + 40);
        await assertLedgerBalances(u.id);
      });

      it('does not find another account\'s job', async () => {
        const u = await user();
        const other = await user();
        const j = await job(u.id);
        assert.equal(await store.jobCancel({ id: j.id, userId: other.id, now: now(), refundFor: () => 0 }), null);
        assert.equal((await store.jobGetById({ id: j.id }))?.status, 'pending');
      });
    });

    describe('claiming and leases', () => {
      it('never gives one job to two claims made at once', async () => {
        const u = await user(1000);
        const ids = [];
        for (let i = 0; i < 7; i++) ids.push((await job(u.id)).id);
        const at = now();
        const [a, b, c] = await Promise.all(['exec-a', 'exec-b', 'exec-c'].map((owner) => claim({ owner, limit: 5, at })));
        const all = [...a!, ...b!, ...c!].map((j) => j.id);
        assert.equal(new Set(all).size, all.length, 'no job claimed twice');
        assert.deepEqual([...all].sort(), [...ids].sort(), 'every job claimed once');
        for (const [owner, got] of [['exec-a', a!], ['exec-b', b!], ['exec-c', c!]] as const) {
          for (const j of got) {
            assert.equal(j.leaseOwner, owner);
            assert.equal(j.attempts, 1);
            assert.deepEqual(j, await store.jobGetById({ id: j.id }));
          }
        }
        assert.deepEqual(await claim({ limit: 5 }), []);
      });

      it('claims oldest first, up to the limit, skipping excluded models', async () => {
        const u = await user(1000);
        const a = await job(u.id, { modelId: 'm/a' });
        const b = await job(u.id, { modelId: 'm/b' });
        const c = await job(u.id, { modelId: 'm/a' });
        assert.deepEqual((await claim({ limit: 1 })).map((j) => j.id), [a.id]);
        assert.deepEqual((await claim({ limit: 5, exclude: ['m/b'] })).map((j) => j.id), [c.id]);
        assert.deepEqual((await claim({ limit: 5 })).map((j) => j.id), [b.id]);
        assert.deepEqual(await claim({ limit: 5 }), []);
      });

      it('takes over a job whose lease ran out, with a new token that fences the old holder', async () => {
        const u = await user(100);
        const j = await job(u.id);
        const t0 = now();
        const [first] = await claim({ owner: 'dead', leaseMs: 1000, at: t0 });
        assert.deepEqual(await claim({ owner: 'b', at: t0 + 500 }), [], 'a live lease is not taken');
        const [second] = await claim({ owner: 'b', at: t0 + 1000 });
        assert.equal(second?.id, j.id);
        assert.equal(second?.attempts, 2);
        assert.ok(second!.leaseToken > first!.leaseToken);
        assert.equal(await store.jobComplete({ id: j.id, leaseToken: first!.leaseToken, outputData: {}, now: now() }), null, 'the stale holder cannot complete');
        assert.equal(await store.jobFail({ id: j.id, leaseToken: first!.leaseToken, errorMessage: 'x', now: now() }), null, 'nor fail');
        assert.equal(await store.jobSetOutput({ id: j.id, leaseToken: first!.leaseToken, outputData: {} }), false, 'nor write output');
        assert.equal(await store.jobRelease({ id: j.id, leaseToken: first!.leaseToken, now: now() }), false, 'nor release');
        assert.deepEqual(await store.jobLeaseExtend({ owner: 'dead', ids: [j.id], leaseMs: 1000, now: now() }), [], 'nor renew');
        const done = await store.jobComplete({ id: j.id, leaseToken: second!.leaseToken, outputData: { outputText: 'hi' }, now: now() });
        assert.deepEqual(done?.outputData, { outputText: 'hi' });
        assert.equal(done?.leaseOwner, null);
      });

      it('claims only the models a worker serves when asked to', async () => {
        const u = await user(1000);
        const gpu = await job(u.id, { modelId: 'gpu/a' });
        const cpu = await job(u.id, { modelId: 'cpu/b' });
        const only = await store.jobClaim({ owner: 'worker:1', limit: 5, leaseMs: 1000, now: now(), onlyModels: ['gpu/a'], maxAttempts: 3 });
        assert.deepEqual(only.map((j) => j.id), [gpu.id]);
        assert.deepEqual((await claim({ limit: 5, exclude: ['gpu/a'] })).map((j) => j.id), [cpu.id]);
      });

      it('records progress and log lines only for the current lease holder', async () => {
        const u = await user(100);
        const j = await job(u.id);
        const [c] = await claim();
        assert.equal(await store.jobReportProgress({ id: j.id, leaseToken: c!.leaseToken, progress: 0.25, logs: ['loading', 'step 1'], now: now() }), true);
        assert.equal(await store.jobReportProgress({ id: j.id, leaseToken: c!.leaseToken, progress: null, logs: ['step 2'], now: now() }), true);
        assert.equal(await store.jobReportProgress({ id: j.id, leaseToken: c!.leaseToken - 1, progress: 0.9, logs: ['stale'], now: now() }), false);
        assert.equal((await store.jobGetById({ id: j.id }))?.progress, 0.25);
        assert.deepEqual((await store.jobLogList({ id: j.id, limit: 10 })).map((l) => [l.seq, l.line]), [[1, 'loading'], [2, 'step 1'], [3, 'step 2']]);
      });

      it('renews only the leases the owner still holds', async () => {
        const u = await user(100);
        const a = await job(u.id);
        const b = await job(u.id);
        await claim({ owner: 'x' });
        await store.jobCancel({ id: b.id, userId: u.id, now: now(), refundFor: () => 0 });
        const held = await store.jobLeaseExtend({ owner: 'x', ids: [a.id, b.id], leaseMs: 60_000, now: now() });
        assert.deepEqual(held, [a.id]);
        assert.ok((await store.jobGetById({ id: a.id }))!.leaseExpiresAt! > now() + 50_000);
      });

      it('releases a job for the next claim without counting the attempt', async () => {
        const u = await user(100);
        const j = await job(u.id);
        const [c] = await claim();
        assert.equal(await store.jobRelease({ id: j.id, leaseToken: c!.leaseToken, now: now() }), true);
        const [again] = await claim({ owner: 'other' });
        assert.equal(again?.id, j.id);
        assert.equal(again?.attempts, 1);
        assert.equal(again?.status, 'processing');
      });

      it('fails and refunds a job abandoned on every attempt, exactly once', async () => {
        const u = await user(100);
        const j = await job(u.id, { cost: 25 });
        let at = now();
        for (let i = 0; i < 2; i++) {
          const [c] = await claim({ leaseMs: 10, at, maxAttempts: 2 });
          assert.equal(c?.id, j.id);
          at += 100;
        }
        assert.deepEqual(await claim({ at, maxAttempts: 2 }), [], 'not claimed a third time');
        const failed = await store.jobFailAbandoned({ now: at, maxAttempts: 2 });
        assert.deepEqual(failed.map((f) => [f.id, f.status, f.creditsRefunded]), [[j.id, 'failed', 25]]);
        assert.match(failed[0]!.errorMessage ?? '', /abandoned/);
        assert.deepEqual(await store.jobFailAbandoned({ now: at + 1, maxAttempts: 2 }), []);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 100);
        await assertLedgerBalances(u.id);
      });

      it('stores partial output of a processing job for its lease holder', async () => {
        const u = await user(100);
        const j = await job(u.id);
        const [c] = await claim();
        assert.equal(await store.jobSetOutput({ id: j.id, leaseToken: c!.leaseToken, outputData: { node_outputs: { n1: {} } } }), true);
        assert.deepEqual((await store.jobGetById({ id: j.id }))?.outputData, { node_outputs: { n1: {} } });
      });
    });

    describe('rate-limit windows', () => {
      it('admits a key\'s limit in its window, refuses the next with a retry time, and admits again once the window moved on', async () => {
        const t0 = 1_800_000_000_000;
        const seen = [];
        for (let i = 0; i < 4; i++) seen.push(await store.rateLimitConsume({ keyId: 'k1', limit: 3, now: t0 + i * 100 }));
        assert.deepEqual(seen.map((d) => [d.allowed, d.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]]);
        assert.equal(seen[0]!.resetSeconds, 0, 'room left: the window has room now');
        assert.ok(seen[3]!.resetSeconds >= 60 && seen[3]!.resetSeconds <= 61, `retry after ${seen[3]!.resetSeconds}`);
        assert.equal((await store.rateLimitConsume({ keyId: 'k2', limit: 3, now: t0 })).allowed, true, 'another key has its own window');
        assert.equal((await store.rateLimitConsume({ keyId: 'k1', limit: 3, now: t0 + 59_000 })).allowed, false);
        assert.equal((await store.rateLimitConsume({ keyId: 'k1', limit: 3, now: t0 + 61_000 })).allowed, true);
      });

      it('admits exactly the limit under concurrent checks', async () => {
        const now = 1_800_000_100_000;
        const all = await Promise.all(Array.from({ length: 40 }, () => store.rateLimitConsume({ keyId: 'busy', limit: 10, now })));
        assert.equal(all.filter((d) => d.allowed).length, 10);
      });
    });

    describe('failing and refunds', () => {
      it('refunds a failed job in full, once', async () => {
        const u = await user(100);
        const j = await job(u.id, { cost: 60 });
        const [c] = await claim();
        const failed = await store.jobFail({ id: j.id, leaseToken: c!.leaseToken, errorMessage: 'provider exploded', now: now() });
        assert.equal(failed?.errorMessage, 'provider exploded');
        assert.equal(failed?.creditsRefunded, 60);
        assert.equal(await store.jobFail({ id: j.id, leaseToken: c!.leaseToken, errorMessage: 'again', now: now() }), null);
        assert.equal((await store.userGetById({ id: u.id }))?.credits, 100);
        const refunds = (await store.ledgerList({ userId: u.id, limit: 10, jobId: j.id })).filter((e) => e.kind === 'refund');
        assert.deepEqual(refunds.map((e) => e.amount), [60]);
        await assertLedgerBalances(u.id);
      });

      it('reports usage: credits used, jobs and active keys', async () => {
        const u = await user(100);
        await job(u.id, { cost: 10 });
        const j2 = await job(u.id, { cost: 5 });
        await store.jobCancel({ id: j2.id, userId: u.id, now: now(), refundFor: (x) => x.creditsCharged });
        await store.apiKeyCreate({ userId: u.id, name: null, keyPrefix: 'p', keyHash: 'k1', expiresAt: null, rateLimitPerMinute: 5, now: now() });
        await store.apiKeyCreate({ userId: u.id, name: null, keyPrefix: 'p', keyHash: 'k2', expiresAt: t - 1_000_000, rateLimitPerMinute: 5, now: now() });
        const usage = await store.accountUsage({ userId: u.id, since: 0, now: now() });
        assert.deepEqual(usage, { creditsUsed: 10, jobsSince: 2, totalJobs: 2, activeKeys: 1 });
      });
    });
  });
}
