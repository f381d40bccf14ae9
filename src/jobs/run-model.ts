import { apiError, invalid } from '../errors/api-error.js';
import { resolveInput } from '../catalog/validate-input.js';
import { newId } from '../ids.js';
import { isTerminal, type JobRecord, type UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { waitForTerminal } from './events.js';
import type { RunOptions } from './run-options.js';

export interface RunModelBody {
  model?: unknown;
  input?: unknown;
  webhook_url?: unknown;
}

/** Checks a webhook target's form; where it may point is checked when it is called. */
export function parseWebhookUrl(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 2048) throw invalid('webhook_url', 'must be an http(s) URL of at most 2048 characters');
  let url: URL;
  try { url = new URL(value); } catch { throw invalid('webhook_url', 'must be an http(s) URL'); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('webhook_url', 'must be an http(s) URL');
  return value;
}

/**
 * POST /models/run: check the model and its input, charge and create the job in one step, then
 * for a synchronous model wait (bounded) for its result. `finished` says whether it is terminal.
 * With an Idempotency-Key already used for this request, the first run's job is returned
 * (`replayed`) and nothing is charged. `opts.waitMs` (Prefer: wait) replaces the synchronous
 * window, for every model.
 */
export async function runModel(deps: JobsDeps, user: UserRecord, body: RunModelBody, opts: RunOptions = {}, now = Date.now()): Promise<{ job: JobRecord; finished: boolean; replayed: boolean }> {
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model', 'is required: the id of a model, such as local/image');
  const model = deps.catalog.get(body.model);
  if (!model) throw apiError('unknown_model', { model: body.model });
  resolveInput(model, body.input);
  const webhookUrl = parseWebhookUrl(body.webhook_url);

  const created = await deps.store.jobCreateCharged({
    id: newId(), userId: user.id, runType: 'model', modelId: model.id, appId: null,
    inputData: { input: body.input ?? {} }, webhookUrl, cost: model.cost, now,
    cancelAfterAt: opts.cancelAfterAt ?? null, retryOf: opts.retryOf ?? null,
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
  });
  if (!created.ok) {
    if (created.reason === 'insufficient') throw apiError('insufficient_credits', { required: model.cost, available: created.available });
    throw apiError('idempotency_conflict', { key: opts.idempotency?.key ?? '' });
  }
  if (!created.replayed) deps.events.created(created.job);

  const waitMs = opts.waitMs ?? (model.sync ? deps.syncWaitMs : 0);
  const job = await waitForTerminal(deps.store, deps.events, created.job, waitMs);
  return { job, finished: isTerminal(job.status), replayed: created.replayed };
}
