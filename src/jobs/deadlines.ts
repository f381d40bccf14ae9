import type { JobRecord, Store } from '../store/store.js';
import type { JobEvents } from './events.js';

/**
 * The cancellation refund policy: a pending job gets its whole charge back, a processing one
 * `percent` of it (the deployment's GENJOBS_CANCEL_REFUND_PERCENT), rounded down.
 */
export function cancelRefund(percent: number): (job: JobRecord) => number {
  return (job) => (job.status === 'pending' ? job.creditsCharged : Math.floor((job.creditsCharged * percent) / 100));
}

/**
 * Cancels every unfinished job whose Cancel-After deadline has passed, refunding each per the
 * cancellation policy, and tells the listeners, so the executor running one stops its provider.
 * Safe to run from several processes at once: the store moves each job once.
 */
export async function cancelDueJobs(deps: { store: Store; events: JobEvents }, refundFor: (job: JobRecord) => number, now = Date.now()): Promise<JobRecord[]> {
  const cancelled: JobRecord[] = [];
  for (const due of await deps.store.jobListPastDeadline({ now, limit: 500 })) {
    const r = await deps.store.jobCancel({ id: due.id, userId: due.userId, now, refundFor });
    if (!r?.changed) continue;
    deps.events.changed(r.job);
    cancelled.push(r.job);
  }
  return cancelled;
}
