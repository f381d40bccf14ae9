import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import type { JobPriority, JobRecord, Store, UserRecord } from '../../src/store/store.js';

/**
 * Conformance of the fair scheduler (docs/architecture.md, "Fair dispatch"), on every store:
 * the weighted round-robin between accounts, priorities inside an account, per-account limits
 * with claims made at once, an idle account's return, and the queue position estimate.
 */
export function fairConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`fair scheduler conformance: ${name}`, () => {
    let store: Store;
    let t = 1_700_000_000_000;
    const now = () => ++t;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    const user = async (settings: { weight?: number; maxRunning?: number | null; maxRunningPerModel?: number | null; maxPriority?: JobPriority } = {}) => {
      const u = await store.userCreate({ name: null, credits: 1_000_000, now: now() });
      return Object.keys(settings).length === 0 ? u : (await store.userSetScheduling({ userId: u.id, ...settings }))!;
    };
    const job = async (u: UserRecord, p: { modelId?: string; priority?: JobPriority } = {}) => {
      const r = await store.jobCreateCharged({
        id: newId(), userId: u.id, runType: 'model', modelId: p.modelId ?? 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: now(),
        ...(p.priority ? { priority: p.priority } : {}),
      });
      assert.ok(r.ok);
      return r.job;
    };
    const jobs = async (u: UserRecord, n: number, p: { modelId?: string } = {}) => {
      const out: JobRecord[] = [];
      for (let i = 0; i < n; i++) out.push(await job(u, p));
      return out;
    };
    const claim = (p: { limit?: number; owner?: string; defaultMaxRunning?: number | null; defaultMaxRunningPerModel?: number | null; exclude?: string[] } = {}) =>
      store.jobClaim({
        owner: p.owner ?? 'exec', limit: p.limit ?? 1, leaseMs: 60_000, now: now(), maxAttempts: 3, excludeModels: p.exclude ?? [],
        defaultMaxRunning: p.defaultMaxRunning ?? null, defaultMaxRunningPerModel: p.defaultMaxRunningPerModel ?? null,
      });
    /** Whose jobs `n` claims of one job each start, in order. */
    const claimOneByOne = async (n: number, names: Map<string, string>) => {
      const order: string[] = [];
      for (let i = 0; i < n; i++) {
        const [j] = await claim();
        order.push(j ? names.get(j.userId)! : '-');
      }
      return order;
    };
    const complete = (j: JobRecord) => store.jobComplete({ id: j.id, leaseToken: j.leaseToken, outputData: null, now: now() });

    it('shows the scheduling settings on the account, defaults first, and keeps the fields not given', async () => {
      const u = await store.userCreate({ name: null, credits: 0, now: now() });
      assert.deepEqual([u.weight, u.maxRunning, u.maxRunningPerModel, u.maxPriority], [1, null, null, 'high']);
      const set = await store.userSetScheduling({ userId: u.id, weight: 5, maxRunning: 3 });
      assert.deepEqual([set!.weight, set!.maxRunning, set!.maxRunningPerModel, set!.maxPriority], [5, 3, null, 'high']);
      const again = await store.userSetScheduling({ userId: u.id, maxRunning: null, maxPriority: 'normal', maxRunningPerModel: 0 });
      assert.deepEqual([again!.weight, again!.maxRunning, again!.maxRunningPerModel, again!.maxPriority], [5, null, 0, 'normal']);
      assert.deepEqual(await store.userGetById({ id: u.id }), again);
      assert.equal(await store.userSetScheduling({ userId: newId(), weight: 2 }), null);
      await assert.rejects(store.userSetScheduling({ userId: u.id, weight: 0 }), RangeError);
      await assert.rejects(store.userSetScheduling({ userId: u.id, weight: 1.5 }), RangeError);
      await assert.rejects(store.userSetScheduling({ userId: u.id, maxRunning: -1 }), RangeError);
    });

    it('takes turns between accounts instead of draining the first one\'s backlog', async () => {
      const [a, b, c] = [await user(), await user(), await user()];
      const names = new Map([[a.id, 'a'], [b.id, 'b'], [c.id, 'c']]);
      await jobs(a, 6);
      await jobs(b, 3);
      await jobs(c, 2);
      // Equal turns; a tie goes to the account with work the longest.
      assert.deepEqual(await claimOneByOne(11, names), ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'a', 'a', 'a']);
      assert.deepEqual(await claim(), []);
    });

    it('takes the same turns in one batch as one job at a time, first-come within each account', async () => {
      const [a, b] = [await user(), await user()];
      const aJobs = await jobs(a, 4);
      const bJobs = await jobs(b, 2);
      const got = await claim({ limit: 5 });
      assert.deepEqual(got.map((j) => j.id), [aJobs[0]!.id, bJobs[0]!.id, aJobs[1]!.id, bJobs[1]!.id, aJobs[2]!.id]);
    });

    it('shares the starts by weight while every account has work', async () => {
      const [a, b, c] = [await user({ weight: 3 }), await user(), await user({ weight: 2 })];
      const names = new Map([[a.id, 'a'], [b.id, 'b'], [c.id, 'c']]);
      for (const u of [a, b, c]) await jobs(u, 40);
      const got = await claim({ limit: 60 });
      const count = (who: string) => got.filter((j) => names.get(j.userId) === who).length;
      assert.deepEqual([count('a'), count('b'), count('c')], [30, 10, 20]);
      // Any prefix is within one turn of the weights too.
      const first12 = got.slice(0, 12).map((j) => names.get(j.userId));
      assert.deepEqual(['a', 'b', 'c'].map((w) => first12.filter((x) => x === w).length), [6, 2, 4]);
    });

    it('gives an account back from an idle spell its turn, not a burst for the time it was away', async () => {
      const [a, b] = [await user(), await user()];
      const names = new Map([[a.id, 'a'], [b.id, 'b']]);
      // b ran a little, then went idle while a ran alone for a long time.
      await jobs(b, 1);
      for (const j of await claim()) await complete(j);
      await jobs(a, 30);
      for (const j of await claim({ limit: 20 })) await complete(j);
      await jobs(b, 10);
      assert.deepEqual(await claimOneByOne(6, names), ['a', 'b', 'a', 'b', 'a', 'b']);
    });

    it('orders an account\'s jobs by priority, then first-come, without letting it pass other accounts', async () => {
      const [a, b] = [await user(), await user()];
      const low = await job(a, { priority: 'low' });
      const normal = await job(a);
      const high = await job(a, { priority: 'high' });
      const high2 = await job(a, { priority: 'high' });
      const other = await job(b);
      assert.equal(high.priority, 'high');
      assert.equal((await store.jobGetById({ id: low.id }))?.priority, 'low');
      assert.equal(normal.priority, 'normal');
      const got = await claim({ limit: 5 });
      assert.deepEqual(got.map((j) => j.id), [high.id, other.id, high2.id, normal.id, low.id]);
      assert.ok(got.every((j) => j.status === 'processing'));
    });

    it('keeps an account within its limit of running jobs while others run, and starts more as its jobs end', async () => {
      const [a, b] = [await user({ maxRunning: 2 }), await user()];
      const names = new Map([[a.id, 'a'], [b.id, 'b']]);
      await jobs(a, 10);
      await jobs(b, 4);
      const got = await claim({ limit: 10 });
      assert.deepEqual(got.map((j) => names.get(j.userId)), ['a', 'b', 'a', 'b', 'b', 'b'], 'a stops at 2; b is not held up behind it');
      assert.deepEqual(await claim({ limit: 10 }), []);
      await complete(got[0]!);
      const next = await claim({ limit: 10 });
      assert.deepEqual(next.map((j) => names.get(j.userId)), ['a']);
    });

    it('applies the configured default limit to accounts without their own, and a limit per model', async () => {
      const [a, b] = [await user(), await user({ maxRunning: 3, maxRunningPerModel: 1 })];
      await jobs(a, 5);
      await jobs(b, 3, { modelId: 'm/one' });
      await jobs(b, 3, { modelId: 'm/two' });
      const got = await claim({ limit: 20, defaultMaxRunning: 1 });
      assert.equal(got.filter((j) => j.userId === a.id).length, 1, 'the default limit');
      assert.deepEqual(got.filter((j) => j.userId === b.id).map((j) => j.modelId).sort(), ['m/one', 'm/two'], 'one per model');
      const perModelDefault = await user();
      await jobs(perModelDefault, 3, { modelId: 'm/one' });
      const more = await claim({ limit: 20, defaultMaxRunningPerModel: 2 });
      assert.equal(more.filter((j) => j.userId === perModelDefault.id).length, 2);
    });

    it('never takes an account over its limit with claims made at once, and claims every other job once', async () => {
      const limited = [await user({ maxRunning: 2 }), await user({ maxRunning: 3 }), await user({ maxRunning: 1 })];
      const free = await user();
      for (const u of limited) await jobs(u, 8);
      const freeJobs = await jobs(free, 6);
      const at = now();
      const batches = await Promise.all(['e1', 'e2', 'e3', 'e4'].map((owner) =>
        store.jobClaim({ owner, limit: 5, leaseMs: 60_000, now: at, maxAttempts: 3 })));
      const all = batches.flat();
      assert.equal(new Set(all.map((j) => j.id)).size, all.length, 'no job claimed twice');
      for (const u of limited) assert.equal(all.filter((j) => j.userId === u.id).length, u.maxRunning, 'at its limit, not over');
      assert.deepEqual(all.filter((j) => j.userId === free.id).map((j) => j.id).sort(), freeJobs.map((j) => j.id).sort());
    });

    it('passes over accounts whose jobs are all of excluded models', async () => {
      const [a, b] = [await user(), await user()];
      await jobs(a, 3, { modelId: 'm/busy' });
      const bJobs = await jobs(b, 2, { modelId: 'm/free' });
      assert.deepEqual((await claim({ limit: 5, exclude: ['m/busy'] })).map((j) => j.id), bJobs.map((j) => j.id));
    });

    it('estimates queue positions that match the order jobs then start in, across weights and priorities', async () => {
      const [a, b, c] = [await user({ weight: 2 }), await user(), await user({ weight: 3 })];
      const created: JobRecord[] = [];
      for (let i = 0; i < 8; i++) created.push(await job(a));
      for (let i = 0; i < 5; i++) created.push(await job(b, { priority: i === 3 ? 'high' : 'normal' }));
      for (let i = 0; i < 6; i++) created.push(await job(c));
      // An account that has run before (its virtual time is ahead).
      for (const j of await claim({ limit: 3 })) await complete(j);
      const pending = (await Promise.all(created.map((j) => store.jobGetById({ id: j.id })))).filter((j) => j!.status === 'pending') as JobRecord[];
      const positions = new Map<string, number>();
      for (const j of pending) positions.set(j.id, await store.jobQueuePosition({ id: j.id, createdAt: j.createdAt }));
      const order = (await claim({ limit: 100 })).map((j) => j.id);
      assert.equal(order.length, pending.length);
      for (const j of pending) assert.equal(positions.get(j.id), order.indexOf(j.id), `position of a job of ${j.userId === a.id ? 'a' : j.userId === b.id ? 'b' : 'c'}`);
    });

    it('counts the queue position of a job at the back of a long backlog beside other accounts', async () => {
      const [a, b] = [await user(), await user()];
      const aJobs = await jobs(a, 300);
      const bJobs = await jobs(b, 3);
      const pos = (j: JobRecord) => store.jobQueuePosition({ id: j.id, createdAt: j.createdAt });
      // a's last job: the 299 ahead of it in a's queue and b's 3, which take their turns first.
      assert.equal(await pos(aJobs.at(-1)!), 302);
      assert.equal(await pos(aJobs[150]!), 153);
      assert.equal(await pos(bJobs[2]!), 5);
    });

    it('gives the same queue position when told the job is the newest, wherever it stands and whatever its priority', async () => {
      const [a, b] = [await user({ weight: 2 }), await user()];
      const aJobs: JobRecord[] = [];
      for (let i = 0; i < 300; i++) aJobs.push(await job(a, { priority: i % 50 === 7 ? 'high' : i % 60 === 9 ? 'low' : 'normal' }));
      await jobs(b, 5);
      for (const j of await claim({ limit: 4 })) await complete(j);
      // Near the front, in the middle, near the back (behind fewer than 128), the last, a high and a low one, and one no longer pending.
      for (const k of [0, 5, 7, 9, 150, 200, 260, 299]) {
        const j = aJobs[k]!;
        const plain = await store.jobQueuePosition({ id: j.id, createdAt: j.createdAt });
        const hinted = await store.jobQueuePosition({ id: j.id, createdAt: j.createdAt, newest: true });
        assert.equal(hinted, plain, `job ${k} of a`);
      }
      assert.equal(await store.jobQueuePosition({ id: aJobs[299]!.id, createdAt: aJobs[299]!.createdAt, newest: true }) > 250, true);
    });
  });
}
