import { apiError, invalid } from '../errors/api-error.js';
import { checkSetting } from '../catalog/validate-input.js';
import { newId } from '../ids.js';
import type { JobsDeps } from '../jobs/deps.js';
import { parseWebhookUrl } from '../jobs/run-model.js';
import { waitForTerminal } from '../jobs/events.js';
import type { RunOptions } from '../jobs/run-options.js';
import type { JobRecord, UserRecord } from '../store/store.js';
import { appCost, handleSetting, type AppDefinition } from './definition.js';

export interface RunAppBody {
  app_id?: unknown;
  inputs?: unknown;
  webhook_url?: unknown;
}

const isMissing = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/** Checks a run's `inputs` against the app: every required one given, each of its type. */
function checkInputs(app: AppDefinition, deps: JobsDeps, raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('inputs', 'must be an object keyed by the app\'s input ids');
  const given = raw as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!app.inputs.some((i) => i.id === key)) {
      throw invalid(`inputs.${key}`, `is not an input of ${app.name} (its inputs: ${app.inputs.map((i) => i.id).join(', ') || 'none'})`);
    }
  }
  const missing = app.inputs.filter((i) => i.required && isMissing(given[i.id]));
  if (missing.length > 0) throw apiError('missing_inputs', { labels: missing.map((i) => i.label).join(', ') });
  const inputs: Record<string, unknown> = {};
  for (const input of app.inputs) {
    const value = given[input.id];
    if (isMissing(value)) continue;
    const [nodeId, key] = input.targetHandle.split(':') as [string, string];
    const model = deps.catalog.get(app.nodes.find((n) => n.id === nodeId)!.model)!;
    const setting = handleSetting(model, key)!;
    if (input.allowMultiple && !Array.isArray(value)) throw invalid(`inputs.${input.id}`, 'must be an array (this input allows several values)');
    if (!input.allowMultiple && Array.isArray(value)) throw invalid(`inputs.${input.id}`, 'must be a single value, not an array');
    checkSetting(setting, value, `inputs.${input.id}`);
    inputs[input.id] = value;
  }
  return inputs;
}

/**
 * POST /apps/run: find the app the account may run, check its inputs, then charge and create
 * the job in one step. Asynchronous: the client polls, streams its events, or waits for the
 * webhook; with `opts.waitMs` (Prefer: wait) the answer holds until the job is terminal or the
 * time is up. With an Idempotency-Key already used for this request, the first run's job is
 * returned (`replayed`) and nothing is charged.
 */
export async function runApp(deps: JobsDeps, user: UserRecord, body: RunAppBody, opts: RunOptions = {}, now = Date.now()): Promise<{ job: JobRecord; app: AppDefinition; replayed: boolean }> {
  if (typeof body.app_id !== 'string' || body.app_id === '') throw invalid('app_id', 'is required: the id of an app from GET /api/v1/apps');
  const found = await deps.apps.visibleTo(body.app_id, user.id);
  if (!found) throw apiError('app_not_found');
  const app = found.definition;
  const inputs = checkInputs(app, deps, body.inputs);
  const webhookUrl = parseWebhookUrl(body.webhook_url);
  const cost = appCost(app, deps.catalog);
  const created = await deps.store.jobCreateCharged({
    id: newId(), userId: user.id, runType: 'app', modelId: null, appId: app.id,
    inputData: { app_id: app.id, inputs }, webhookUrl, cost, now,
    cancelAfterAt: opts.cancelAfterAt ?? null, retryOf: opts.retryOf ?? null,
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
  });
  if (!created.ok) {
    if (created.reason === 'insufficient') throw apiError('insufficient_credits', { required: cost, available: created.available });
    throw apiError('idempotency_conflict', { key: opts.idempotency?.key ?? '' });
  }
  if (!created.replayed) deps.events.created(created.job);
  const job = opts.waitMs ? await waitForTerminal(deps.store, deps.events, created.job, opts.waitMs) : created.job;
  return { job, app, replayed: created.replayed };
}
