import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  abandonedMessage, byQueueOrder, deliveryAfterAttempt, grantAllowed, LedgerReason, refundOnCancel, webhookEvent,
} from '../../src/store/rules.js';
import type { JobRecord } from '../../src/store/store.js';

/** A job record with only what the rules look at set to something meaningful. */
const jobWith = (p: Partial<JobRecord>): JobRecord => ({
  id: 'j', userId: 'u', runType: 'model', modelId: 'm/x', appId: null, status: 'pending', inputData: {}, outputData: null,
  errorMessage: null, creditsCharged: 0, creditsRefunded: 0, webhookUrl: null, webhookDelivered: false, createdAt: 0,
  startedAt: null, completedAt: null, cancelledAt: null, attempts: 0, leaseOwner: null, leaseToken: 0, leaseExpiresAt: null,
  progress: null, cancelAfterAt: null, retryOf: null, runSpec: null, priority: 'normal', ...p,
});

describe('store rules', () => {
  it('a cancellation refunds whole credits, within what is left of the charge', () => {
    const charged = jobWith({ creditsCharged: 50, creditsRefunded: 10 });
    assert.equal(refundOnCancel(charged, 25.7), 25);
    assert.equal(refundOnCancel(charged, 45), 40, 'never more than is left');
    assert.equal(refundOnCancel(charged, -3), 0, 'never below nothing');
    assert.equal(refundOnCancel(charged, Number.NaN), 0);
    assert.equal(refundOnCancel(charged, Number.POSITIVE_INFINITY), 40);
    assert.equal(refundOnCancel(jobWith({ creditsCharged: 0 }), 5), 0, 'a free run refunds nothing');
  });

  it('a grant may deduct down to zero, not below', () => {
    assert.equal(grantAllowed(10, -10), true);
    assert.equal(grantAllowed(10, -11), false);
    assert.equal(grantAllowed(0, 5), true);
  });

  it('an attempt\'s result decides the delivery\'s status and when it was delivered', () => {
    assert.deepEqual(deliveryAfterAttempt('delivered', 7), { status: 'delivered', deliveredAt: 7 });
    assert.deepEqual(deliveryAfterAttempt('retry', 7), { status: 'pending', deliveredAt: null });
    assert.deepEqual(deliveryAfterAttempt('failed', 7), { status: 'failed', deliveredAt: null });
  });

  it('orders the queue oldest first, ties by id', () => {
    const jobs = [jobWith({ id: 'b', createdAt: 2 }), jobWith({ id: 'c', createdAt: 1 }), jobWith({ id: 'a', createdAt: 2 })];
    assert.deepEqual([...jobs].sort(byQueueOrder).map((j) => j.id), ['c', 'a', 'b']);
  });

  it('names what the store writes by itself', () => {
    assert.equal(webhookEvent('completed'), 'job.completed');
    assert.equal(LedgerReason.charge({ modelId: null, appId: 'app_1' }), 'run of app_1');
    assert.equal(LedgerReason.charge({ modelId: 'm/x', appId: null }), 'run of m/x');
    assert.match(abandonedMessage(3), /abandoned.*3 attempts/);
  });
});
