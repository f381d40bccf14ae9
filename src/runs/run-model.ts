import { apiError, invalid } from '../errors/api-error.js';
import { resolveInput } from '../catalog/validate-input.js';
import type { UserRecord } from '../store/store.js';
import { isTerminal } from '../store/store.js';
import { acceptRun, parseWebhookUrl, type AcceptedRun } from './accept.js';
import type { RunsDeps } from './deps.js';
import type { RunOptions } from './options.js';
import { parsePriority } from './priority.js';

export interface RunModelBody {
  model?: unknown;
  input?: unknown;
  webhook_url?: unknown;
  priority?: unknown;
}

/**
 * POST /models/run: check the model and its input (resolved once, here: the job keeps it), then
 * charge, create, announce and, for a synchronous model, wait (bounded) for the result.
 * `finished` says whether the job is terminal. `opts.waitMs` (Prefer: wait) replaces the
 * synchronous window, for every model.
 */
export async function runModel(deps: RunsDeps, user: UserRecord, body: RunModelBody, opts: RunOptions = {}, now = Date.now()): Promise<AcceptedRun & { finished: boolean }> {
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model', 'is required: the id of a model, such as local/image');
  const model = deps.catalog.get(body.model);
  if (!model) throw apiError('unknown_model', { model: body.model });
  const input = resolveInput(model, body.input);
  const priority = parsePriority(body.priority, user);
  const run = await acceptRun(deps, user, {
    runType: 'model', modelId: model.id, appId: null,
    inputData: { input: body.input ?? {} }, runSpec: { input },
    webhookUrl: parseWebhookUrl(body.webhook_url, deps.webhookAllowPrivate), priority, cost: model.cost,
    waitMs: opts.waitMs ?? (model.sync ? deps.syncWaitMs : 0),
  }, opts, now);
  return { ...run, finished: isTerminal(run.job.status) };
}
