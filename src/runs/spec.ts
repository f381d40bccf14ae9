import type { AppDefinition } from '../apps/definition.js';
import type { Catalog } from '../catalog/load.js';
import { resolveInput } from '../catalog/validate-input.js';
import type { JobRecord } from '../store/store.js';

/**
 * What a job runs, fixed when the run was accepted and charged, and kept with the job
 * (`JobRecord.runSpec`): a model run's input as checked, with the model's defaults filled in;
 * an app run's app definition as it was then, and its checked inputs. An edit of the app or a
 * change of a model's defaults after acceptance does not change what an accepted job runs.
 */
export type RunSpec = ModelRunSpec | AppRunSpec;

export interface ModelRunSpec {
  input: Record<string, unknown>;
}

export interface AppRunSpec {
  app: AppDefinition;
  inputs: Record<string, unknown>;
}

/**
 * The input a model job runs with. Jobs accepted before the spec was kept (`runSpec` null) have
 * their stored input checked again against the model as it is now.
 */
export function modelRunInput(job: JobRecord, catalog: Catalog): Record<string, unknown> | undefined {
  const spec = job.runSpec as ModelRunSpec | null;
  if (spec?.input) return spec.input;
  const model = job.modelId ? catalog.get(job.modelId) : undefined;
  return model ? resolveInput(model, (job.inputData as { input?: unknown } | null)?.input) : undefined;
}

/** The app definition and inputs an app job runs with, or null for a job accepted before specs were kept. */
export function appRunSpec(job: JobRecord): AppRunSpec | null {
  const spec = job.runSpec as AppRunSpec | null;
  return spec?.app ? spec : null;
}
