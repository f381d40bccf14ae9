import { apiError, invalid } from '../errors/api-error.js';
import type { JobListFilter, JobRecord, UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';

/**
 * The cancellation refund policy: a pending job gets its whole charge back, a processing one
 * `percent` of it (the deployment's GENJOBS_CANCEL_REFUND_PERCENT), rounded down.
 */
export function cancelRefund(percent: number): (job: JobRecord) => number {
  // In bigint: charge x percent can pass 2^53 (10^15 x 100), where a number would round.
  return (job) => (job.status === 'pending' ? job.creditsCharged : Number((BigInt(job.creditsCharged) * BigInt(percent)) / 100n));
}

/**
 * POST /jobs/:id/cancel. A pending job is refunded in full; a processing one per the
 * deployment's policy, and the executor running it is told to stop its provider.
 */
export async function cancelJob(deps: JobsDeps, user: UserRecord, id: string, now = Date.now()): Promise<JobRecord> {
  const result = await cancelAndAnnounce(deps, { id, userId: user.id }, cancelRefund(deps.cancelRefundPercent), now);
  if (!result) throw apiError('job_not_found');
  if (!result.changed) throw apiError('job_not_cancellable', { status: result.job.status });
  return result.job;
}

/**
 * Cancels one job and, when it moved, tells the listeners (the executor running it stops its
 * provider). Every cancel goes through here: single, bulk and deadline.
 */
export async function cancelAndAnnounce(deps: Pick<JobsDeps, 'store' | 'events'>, job: { id: string; userId: string }, refundFor: (job: JobRecord) => number, now: number) {
  const result = await deps.store.jobCancel({ id: job.id, userId: job.userId, now, refundFor });
  if (result?.changed) deps.events.changed(result.job);
  return result;
}

export interface BulkCancelBody {
  status?: unknown;
  model_id?: unknown;
  app_id?: unknown;
}

const BULK_FIELDS = ['status', 'model_id', 'app_id'];

/** The filter of a bulk cancel: unknown fields are refused, so a typo never widens it to every job. */
function parseBulkFilter(body: unknown): JobListFilter {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('body', 'must be a JSON object filter {status?, model_id?, app_id?}; {} cancels every pending and processing job');
  }
  const b = body as BulkCancelBody & Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!BULK_FIELDS.includes(key)) throw invalid(key, `is not a filter of a bulk cancel (filters: ${BULK_FIELDS.join(', ')})`);
  }
  const filter: JobListFilter = {};
  if (b.status !== undefined) {
    if (b.status !== 'pending' && b.status !== 'processing') throw invalid('status', 'must be pending or processing (only those can be cancelled)');
    filter.status = b.status;
  }
  for (const [field, key] of [['model_id', 'modelId'], ['app_id', 'appId']] as const) {
    const v = b[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '' || v.length > 200) throw invalid(field, 'must be a non-empty string');
    filter[key] = v;
  }
  return filter;
}

/**
 * POST /jobs/cancel: cancels every pending or processing job of the account that matches the
 * filter, each refunded per the policy and announced as a single cancel is. Jobs that finish
 * while this runs are left as they are and not counted.
 */
export async function cancelJobs(deps: JobsDeps, user: UserRecord, body: unknown, now = Date.now()): Promise<{ cancelled: JobRecord[] }> {
  const filter = parseBulkFilter(body);
  const targets: string[] = [];
  for (const status of filter.status ? [filter.status] : (['pending', 'processing'] as const)) {
    let startingAfter: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await deps.store.jobList({ ...filter, status, userId: user.id, limit: 100, ...(startingAfter ? { startingAfter } : {}) });
      targets.push(...page.map((j) => j.id));
      const last = page[page.length - 1];
      if (page.length < 100 || !last) break;
      startingAfter = { createdAt: last.createdAt, id: last.id };
    }
  }
  const refundFor = cancelRefund(deps.cancelRefundPercent);
  const cancelled: JobRecord[] = [];
  for (const id of new Set(targets)) {
    const result = await cancelAndAnnounce(deps, { id, userId: user.id }, refundFor, now);
    if (result?.changed) cancelled.push(result.job);
  }
  return { cancelled };
}
