import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import type { JobNotice } from '../../src/jobs/events.js';
import { freshStore, testStoreKind } from '../helpers/store.js';

describe('postgres store: notifications', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('tells subscribers of every new job and status change, made by any connection', async () => {
    const store = await freshStore();
    const notices: JobNotice[] = [];
    const stop = await store.subscribe((n) => { if (n) notices.push(n); });
    try {
      const user = await store.userCreate({ name: null, credits: 100, now: Date.now() });
      const created = await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: Date.now() });
      assert.ok(created.ok);
      const [claimed] = await store.jobClaim({ owner: 'o', limit: 1, leaseMs: 1000, now: Date.now(), maxAttempts: 3 });
      await store.jobComplete({ id: claimed!.id, leaseToken: claimed!.leaseToken, outputData: {}, now: Date.now() });
      const until = Date.now() + 2_000;
      while (notices.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(notices.map((n) => [n.id, n.status, n.modelId]), [
        [created.job.id, 'pending', 'm/x'], [created.job.id, 'processing', 'm/x'], [created.job.id, 'completed', 'm/x'],
      ]);
    } finally {
      await stop();
      await store.close();
    }
  });
});
