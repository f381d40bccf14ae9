import type { ModelDefinition, ProviderRef } from '../../catalog/model.js';
import { outputField } from '../../catalog/model.js';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { callJson, upstreamDetail, UpstreamError } from '../http/client.js';
import { httpOptions, mapInput, outputOrigins, ProviderConfigError, token, type HttpProviderOptions } from '../http/options.js';
import { copyOutputs, markUpstream } from '../http/outputs.js';
import { createDetached, pause, redact } from '../http/lifecycle.js';

/**
 * Replicate's predictions API (https://replicate.com/docs/reference/http): create a prediction,
 * let short ones finish inside the create call (`Prefer: wait`), poll the rest until they end,
 * cancel upstream when the job is stopped. See docs/providers/replicate.md.
 */

const SERVICE = 'Replicate';
const DEFAULTS = { baseUrl: 'https://api.replicate.com/v1', tokenEnv: 'REPLICATE_API_TOKEN' };
/** `aborted`: its Cancel-After deadline passed before it started. */
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'aborted']);
/** Longest wait for the cancel call made when a job stops. */
const CANCEL_TIMEOUT_MS = 5_000;
/** The sync wait stays this far below the request timeout, so the answer comes before we give up on it. */
const WAIT_MARGIN_S = 5;
const OWNER_NAME = /^[\w.-]+\/[\w.-]+$/;

interface Prediction {
  id: string;
  status: string;
  output?: unknown;
  error?: unknown;
  logs?: unknown;
}

interface Target {
  /** Path under the base URL of the create call. */
  path: string;
  /** The version field of the create body, when the endpoint takes one. */
  version: string | null;
}

export interface ReplicateOptions extends HttpProviderOptions {
  target: Target;
  /** Seconds the create call may hold the answer (`Prefer: wait=n`); 0: no sync wait. */
  waitSeconds: number;
  /** Send `Cancel-After: <the model's timeout>` so Replicate ends the prediction too. */
  cancelAfter: boolean;
  /** A key of an object output to use as the output. */
  outputKey: string | null;
}

/** Reads the model's `provider` object; a bad one throws, which stops the start. */
export function replicateOptions(ref: ProviderRef, model: ModelDefinition): ReplicateOptions {
  const o = httpOptions(ref, model.id, DEFAULTS);
  const fail = (key: string, problem: string): never => {
    throw new ProviderConfigError(`Model ${model.id}: provider.${key} ${problem}`);
  };
  const given = (['model', 'version', 'deployment'] as const).filter((k) => ref[k] !== undefined);
  if (given.length !== 1) fail('model', 'is needed: give exactly one of "model" ("owner/name"), "version" (a version id) or "deployment" ("owner/name")');
  const which = given[0]!;
  const value = ref[which];
  if (typeof value !== 'string' || value.length === 0) return fail(which, 'must be a non-empty string');
  let target: Target;
  if (which === 'version') {
    target = { path: '/predictions', version: value };
  } else if (which === 'deployment') {
    if (!OWNER_NAME.test(value)) fail('deployment', `"${value}" must look like owner/name`);
    target = { path: `/deployments/${value}/predictions`, version: null };
  } else {
    // "owner/name:version" runs that version; "owner/name" runs the model's latest (official models).
    const [name, version, ...rest] = value.split(':');
    if (!name || !OWNER_NAME.test(name) || rest.length > 0 || version === '') fail('model', `"${value}" must look like owner/name or owner/name:version`);
    target = version ? { path: '/predictions', version } : { path: `/models/${name}/predictions`, version: null };
  }
  const maxWait = Math.max(0, Math.min(60, Math.floor(o.requestTimeoutMs / 1000) - WAIT_MARGIN_S));
  let waitSeconds = maxWait;
  if (ref.wait_seconds !== undefined) {
    const w = ref.wait_seconds;
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 60) fail('wait_seconds', 'must be a whole number from 0 to 60');
    if ((w as number) > maxWait) fail('wait_seconds', `must stay ${WAIT_MARGIN_S} s below request_timeout_ms (at most ${maxWait} here)`);
    waitSeconds = w as number;
  }
  if (ref.cancel_after !== undefined && typeof ref.cancel_after !== 'boolean') fail('cancel_after', 'must be true or false');
  if (ref.output_key !== undefined && (typeof ref.output_key !== 'string' || ref.output_key === '')) fail('output_key', 'must be a non-empty string');
  return { ...o, target, waitSeconds, cancelAfter: ref.cancel_after === true, outputKey: (ref.output_key as string | undefined) ?? null };
}

export function replicateProvider(ref: ProviderRef, model: ModelDefinition): Provider {
  const o = replicateOptions(ref, model);
  return {
    async run(ctx) {
      const secret = token(o, model.id);
      try {
        return await runPrediction(o, ctx, secret);
      } catch (err) {
        throw redact(err, secret);
      }
    },
  };
}

async function runPrediction(o: ReplicateOptions, ctx: RunContext, secret: string | null): Promise<Record<string, unknown>> {
  const { signal, model } = ctx;
  const auth: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {};
  const call = (method: 'GET' | 'POST', path: string, s: AbortSignal, extra: Record<string, string> = {}, body?: unknown) =>
    callJson({ method, url: `${o.baseUrl}${path}`, headers: { ...auth, ...extra }, body, signal: s, options: o, service: SERVICE });
  const cancel = (id: string) => cancelPrediction(o, auth, id);

  const input = mapInput(o, ctx.input);
  const headers: Record<string, string> = {};
  if (o.waitSeconds > 0) headers.prefer = `wait=${o.waitSeconds}`;
  if (o.cancelAfter) headers['cancel-after'] = `${Math.max(1, Math.ceil(model.timeoutMs / 1000))}s`;
  let prediction = await createDetached(
    signal,
    async (s) => prediction$(await call('POST', o.target.path, s, headers, o.target.version ? { version: o.target.version, input } : { input })),
    // Stopped while the create call was under way: what it created is cancelled, in the background.
    async (created) => { if (!TERMINAL.has(created.status)) await cancel(created.id); },
    o.requestTimeoutMs,
  );

  try {
    while (!TERMINAL.has(prediction.status)) {
      await pause(o.pollIntervalMs, signal);
      prediction = prediction$(await call('GET', `/predictions/${encodeURIComponent(prediction.id)}`, signal));
    }
  } catch (err) {
    // Stopped, or given up on (the service stopped answering): the prediction must not run on, billed.
    if (!TERMINAL.has(prediction.status)) await cancel(prediction.id);
    throw signal.aborted ? signal.reason : err;
  }

  if (prediction.status === 'failed') {
    const detail = upstreamDetail(prediction.error ?? null) || lastLogLine(prediction.logs) || 'no reason given';
    throw new UpstreamError(`${SERVICE} prediction ${prediction.id} failed: ${detail}`, null, { error: prediction.error ?? null });
  }
  if (prediction.status === 'canceled') throw new ProviderError(`${SERVICE} prediction ${prediction.id} was canceled upstream.`);
  if (prediction.status === 'aborted') throw new ProviderError(`${SERVICE} prediction ${prediction.id} was aborted before it started (its deadline passed).`);
  return mapOutput(o, ctx, prediction);
}

/** Checks the shape of a prediction answer. */
function prediction$(answer: { body: unknown }): Prediction {
  const b = answer.body as Partial<Prediction> | null;
  if (!b || typeof b !== 'object' || typeof b.id !== 'string' || b.id === '' || typeof b.status !== 'string') {
    throw new UpstreamError(`${SERVICE} answered without a prediction: ${upstreamDetail(answer.body).slice(0, 200)}`, null, answer.body);
  }
  return b as Prediction;
}

/** Best effort: a short call, no retries, never throws. */
async function cancelPrediction(o: ReplicateOptions, auth: Record<string, string>, id: string): Promise<void> {
  const timeout = Math.min(CANCEL_TIMEOUT_MS, o.requestTimeoutMs);
  await callJson({
    method: 'POST', url: `${o.baseUrl}/predictions/${encodeURIComponent(id)}/cancel`, headers: auth,
    signal: AbortSignal.timeout(timeout), options: { ...o, retries: 0, requestTimeoutMs: timeout }, service: SERVICE,
  }).catch(() => undefined);
}

const FILE_URL = /^(https?:\/\/|data:)\S+$/;

/** URL strings in an output value, in order: the value itself, an array's items, an object's values (two levels). */
function fileUrls(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return FILE_URL.test(value) ? [value] : [];
  if (depth >= 2 || value === null || typeof value !== 'object') return [];
  return (Array.isArray(value) ? value : Object.values(value)).flatMap((v) => fileUrls(v, depth + 1));
}

/** Files: the first URL in the output field, every one in `outputs` when there are several. Text: the tokens joined. */
async function mapOutput(o: ReplicateOptions, ctx: RunContext, prediction: Prediction): Promise<Record<string, unknown>> {
  const field = outputField(ctx.model.outputType);
  let output = prediction.output ?? null;
  if (o.outputKey !== null) {
    if (!output || typeof output !== 'object' || Array.isArray(output) || !(o.outputKey in output)) {
      throw new ProviderError(`${SERVICE} prediction ${prediction.id} has no "${o.outputKey}" in its output.`);
    }
    output = (output as Record<string, unknown>)[o.outputKey] ?? null;
  }
  const isText = typeof output === 'string' ? !FILE_URL.test(output)
    : Array.isArray(output) && output.length > 0 && output.every((t) => typeof t === 'string') && !output.every((t) => FILE_URL.test(t as string));
  let urls = isText ? [] : fileUrls(output);
  if (urls.length === 0) {
    if (ctx.model.outputType === 'text') {
      const text = output === null ? '' : typeof output === 'string' ? output
        : Array.isArray(output) && output.every((t) => typeof t === 'string') ? output.join('')
          : JSON.stringify(output);
      return { [field]: text };
    }
    throw new ProviderError(`${SERVICE} prediction ${prediction.id} succeeded without an output file: ${JSON.stringify(output)?.slice(0, 200)}`);
  }
  // Stored as markers: our copies, or the provider's own URLs when they are not copied.
  const files = o.copyOutputs
    ? (await copyOutputs(urls, { jobId: ctx.jobId, files: ctx.files, signal: ctx.signal, timeoutMs: o.requestTimeoutMs, ...outputOrigins(o) })) as unknown[]
    : markUpstream(urls) as unknown[];
  return files.length > 1 ? { [field]: files[0], outputs: files } : { [field]: files[0] };
}

function lastLogLine(logs: unknown): string {
  if (typeof logs !== 'string') return '';
  return logs.trim().split('\n').pop()?.slice(0, 300) ?? '';
}
