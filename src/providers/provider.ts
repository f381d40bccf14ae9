import type { ModelDefinition } from '../catalog/model.js';
import type { FileStore } from '../files/file-store.js';

/** What a provider gets for one run. */
export interface RunContext {
  jobId: string;
  model: ModelDefinition;
  /** The run's input, checked against the model's settings, defaults filled in. */
  input: Record<string, unknown>;
  /** Aborted when the job is cancelled, times out, loses its lease or the executor shuts down. */
  signal: AbortSignal;
  files: FileStore;
}

/**
 * Produces a model's output. `run` resolves to the job's `output_data` (such as
 * `{ outputImage: url }`) or throws an Error whose message becomes the job's `error_message`.
 * It must stop its work when `signal` aborts.
 */
export interface Provider {
  run(ctx: RunContext): Promise<Record<string, unknown>>;
}

/** An error meant for the job's owner: its message is shown as the job's `error_message` as is. */
export class ProviderError extends Error {
  override name = 'ProviderError';
}
