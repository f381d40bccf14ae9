import type { ModelDefinition } from '../catalog/model.js';
import type { FileStorage } from '../files/storage.js';

/** What a provider gets for one run. */
export interface RunContext {
  jobId: string;
  model: ModelDefinition;
  /** The run's input, checked against the model's settings, defaults filled in. */
  input: Record<string, unknown>;
  /** Aborted when the job is cancelled, times out, loses its lease or the executor shuts down. */
  signal: AbortSignal;
  /** Where the run's output files go; the output names each by its `$file` marker (src/outputs/form.ts). */
  files: FileStorage;
  /**
   * Links in `input` that stand for stored files (an app node's input made from an earlier
   * node's output), with their storage keys: built-in models read those files by key.
   */
  inputFiles?: ReadonlyMap<string, string>;
}

/**
 * Produces a model's output. `run` resolves to the job's `output_data` in its stored form (such
 * as `{ outputImage: {"$file": …} }`, see src/outputs/form.ts: files as markers, producers' own
 * data sealed) or throws an Error whose message becomes the job's `error_message`.
 * It must stop its work when `signal` aborts.
 */
export interface Provider {
  run(ctx: RunContext): Promise<Record<string, unknown>>;
}

/** An error meant for the job's owner: its message is shown as the job's `error_message` as is. */
export class ProviderError extends Error {
  override name = 'ProviderError';
}
