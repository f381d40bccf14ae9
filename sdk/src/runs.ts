import type { CallOptions, Transport } from './http.js';
import type { Jobs, WaitOptions } from './jobs.js';
import type { Job, RunAppBody, RunModelBody, RunResult } from './types.js';

export interface RunOptions extends CallOptions {
  /** Wait until the job ends before resolving (`true`, or how to wait). (Default: false: resolve once the run is accepted) */
  wait?: boolean | WaitOptions;
  /** Called when the job ends: an http(s) URL. */
  webhookUrl?: string;
  /**
   * Makes the run safe to send again: the same key within 24 hours returns the first run's job and
   * charges nothing. A random one is made for each call unless it is `null`; only runs with a key
   * are retried after a network failure or a 5xx.
   */
  idempotencyKey?: string | null;
  /** Cancel the job if it has not ended by then: seconds, or a duration such as `"10m"` or `"1h30m"`. */
  cancelAfter?: number | string;
}

/** Sends a run (model, app or retry) and, when asked, waits for its job to end. */
export async function runRequest<T extends RunResult>(http: Transport, jobs: Jobs, path: string, body: RunModelBody | RunAppBody | undefined, options: RunOptions): Promise<T> {
  const { wait, webhookUrl, idempotencyKey, cancelAfter, ...call } = options;
  const key = idempotencyKey === undefined ? randomKey() : idempotencyKey;
  const headers: Record<string, string> = { ...call.headers };
  if (key !== null) headers['idempotency-key'] = key;
  if (cancelAfter !== undefined) headers['cancel-after'] = String(cancelAfter);
  const payload: RunModelBody | RunAppBody | undefined = body && webhookUrl !== undefined ? { ...body, webhook_url: webhookUrl } : body;
  const res = await http.json<T>({ method: 'POST', path, body: payload, repeatable: key !== null }, { ...call, headers });
  const accepted = res.data;
  if (!wait || accepted.status === 'completed' || accepted.status === 'failed' || accepted.status === 'cancelled') return accepted;
  const waitOptions: WaitOptions = wait === true ? { signal: call.signal } : { signal: call.signal, ...wait };
  const done = await jobs.wait(accepted.id, waitOptions);
  return asRunResult(done, accepted);
}

/** A job read after its run, shaped like the run's answer (`model` or `app_name`, and `output`). */
function asRunResult<T extends RunResult>(job: Job, accepted: T): T {
  return { ...accepted, ...job, output: job.output_data };
}

/** A random UUID: Web Crypto's where it is offered (secure contexts, Node), else one from random bytes. */
export function randomKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
