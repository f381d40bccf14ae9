import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import type { JobRecord, RetentionDeleteJobsParams, Store } from '../../src/store/store.js';

const DAY = 86_400_000;

/**
 * Conformance of `Store.retentionDeleteJobs`: which jobs go (finished, old enough for their
 * status), in bounded batches, with every row that hangs on them, while the ledger keeps every
 * amount. `makeStore` must return a fresh, empty store each time.
 */
export function retentionConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`store conformance, retention: ${name}`, () => {
    let store: Store;
    const T0 = 1_700_000_000_000;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    const user = (credits = 1_000) => store.userCreate({ name: 'r', credits, now: T0 });
    const create = async (userId: string, at: number, p: { webhookUrl?: string; idempotencyKey?: string } = {}): Promise<JobRecord> => {
      const r = await store.jobCreateCharged({
        id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} },
        webhookUrl: p.webhookUrl ?? null, cost: 10, now: at,
        idempotency: p.idempotencyKey ? { key: p.idempotencyKey, requestHash: 'h' } : undefined,
      });
      assert.ok(r.ok && !r.replayed);
      return r.job;
    };
    /** Claims the job (the only pending one) and returns its lease token. */
    const claim = async (job: JobRecord, at: number) => {
      const [claimed] = await store.jobClaim({ owner: 'exec', limit: 1, leaseMs: 60_000, now: at, maxAttempts: 3 });
      assert.equal(claimed?.id, job.id);
      return claimed.leaseToken;
    };
    /** A job that reached `status` at `at` (created an hour before). */
    const finished = async (userId: string, status: 'completed' | 'failed' | 'cancelled', at: number, p: { webhookUrl?: string; idempotencyKey?: string; logs?: string[] } = {}) => {
      const job = await create(userId, at - 3_600_000, p);
      if (status === 'cancelled' && !p.logs) {
        assert.ok((await store.jobCancel({ id: job.id, userId, now: at, refundFor: () => 4 }))?.changed);
        return job;
      }
      const token = await claim(job, at - 1_000);
      if (p.logs) assert.ok(await store.jobReportProgress({ id: job.id, leaseToken: token, progress: 0.5, logs: p.logs, now: at - 500 }));
      if (status === 'completed') assert.ok(await store.jobComplete({ id: job.id, leaseToken: token, outputData: { images: [] }, now: at }));
      else if (status === 'failed') assert.ok(await store.jobFail({ id: job.id, leaseToken: token, errorMessage: 'boom', now: at }));
      else assert.ok((await store.jobCancel({ id: job.id, userId, now: at, refundFor: () => 4 }))?.changed);
      return job;
    };
    const exists = async (job: JobRecord) => (await store.jobGetById({ id: job.id })) !== null;
    const drain = async (p: RetentionDeleteJobsParams) => {
      const ids: string[] = [];
      for (;;) {
        const batch = await store.retentionDeleteJobs(p);
        ids.push(...batch.jobIds);
        if (batch.jobIds.length < p.limit) return ids;
      }
    };
    const assertLedgerBalances = async (userId: string) => {
      const u = await store.userGetById({ id: userId });
      const entries = await store.ledgerList({ userId, limit: 10_000 });
      assert.equal(entries.reduce((s, e) => s + e.amount, 0), u?.credits, 'the ledger sums to the balance');
    };

    it('deletes finished jobs older than the age of their status, and keeps the rest', async () => {
      const u = await user();
      const now = T0 + 200 * DAY;
      const oldCompleted = await finished(u.id, 'completed', now - 40 * DAY);
      const youngCompleted = await finished(u.id, 'completed', now - 20 * DAY);
      const oldFailed = await finished(u.id, 'failed', now - 100 * DAY);
      const youngFailed = await finished(u.id, 'failed', now - 40 * DAY);
      const cancelled = await finished(u.id, 'cancelled', now - 150 * DAY);
      const r = await store.retentionDeleteJobs({ finishedBefore: { completed: now - 30 * DAY, failed: now - 90 * DAY }, limit: 100 });
      assert.deepEqual(new Set(r.jobIds), new Set([oldCompleted.id, oldFailed.id]));
      assert.deepEqual(await Promise.all([oldCompleted, oldFailed].map(exists)), [false, false]);
      assert.deepEqual(await Promise.all([youngCompleted, youngFailed, cancelled].map(exists)), [true, true, true], 'younger jobs, and a status with no age, are kept');
      const again = await store.retentionDeleteJobs({ finishedBefore: { completed: now - 30 * DAY, failed: now - 90 * DAY }, limit: 100 });
      assert.deepEqual(again.jobIds, [], 'a second pass finds nothing more');
    });

    it('never deletes a pending or processing job, however old', async () => {
      const u = await user();
      const pending = await create(u.id, T0);
      const processing = await create(u.id, T0 + 1);
      const [claimed] = await store.jobClaim({ owner: 'exec', limit: 1, leaseMs: 60_000, now: T0 + 2, maxAttempts: 3 });
      assert.equal(claimed?.id, pending.id);
      const far = T0 + 10_000 * DAY;
      const r = await store.retentionDeleteJobs({ finishedBefore: { completed: far, failed: far, cancelled: far }, limit: 100 });
      assert.deepEqual(r.jobIds, []);
      assert.deepEqual(await Promise.all([pending, processing].map(exists)), [true, true]);
    });

    it('takes at most `limit` jobs per batch, oldest first within a status, until none is left', async () => {
      const u = await user();
      const jobs: JobRecord[] = [];
      for (let i = 0; i < 7; i++) jobs.push(await finished(u.id, 'completed', T0 + i * 10_000_000));
      const p = { finishedBefore: { completed: T0 + 100 * DAY }, limit: 3 };
      const first = await store.retentionDeleteJobs(p);
      assert.deepEqual(first.jobIds, jobs.slice(0, 3).map((j) => j.id));
      const second = await store.retentionDeleteJobs(p);
      assert.deepEqual(second.jobIds, jobs.slice(3, 6).map((j) => j.id));
      const third = await store.retentionDeleteJobs(p);
      assert.deepEqual(third.jobIds, [jobs[6]!.id]);
      assert.deepEqual((await store.retentionDeleteJobs(p)).jobIds, []);
      const limitAcross = await (async () => {
        for (let i = 0; i < 3; i++) await finished(u.id, 'failed', T0 + i * 10_000_000);
        for (let i = 0; i < 3; i++) await finished(u.id, 'cancelled', T0 + i * 10_000_000);
        return store.retentionDeleteJobs({ finishedBefore: { failed: T0 + 100 * DAY, cancelled: T0 + 100 * DAY }, limit: 4 });
      })();
      assert.equal(limitAcross.jobIds.length, 4, 'the limit holds across statuses');
    });

    it('keeps every ledger amount: the balance still equals the sum of the entries, and only the job reference goes', async () => {
      const u = await user(1_000);
      const done = await finished(u.id, 'completed', T0 + DAY);
      const failed = await finished(u.id, 'failed', T0 + DAY);
      const cancelled = await finished(u.id, 'cancelled', T0 + DAY);
      const kept = await finished(u.id, 'completed', T0 + 50 * DAY);
      await store.userGrantCredits({ userId: u.id, amount: 5, reason: 'top-up', now: T0 + 2 * DAY });
      const before = await store.ledgerList({ userId: u.id, limit: 100 });
      const usageBefore = await store.accountUsage({ userId: u.id, since: T0 - DAY, now: T0 + 60 * DAY });
      const balance = (await store.userGetById({ id: u.id }))!.credits;
      assert.equal(balance, 1_000 - 40 + 10 + 4 + 5, 'charges of 10 each, a failure refunded in full, a cancellation refunded 4, a grant');

      const r = await store.retentionDeleteJobs({ finishedBefore: { completed: T0 + 10 * DAY, failed: T0 + 10 * DAY, cancelled: T0 + 10 * DAY }, limit: 100 });
      assert.deepEqual(new Set(r.jobIds), new Set([done.id, failed.id, cancelled.id]));
      assert.equal(r.ledgerUnlinked, 5, 'three charges and two refunds lose their job reference');

      const after = await store.ledgerList({ userId: u.id, limit: 100 });
      assert.equal((await store.userGetById({ id: u.id }))!.credits, balance, 'the balance does not move');
      assert.deepEqual(after.map((e) => [e.id, e.kind, e.amount, e.balanceAfter, e.createdAt]), before.map((e) => [e.id, e.kind, e.amount, e.balanceAfter, e.createdAt]));
      const deleted = new Set(r.jobIds);
      for (const [i, e] of after.entries()) {
        assert.equal(e.jobId, before[i]!.jobId !== null && deleted.has(before[i]!.jobId!) ? null : before[i]!.jobId);
      }
      assert.deepEqual((await store.ledgerList({ userId: u.id, limit: 10, jobId: kept.id })).map((e) => e.amount), [-10], 'a kept job keeps its reference');
      assert.deepEqual(await store.ledgerList({ userId: u.id, limit: 10, jobId: done.id }), []);
      await assertLedgerBalances(u.id);
      const usageAfter = await store.accountUsage({ userId: u.id, since: T0 - DAY, now: T0 + 60 * DAY });
      assert.equal(usageAfter.creditsUsed, usageBefore.creditsUsed, 'credits used come from the ledger and stay exact');
      assert.equal(usageAfter.totalJobs, usageBefore.totalJobs - 3, 'job counts count the jobs kept');
    });

    it('deletes the jobs\' webhook deliveries with their attempts, log lines and idempotency records', async () => {
      const u = await user();
      const hooked = await finished(u.id, 'completed', T0 + DAY, { webhookUrl: 'https://example.com/hook', idempotencyKey: 'k-1', logs: ['one', 'two'] });
      const [delivery] = await store.webhookClaimDue({ owner: 'disp', now: T0 + DAY + 1, limit: 10, leaseMs: 60_000 });
      assert.equal(delivery?.jobId, hooked.id);
      const attempt = (n: number, statusCode: number) => ({ n, at: T0 + DAY + n, statusCode, error: null, durationMs: 5 });
      assert.ok(await store.webhookRecordAttempt({ id: delivery.id, owner: 'disp', attempt: attempt(1, 200), result: 'delivered', nextAttemptAt: T0 + DAY + 1, payload: '{}' }));
      assert.equal((await store.jobLogList({ id: hooked.id, limit: 10 })).length, 2);

      const r = await store.retentionDeleteJobs({ finishedBefore: { completed: T0 + 40 * DAY }, limit: 10 });
      assert.deepEqual(r, { jobIds: [hooked.id], jobLogs: 2, webhookDeliveries: 1, webhookAttempts: 1, idempotencyKeys: 1, ledgerUnlinked: 1 });
      assert.deepEqual(await store.webhookListByJob({ jobId: hooked.id }), []);
      assert.deepEqual(await store.jobLogList({ id: hooked.id, limit: 10 }), []);
      assert.equal(await store.webhookOldestPendingAt(), null);
      // The key makes a new job now (its record went with the job; it was past its 24 hours anyway).
      const again = await create(u.id, T0 + 41 * DAY, { idempotencyKey: 'k-1' });
      assert.notEqual(again.id, hooked.id);
    });

    it('keeps a job whose webhook delivery is still pending until the delivery ends', async () => {
      const u = await user();
      const job = await finished(u.id, 'failed', T0 + DAY, { webhookUrl: 'https://example.com/hook' });
      const p = { finishedBefore: { failed: T0 + 40 * DAY }, limit: 10 };
      assert.deepEqual((await store.retentionDeleteJobs(p)).jobIds, [], 'the delivery is still owed');
      assert.ok(await exists(job));
      const [delivery] = await store.webhookClaimDue({ owner: 'disp', now: T0 + DAY + 1, limit: 10, leaseMs: 60_000 });
      assert.ok(delivery);
      assert.ok(await store.webhookRecordAttempt({ id: delivery.id, owner: 'disp', attempt: { n: 1, at: T0 + DAY + 2, statusCode: 500, error: null, durationMs: 3 }, result: 'failed', nextAttemptAt: T0 + DAY + 2, payload: '{}' }));
      assert.deepEqual(await drain(p), [job.id], 'given up, it no longer holds the job');
    });
  });
}
