import type { JobRecord, Store } from '../store/store.js';
import type { JobEvents } from './events.js';
import { cancelAndAnnounce } from './cancel-job.js';


/**
 * Cancels every unfinished job whose Cancel-After deadline has passed, refunding each per the
 * cancellation policy, and tells the listeners, so the executor running one stops its provider.
 * Safe to run from several processes at once: the store moves each job once.
 */
export async function cancelDueJobs(deps: { store: Store; events: JobEvents }, refundFor: (job: JobRecord) => number, now = Date.now()): Promise<JobRecord[]> {
  const cancelled: JobRecord[] = [];
  for (const due of await deps.store.jobListPastDeadline({ now, limit: 500 })) {
    const r = await cancelAndAnnounce(deps, due, refundFor, now);
    if (r?.changed) cancelled.push(r.job);
  }
  return cancelled;
}
