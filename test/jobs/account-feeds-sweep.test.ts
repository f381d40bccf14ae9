import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testApp } from '../helpers/app.js';
import { AccountFeeds, SWEEP_ACCOUNTS_PER_TICK } from '../../src/jobs/account-feeds.js';
import type { UserRecord } from '../../src/store/store.js';

/* The account streams' safety sweep: its cost is bounded per tick, not one read per account with a stream every second. */

describe('account event feeds', () => {
  it('sweep SWEEP_ACCOUNTS_PER_TICK accounts per tick, the longest unswept first, however many accounts hold streams', async (t) => {
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    const n = SWEEP_ACCOUNTS_PER_TICK * 3;
    // The timer would tick in an hour: the test ticks by hand.
    const feeds = new AccountFeeds(app.jobs, { sweepMs: 3_600_000 });
    const users: UserRecord[] = [];
    for (let i = 0; i < n; i++) users.push((await app.store.userGetById({ id: (await app.account()).userId }))!);
    const leaves: (() => void)[] = [];
    for (const u of users) leaves.push((await feeds.join(u, () => {})).leave);
    t.after(() => { for (const leave of leaves) leave(); });

    // A sweep lists the account's newest jobs: count the lists by account from here on.
    const swept = new Map<string, number>();
    const store = app.store as unknown as { jobList: (p: { userId: string }) => Promise<unknown[]> };
    const list = store.jobList.bind(store);
    store.jobList = (p) => {
      swept.set(p.userId, (swept.get(p.userId) ?? 0) + 1);
      return list(p);
    };
    const total = () => [...swept.values()].reduce((a, b) => a + b, 0);

    feeds.sweepTick();
    await eventually(() => (total() >= SWEEP_ACCOUNTS_PER_TICK ? true : undefined), 10_000, 'the first tick\'s sweeps');
    assert.deepEqual([...swept.keys()].sort(), users.slice(0, SWEEP_ACCOUNTS_PER_TICK).map((u) => u.id).sort(), 'the first tick sweeps the accounts that joined first');
    feeds.sweepTick();
    feeds.sweepTick();
    await eventually(() => (total() >= n ? true : undefined), 10_000, 'every account swept');
    assert.equal(swept.size, n, 'three ticks sweep every account');
    assert.ok([...swept.values()].every((c) => c === 1), 'and none twice');
  });
});
