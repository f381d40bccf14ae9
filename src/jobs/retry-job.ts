import { apiError } from '../errors/api-error.js';
import { runApp } from '../apps/run-app.js';
import type { AppDefinition } from '../apps/definition.js';
import type { JobRecord, UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { runModel } from './run-model.js';
import type { RunOptions } from './run-options.js';

/**
 * POST /jobs/:id/retry: runs a job of the account again as a new job, with the same model and
 * input (or app and inputs) and webhook_url, checked and charged like a new run (the model or
 * app may have changed since), linked to the original by `retry_of`. Another account's job is
 * not found.
 */
export async function retryJob(deps: JobsDeps, user: UserRecord, id: string, opts: RunOptions = {}, now = Date.now()): Promise<
  { job: JobRecord; finished: boolean; replayed: boolean; app?: AppDefinition }
> {
  const original = await deps.store.jobGetById({ id, userId: user.id });
  if (!original) throw apiError('job_not_found');
  const options: RunOptions = { ...opts, retryOf: original.id };
  if (original.runType === 'app') {
    const input = (original.inputData ?? {}) as { inputs?: unknown };
    const run = await runApp(deps, user, { app_id: original.appId, inputs: input.inputs, webhook_url: original.webhookUrl }, options, now);
    return { job: run.job, finished: false, replayed: run.replayed, app: run.app };
  }
  const input = (original.inputData ?? {}) as { input?: unknown };
  return runModel(deps, user, { model: original.modelId, input: input.input, webhook_url: original.webhookUrl }, options, now);
}
