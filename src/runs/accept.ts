import { apiError, invalid } from '../errors/api-error.js';
import { waitForTerminal } from '../jobs/events.js';
import { newId } from '../ids.js';
import type { JobPriority, JobRecord, Millis, RunType, UserRecord } from '../store/store.js';
import type { RunsDeps } from './deps.js';
import type { RunOptions } from './options.js';
import { assertPublicLiteral, PrivateTargetError } from '../http/addresses.js';
import type { RunSpec } from './spec.js';

/** The setting that lets webhook targets be private or local addresses, named in refusals. */
const ALLOW_PRIVATE = 'GENJOBS_WEBHOOK_ALLOW_PRIVATE=true';

/**
 * Checks a webhook target's form, and, unless the operator allows private targets, that its
 * host is not a literal private or local address (such a run could never be told its result).
 * Names are checked again, after they resolve, each time the webhook is called.
 */
export function parseWebhookUrl(value: unknown, allowPrivate: boolean): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 2048) throw invalid('webhook_url', 'must be an http(s) URL of at most 2048 characters');
  let url: URL;
  try { url = new URL(value); } catch { throw invalid('webhook_url', 'must be an http(s) URL'); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('webhook_url', 'must be an http(s) URL');
  if (!allowPrivate) {
    try {
      assertPublicLiteral(url, ALLOW_PRIVATE);
    } catch (err) {
      if (err instanceof PrivateTargetError) throw invalid('webhook_url', `points at a private or local address, which this server does not call (the operator can set ${ALLOW_PRIVATE})`);
      throw err;
    }
  }
  return value;
}

/** A checked run, ready to be charged: what the job records and what it will run. */
export interface RunRequest {
  runType: RunType;
  modelId: string | null;
  appId: string | null;
  /** What the client asked for, as the job shows it (`input_data`). */
  inputData: unknown;
  /** What the job will run, fixed now. */
  runSpec: RunSpec;
  webhookUrl: string | null;
  /** Orders the job within its account's queue (checked against its max_priority: `parsePriority`). */
  priority: JobPriority;
  cost: number;
  /** How long the answer waits for a terminal status (0: not at all). */
  waitMs: number;
}

/** An accepted run: its job (terminal if the wait saw it finish), and, when asked for, the queue position of a pending one. */
export interface AcceptedRun {
  job: JobRecord;
  replayed: boolean;
  queuePosition?: number;
}

/**
 * The step every run shares (a model run, an app run, a retry): charge and create the job in
 * one store call, announce it to the executors, then wait (bounded) for its result, and count
 * the queue ahead of a job still pending when the answer shows it (`opts.queuePosition`). With an
 * Idempotency-Key already used for this request, the first run's job comes back (`replayed`)
 * and nothing is charged or announced.
 */
export async function acceptRun(deps: RunsDeps, user: UserRecord, run: RunRequest, opts: RunOptions, now: Millis): Promise<AcceptedRun> {
  const created = await deps.store.jobCreateCharged({
    id: newId(), userId: user.id, runType: run.runType, modelId: run.modelId, appId: run.appId,
    inputData: run.inputData, runSpec: run.runSpec, webhookUrl: run.webhookUrl, cost: run.cost, now,
    cancelAfterAt: opts.cancelAfterAt ?? null, retryOf: opts.retryOf ?? null, priority: run.priority,
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
  });
  if (!created.ok) {
    if (created.reason === 'insufficient') throw apiError('insufficient_credits', { required: run.cost, available: created.available });
    throw apiError('idempotency_conflict', { key: opts.idempotency?.key ?? '' });
  }
  if (!created.replayed) deps.events.created(created.job);
  const job = await waitForTerminal(deps.store, deps.events, created.job, run.waitMs);
  if (job.status !== 'pending' || !opts.queuePosition) return { job, replayed: created.replayed };
  return { job, replayed: created.replayed, queuePosition: await deps.store.jobQueuePosition({ id: job.id, createdAt: job.createdAt, newest: true }) };
}
