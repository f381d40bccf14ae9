import type { ModelDefinition, ProviderRef } from '../../catalog/model.js';
import { outputField } from '../../catalog/model.js';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { callJson, upstreamDetail, UpstreamError } from '../http/client.js';
import { httpOptions, mapInput, outputOrigins, ProviderConfigError, token, type HttpProviderOptions } from '../http/options.js';
import { copyOutputs, markUpstream } from '../http/outputs.js';
import { createDetached, pause, redact } from '../http/lifecycle.js';

/**
 * fal's queue API (https://docs.fal.ai/model-endpoints/queue): submit a request, poll its status
 * until COMPLETED, fetch the result, cancel upstream when the job is stopped.
 * See docs/providers/fal.md.
 */

const SERVICE = 'fal';
const DEFAULTS = { baseUrl: 'https://queue.fal.run', tokenEnv: 'FAL_KEY' };
/** Longest wait for the cancel call made when a job stops. */
const CANCEL_TIMEOUT_MS = 5_000;
/** `owner/app`, then an optional endpoint path such as `/schnell`. */
const MODEL_ID = /^[\w-][\w.-]*\/[\w-][\w.-]*(\/[\w-][\w.-]*)*$/;

/** Where the files of each output type are in a result, most likely first. */
const KEYS_BY_TYPE: Record<string, string[]> = {
  image: ['images', 'image'],
  video: ['video', 'videos'],
  audio: ['audio', 'audio_file', 'audio_url'],
  '3d': ['model_mesh', 'model_glb', 'mesh'],
};
const ANY_KEYS = ['images', 'image', 'video', 'videos', 'audio', 'audio_file', 'audio_url', 'model_mesh', 'url'];

export interface FalOptions extends HttpProviderOptions {
  model: string;
  /** A key of the result to take the output from, instead of looking for one. */
  outputKey: string | null;
}

interface Urls {
  status: string;
  response: string;
  cancel: string;
}

/** Reads the model's `provider` object; a bad one throws, which stops the start. */
export function falOptions(ref: ProviderRef, model: ModelDefinition): FalOptions {
  const o = httpOptions(ref, model.id, DEFAULTS);
  const fail = (key: string, problem: string): never => {
    throw new ProviderConfigError(`Model ${model.id}: provider.${key} ${problem}`);
  };
  const id = ref.model;
  if (typeof id !== 'string' || !MODEL_ID.test(id) || id.split('/').includes('..')) {
    fail('model', 'must name a fal endpoint such as "fal-ai/flux/schnell"');
  }
  if (ref.output_key !== undefined && (typeof ref.output_key !== 'string' || ref.output_key === '')) fail('output_key', 'must be a non-empty string');
  return { ...o, model: id as string, outputKey: (ref.output_key as string | undefined) ?? null };
}

export function falProvider(ref: ProviderRef, model: ModelDefinition): Provider {
  const o = falOptions(ref, model);
  return {
    async run(ctx) {
      const secret = token(o, model.id);
      try {
        return await runRequest(o, ctx, secret);
      } catch (err) {
        throw redact(err, secret);
      }
    },
  };
}

async function runRequest(o: FalOptions, ctx: RunContext, secret: string | null): Promise<Record<string, unknown>> {
  const { signal } = ctx;
  const auth: Record<string, string> = secret ? { authorization: `Key ${secret}` } : {};
  const call = (method: 'GET' | 'POST', url: string, s: AbortSignal, body?: unknown) =>
    callJson({ method, url, headers: auth, body, signal: s, options: o, service: SERVICE });

  const submitted = await createDetached(
    signal,
    async (s) => submission(o, (await call('POST', `${o.baseUrl}/${o.model}`, s, mapInput(o, ctx.input))).body),
    // Stopped while the submit call was under way: the request it queued is cancelled, in the background.
    (queued) => cancelRequest(o, auth, queued.urls.cancel),
    o.requestTimeoutMs,
  );
  const { id, urls } = submitted;

  let ended = false;
  try {
    for (;;) {
      const answer = (await call('GET', urls.status, signal)).body as Record<string, unknown> | null;
      const status = answer && typeof answer === 'object' ? answer.status : undefined;
      ended = status === 'COMPLETED' || status === 'FAILED' || status === 'ERROR' || status === 'CANCELED' || status === 'CANCELLED';
      if (typeof status !== 'string') throw new UpstreamError(`${SERVICE} answered a status call without a status: ${upstreamDetail(answer).slice(0, 200)}`, null, answer);
      if (status === 'COMPLETED') {
        if (answer!.error) throw new UpstreamError(`${SERVICE} request ${id} failed: ${upstreamDetail({ error: answer!.error })}`, null, answer);
        break;
      }
      if (status === 'FAILED' || status === 'ERROR') {
        throw new UpstreamError(`${SERVICE} request ${id} failed: ${upstreamDetail(answer) || 'no reason given'}`, null, answer);
      }
      if (status === 'CANCELED' || status === 'CANCELLED') throw new ProviderError(`${SERVICE} request ${id} was cancelled upstream.`);
      // IN_QUEUE, IN_PROGRESS (and anything new): not done yet.
      await pause(o.pollIntervalMs, signal);
    }
  } catch (err) {
    // Stopped, or given up on (the service stopped answering): the request must not run on, billed.
    if (!ended) await cancelRequest(o, auth, urls.cancel);
    throw signal.aborted ? signal.reason : err;
  }

  let result: unknown;
  try {
    result = (await call('GET', urls.response, signal)).body;
  } catch (err) {
    // A failed request answers its result call with an error status and a `detail`.
    if (err instanceof UpstreamError && err.status !== null) {
      throw new UpstreamError(`${SERVICE} request ${id} failed: ${upstreamDetail(err.body) || `status ${err.status}`}`, err.status, err.body);
    }
    throw err;
  }
  return mapResult(o, ctx, id, result);
}

/** The submit answer, with the URLs to use: fal's own when they are on the base URL's origin, built ones otherwise. */
function submission(o: FalOptions, body: unknown): { id: string; urls: Urls } {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || typeof b.request_id !== 'string' || b.request_id === '') {
    throw new UpstreamError(`${SERVICE} answered the submit call without a request_id: ${upstreamDetail(body).slice(0, 200)}`, null, body);
  }
  const id = b.request_id;
  // Status, result and cancel live under the app (owner/app), without the endpoint's subpath.
  const app = `${o.baseUrl}/${o.model.split('/').slice(0, 2).join('/')}/requests/${encodeURIComponent(id)}`;
  const origin = new URL(o.baseUrl).origin;
  // The key goes with every call, so a URL on another host is not followed.
  const pick = (given: unknown, fallback: string): string => {
    if (typeof given !== 'string') return fallback;
    try {
      return new URL(given).origin === origin ? given : fallback;
    } catch {
      return fallback;
    }
  };
  return { id, urls: { status: pick(b.status_url, `${app}/status`), response: pick(b.response_url, app), cancel: pick(b.cancel_url, `${app}/cancel`) } };
}

/** Best effort: a short PUT, no retries, never throws. */
async function cancelRequest(o: FalOptions, auth: Record<string, string>, url: string): Promise<void> {
  const timeout = Math.min(CANCEL_TIMEOUT_MS, o.requestTimeoutMs);
  await callJson({
    method: 'PUT', url, headers: auth, signal: AbortSignal.timeout(timeout),
    options: { ...o, retries: 0, requestTimeoutMs: timeout }, service: SERVICE,
  }).catch(() => undefined);
}

const FILE_URL = /^(https?:\/\/|data:)\S+$/;

/** File URLs of one result value: a URL, a file object `{url}`, or an array of either. */
function fileUrls(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return FILE_URL.test(value) ? [value] : [];
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return depth === 0 ? value.flatMap((v) => fileUrls(v, 1)) : [];
  const url = (value as Record<string, unknown>).url;
  return typeof url === 'string' && FILE_URL.test(url) ? [url] : [];
}

/** The first file in the output field (every one in `outputs` when there are several); text for text models. */
async function mapResult(o: FalOptions, ctx: RunContext, id: string, result: unknown): Promise<Record<string, unknown>> {
  const field = outputField(ctx.model.outputType);
  if (!result || typeof result !== 'object' || Array.isArray(result)) {
    throw new UpstreamError(`${SERVICE} request ${id} returned no result object: ${upstreamDetail(result).slice(0, 200)}`, null, result);
  }
  const r = result as Record<string, unknown>;
  let urls: string[] = [];
  if (o.outputKey !== null) {
    if (!(o.outputKey in r)) throw new ProviderError(`${SERVICE} request ${id} has no "${o.outputKey}" in its result.`);
    const v = r[o.outputKey];
    if (ctx.model.outputType === 'text' && typeof v === 'string') return { [field]: v };
    urls = fileUrls(v);
  } else {
    if (ctx.model.outputType === 'text') {
      const text = r.output ?? r.text;
      if (typeof text === 'string') return { [field]: text };
    }
    const keys = [...(KEYS_BY_TYPE[ctx.model.outputType] ?? []), ...ANY_KEYS, ...Object.keys(r)];
    for (const key of keys) {
      urls = fileUrls(r[key]);
      if (urls.length > 0) break;
    }
  }
  if (urls.length === 0) {
    throw new ProviderError(`${SERVICE} request ${id} completed without an output file: ${JSON.stringify(result).slice(0, 200)}`);
  }
  // Stored as markers: our copies, or the provider's own URLs when they are not copied.
  const files = o.copyOutputs
    ? (await copyOutputs(urls, { jobId: ctx.jobId, files: ctx.files, signal: ctx.signal, timeoutMs: o.requestTimeoutMs, ...outputOrigins(o) })) as unknown[]
    : markUpstream(urls) as unknown[];
  return files.length > 1 ? { [field]: files[0], outputs: files } : { [field]: files[0] };
}
