import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelDefinition, ProviderRef } from '../../catalog/model.js';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { callJson } from '../http/client.js';
import { httpOptions, mapInput, outputOrigins, ProviderConfigError, token, type HttpProviderOptions } from '../http/options.js';
import { copyOutputs, markUpstream } from '../http/outputs.js';
import { sealOutput } from '../../outputs/form.js';

/**
 * Runs a model or an app on another genjobs server, or on the hosted platform whose API genjobs
 * serves: create the job, poll it until it is terminal, forward a cancel when our run stops.
 * See docs/providers/upstream.md.
 */

/** The upstream job as its API shows it; only the fields read here. */
interface UpstreamJob {
  id: string;
  status: string;
  output_data?: unknown;
  output?: unknown;
  error_message?: unknown;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * The upstream holds a synchronous model's create call until the job ends, up to its sync window
 * (genjobs: GENJOBS_SYNC_WAIT_MS, 60 s by default); giving up at the same moment would retry the
 * call and start a second job. (Default: 90000 ms)
 */
const REQUEST_TIMEOUT_MS = 90_000;

/** Longest wait for the upstream's answer to a forwarded cancel: the run is over, this is a courtesy. (Default: 5000 ms) */
const CANCEL_TIMEOUT_MS = 5_000;

type Target = { kind: 'model'; model: string } | { kind: 'app'; appId: string };

export function upstreamProvider(ref: ProviderRef, model: ModelDefinition): Provider {
  const options = httpOptions(ref, model.id, { baseUrl: 'https://armox.ai/api/v1', tokenEnv: 'GENJOBS_UPSTREAM_KEY' });
  if (ref.request_timeout_ms === undefined) options.requestTimeoutMs = REQUEST_TIMEOUT_MS;
  const target = targetOf(ref, model.id);
  const host = new URL(options.baseUrl).host;
  const service = `the upstream service at ${host}`;

  return {
    async run(ctx) {
      const secret = token(options, model.id);
      const call = (method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal, o: HttpProviderOptions = options) => callJson({
        method, url: `${options.baseUrl}${path}`, body, signal, options: o, service,
        headers: secret ? { authorization: `Bearer ${secret}` } : {},
      });

      ctx.signal.throwIfAborted();
      const input = mapInput(options, ctx.input);
      // A stop that arrives while the job is being created must not orphan it: the answer names
      // the job to cancel, so the request gets a short grace before it is aborted in turn.
      const creating = withGrace(ctx.signal, CANCEL_TIMEOUT_MS);
      let job: UpstreamJob;
      try {
        const created = target.kind === 'model'
          ? await call('POST', '/models/run', { model: target.model, input }, creating.signal)
          : await call('POST', '/apps/run', { app_id: target.appId, inputs: input }, creating.signal);
        job = readJob(created.body, service);
      } catch (err) {
        throw ctx.signal.aborted ? ctx.signal.reason : err;
      } finally {
        creating.release();
      }

      // From here the upstream job exists: whatever ends our run early must end it there too.
      try {
        ctx.signal.throwIfAborted();
        while (!TERMINAL.has(job.status)) {
          await sleep(options.pollIntervalMs, undefined, { signal: ctx.signal });
          job = readJob((await call('GET', `/jobs/${encodeURIComponent(job.id)}`, undefined, ctx.signal)).body, service);
        }
      } catch (err) {
        if (!TERMINAL.has(job.status)) {
          await call('POST', `/jobs/${encodeURIComponent(job.id)}/cancel`, undefined, AbortSignal.timeout(CANCEL_TIMEOUT_MS), {
            ...options, retries: 1, requestTimeoutMs: Math.min(options.requestTimeoutMs, CANCEL_TIMEOUT_MS),
          }).catch(() => { /* best effort: the job may be over already, or the service unreachable */ });
        }
        throw ctx.signal.aborted ? ctx.signal.reason : err;
      }
      return finish(job, ctx, options, service);
    },
  };
}

/** A signal that aborts `graceMs` after `signal` does, with its reason; `release` drops the timer. */
function withGrace(signal: AbortSignal, graceMs: number): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => { timer = setTimeout(() => controller.abort(signal.reason), graceMs); };
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    release: () => { signal.removeEventListener('abort', onAbort); clearTimeout(timer); },
  };
}

/** `model` or `app_id`, exactly one. */
function targetOf(ref: ProviderRef, modelId: string): Target {
  const fail = (problem: string): never => { throw new ProviderConfigError(`Model ${modelId}: ${problem}`); };
  const { model, app_id: appId } = ref;
  if (model !== undefined && appId !== undefined) fail('provider.model and provider.app_id cannot both be set: a run is one or the other');
  if (model !== undefined) {
    return typeof model === 'string' && /^[\w.-]+\/[\w.-]+$/.test(model) ? { kind: 'model', model } : fail('provider.model must be an upstream model id such as "owner/name"');
  }
  if (appId !== undefined) {
    return typeof appId === 'string' && appId !== '' ? { kind: 'app', appId } : fail('provider.app_id must be the upstream app\'s id');
  }
  return fail('provider needs "model" (an upstream model id) or "app_id" (an upstream app id)');
}

function readJob(body: unknown, service: string): UpstreamJob {
  const job = body as Partial<UpstreamJob> | null;
  if (!job || typeof job !== 'object' || typeof job.id !== 'string' || job.id === '' || typeof job.status !== 'string') {
    throw new ProviderError(`${service} answered without a job (no id and status)`);
  }
  return job as UpstreamJob;
}

/** A terminal upstream job as our run's result: its output (files copied), or an error with its words. */
async function finish(job: UpstreamJob, ctx: RunContext, o: HttpProviderOptions, service: string): Promise<Record<string, unknown>> {
  if (job.status === 'failed') {
    const said = typeof job.error_message === 'string' && job.error_message !== '' ? job.error_message : null;
    throw new ProviderError(said ?? `${service} failed the job ${job.id} without a message`);
  }
  if (job.status === 'cancelled') {
    throw new ProviderError(`The upstream service cancelled the job (its job ${job.id}).`);
  }
  const output = job.output_data ?? job.output;
  if (!output || typeof output !== 'object' || Array.isArray(output)) {
    throw new ProviderError(`${service} completed the job ${job.id} without output data`);
  }
  // The service's data is sealed first, so nothing in it can pass for one of our markers.
  const sealed = sealOutput(output);
  if (!o.copyOutputs) return eachFile(sealed, async (url) => markUpstream(url)) as Promise<Record<string, unknown>>;
  const p = { jobId: ctx.jobId, files: ctx.files, signal: ctx.signal, timeoutMs: o.requestTimeoutMs, ...outputOrigins(o) };
  return eachFile(sealed, (url) => copyOutputs(url, p)) as Promise<Record<string, unknown>>;
}

/**
 * Puts `each(url)` (a copy's marker, or the URL marked as upstream) in place of every file URL in
 * an output, at any depth, keeping its shape: `{outputImage}` as well as an app's `{app_id,
 * app_name, node_outputs: {node: {outputImage}}}`. `outputText` is text, even when it reads like a
 * URL, and is left alone.
 */
async function eachFile(value: unknown, each: (url: string) => Promise<unknown>): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => eachFile(v, each)));
  if (value && typeof value === 'object') {
    const entries = await Promise.all(Object.entries(value).map(async ([key, v]) => [key, key === 'outputText' ? v : await eachFile(v, each)] as const));
    return Object.fromEntries(entries);
  }
  return typeof value === 'string' && /^(https?:|data:)/.test(value) ? each(value) : value;
}
