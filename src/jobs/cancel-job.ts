import { apiError } from '../errors/api-error.js';
import type { JobRecord, UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';

/**
 * POST /jobs/:id/cancel. A pending job is refunded in full; a processing one per the
 * deployment's policy, and the executor running it is told to stop its provider.
 */
export async function cancelJob(deps: JobsDeps, user: UserRecord, id: string, now = Date.now()): Promise<JobRecord> {
  const result = await deps.store.jobCancel({
    id, userId: user.id, now,
    refundFor: (job) => (job.status === 'pending' ? job.creditsCharged : Math.floor((job.creditsCharged * deps.cancelRefundPercent) / 100)),
  });
  if (!result) throw apiError('job_not_found');
  if (!result.changed) throw apiError('job_not_cancellable', { status: result.job.status });
  deps.events.changed(result.job);
  return result.job;
}
