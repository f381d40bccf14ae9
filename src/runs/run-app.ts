import { apiError, invalid } from '../errors/api-error.js';
import { checkSetting } from '../catalog/validate-input.js';
import type { UserRecord } from '../store/store.js';
import { appCost, handleSetting, type AppDefinition } from '../apps/definition.js';
import { acceptRun, parseWebhookUrl, type AcceptedRun } from './accept.js';
import type { RunsDeps } from './deps.js';
import type { RunOptions } from './options.js';
import { parsePriority } from './priority.js';

export interface RunAppBody {
  app_id?: unknown;
  inputs?: unknown;
  webhook_url?: unknown;
  priority?: unknown;
}

const isMissing = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/** Checks a run's `inputs` against the app: every required one given, each of its type. */
function checkInputs(app: AppDefinition, deps: RunsDeps, raw: unknown): Record<string, unknown> {
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
 * POST /apps/run: find the app the account may run and check its inputs, then charge, create
 * and announce the job. The job keeps the app's definition as it is now: the run is charged by
 * it, so an edit of the app afterwards does not change what this job runs. Asynchronous: the
 * client polls, streams its events, or waits for the webhook; with `opts.waitMs` (Prefer: wait)
 * the answer holds until the job is terminal or the time is up.
 */
export async function runApp(deps: RunsDeps, user: UserRecord, body: RunAppBody, opts: RunOptions = {}, now = Date.now()): Promise<AcceptedRun & { app: AppDefinition }> {
  if (typeof body.app_id !== 'string' || body.app_id === '') throw invalid('app_id', 'is required: the id of an app from GET /api/v1/apps');
  const found = await deps.apps.visibleTo(body.app_id, user.id);
  if (!found) throw apiError('app_not_found');
  const app = found.definition;
  const inputs = checkInputs(app, deps, body.inputs);
  const priority = parsePriority(body.priority, user);
  const run = await acceptRun(deps, user, {
    runType: 'app', modelId: null, appId: app.id,
    inputData: { app_id: app.id, inputs }, runSpec: { app, inputs },
    webhookUrl: parseWebhookUrl(body.webhook_url, deps.webhookAllowPrivate), priority, cost: appCost(app, deps.catalog), waitMs: opts.waitMs ?? 0,
  }, opts, now);
  return { ...run, app };
}
