import { apiError } from '../errors/api-error.js';
import type { AppDefinition } from '../apps/definition.js';
import type { UserRecord } from '../store/store.js';
import type { AcceptedRun } from './accept.js';
import type { RunsDeps } from './deps.js';
import { runApp } from './run-app.js';
import { runModel } from './run-model.js';
import type { RunOptions } from './options.js';

/**
 * POST /jobs/:id/retry: runs a job of the account again as a new job, with the same model and
 * input (or app and inputs), webhook_url and priority, checked and charged like a new run (the model or
 * app may have changed since), linked to the original by `retry_of`. Another account's job is
 * not found.
 */
export async function retryJob(deps: RunsDeps, user: UserRecord, id: string, opts: RunOptions = {}, now = Date.now()): Promise<
  AcceptedRun & { finished: boolean; app?: AppDefinition }
> {
  const original = await deps.store.jobGetById({ id, userId: user.id });
  if (!original) throw apiError('job_not_found');
  const options: RunOptions = { ...opts, retryOf: original.id };
  if (original.runType === 'app') {
    const input = (original.inputData ?? {}) as { inputs?: unknown };
    const run = await runApp(deps, user, { app_id: original.appId, inputs: input.inputs, webhook_url: original.webhookUrl, priority: original.priority }, options, now);
    return { ...run, finished: false };
  }
  const input = (original.inputData ?? {}) as { input?: unknown };
  return runModel(deps, user, { model: original.modelId, input: input.input, webhook_url: original.webhookUrl, priority: original.priority }, options, now);
}
