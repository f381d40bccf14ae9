import { apiError, invalid } from '../errors/api-error.js';
import { isJobStatus, JOB_STATUSES, type JobListFilter, type JobRecord, type UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { waitForTerminal } from './events.js';

export type ListQuery = Record<string, unknown>;

function parseLimit(raw: unknown): number {
  if (raw === undefined) return 20;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw invalid('limit', 'must be a whole number from 1 to 100');
  return n;
}

function parseTime(raw: unknown, field: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) throw invalid(field, 'must be an ISO 8601 time such as 2026-03-26T12:30:00.000Z');
  return ms;
}

function parseString(raw: unknown, field: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw === '' || raw.length > 200) throw invalid(field, 'must be a non-empty string');
  return raw;
}

function parseFilter(q: ListQuery): JobListFilter {
  const filter: JobListFilter = {};
  if (q.status !== undefined) {
    if (!isJobStatus(q.status)) throw invalid('status', `must be one of ${JOB_STATUSES.join(', ')}`);
    filter.status = q.status;
  }
  if (q.run_type !== undefined) {
    if (q.run_type !== 'model' && q.run_type !== 'app') throw invalid('run_type', 'must be model or app');
    filter.runType = q.run_type;
  }
  const modelId = parseString(q.model_id, 'model_id');
  if (modelId !== undefined) filter.modelId = modelId;
  const appId = parseString(q.app_id, 'app_id');
  if (appId !== undefined) filter.appId = appId;
  const after = parseTime(q.created_after, 'created_after');
  if (after !== undefined) filter.createdAfter = after;
  const before = parseTime(q.created_before, 'created_before');
  if (before !== undefined) filter.createdBefore = before;
  return filter;
}

/** GET /jobs: the account's jobs, newest first, a page at a time, with the queue position of each pending one. */
export async function listJobs(deps: JobsDeps, user: UserRecord, query: ListQuery): Promise<{ jobs: JobRecord[]; hasMore: boolean; positions: Map<string, number> }> {
  const limit = parseLimit(query.limit);
  const filter = parseFilter(query);
  let startingAfter: { createdAt: number; id: string } | undefined;
  const cursor = parseString(query.starting_after, 'starting_after');
  if (cursor !== undefined) {
    const from = await deps.store.jobGetById({ id: cursor, userId: user.id });
    if (!from) throw invalid('starting_after', 'must be the id of one of your jobs');
    startingAfter = { createdAt: from.createdAt, id: from.id };
  }
  const rows = await deps.store.jobList({ ...filter, userId: user.id, limit: limit + 1, ...(startingAfter ? { startingAfter } : {}) });
  const jobs = rows.slice(0, limit);
  // Pending jobs are few on a page as a rule; their positions are asked at once (PostgreSQL counts them in one statement).
  const pending = jobs.filter((j) => j.status === 'pending');
  const counted = await Promise.all(pending.map((j) => deps.store.jobQueuePosition({ id: j.id, createdAt: j.createdAt })));
  return { jobs, hasMore: rows.length > limit, positions: new Map(pending.map((j, i) => [j.id, counted[i] as number])) };
}

/**
 * GET /jobs/:id. Another account's job is not found, so existence is never revealed. With
 * `waitMs` (Prefer: wait), the answer waits until the job is terminal or the time is up.
 */
export async function getJob(deps: JobsDeps, user: UserRecord, id: string, waitMs = 0): Promise<{ job: JobRecord; queuePosition?: number }> {
  const cached = deps.finalJobs?.get(id, user.id);
  if (cached) return { job: cached };
  let job = await deps.store.jobGetById({ id, userId: user.id });
  if (!job) throw apiError('job_not_found');
  if (waitMs > 0) job = await waitForTerminal(deps.store, deps.events, job, waitMs);
  deps.finalJobs?.remember(job);
  if (job.status !== 'pending') return { job };
  return { job, queuePosition: await deps.store.jobQueuePosition({ id: job.id, createdAt: job.createdAt }) };
}
