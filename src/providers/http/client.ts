import { Agent, request, errors as undiciErrors } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../provider.js';
import type { HttpProviderOptions } from './options.js';
import { retryAfterMs } from '../../http/retry-after.js';

/** An upstream service refused or failed; its own words are kept in the message. */
export class UpstreamError extends ProviderError {
  override name = 'UpstreamError';
  constructor(message: string, readonly status: number | null, readonly body: unknown) {
    super(message);
  }
}

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

const agents = new Map<number, Agent>();
/** One connection pool per connect timeout, shared by the adapters. */
function agentFor(connectTimeoutMs: number): Agent {
  let agent = agents.get(connectTimeoutMs);
  if (!agent) {
    agent = new Agent({ connect: { timeout: connectTimeoutMs } });
    agents.set(connectTimeoutMs, agent);
  }
  return agent;
}

/** The most useful words an error body has: `detail`, `error.message`, `error`, `message`, or the text. */
export function upstreamDetail(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 500);
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const err = b.error as Record<string, unknown> | string | undefined;
    const found = b.detail ?? (typeof err === 'object' && err ? err.message : err) ?? b.message ?? b.title;
    if (typeof found === 'string') return found.slice(0, 500);
    // Validation errors as fal (FastAPI) sends them: {detail: [{loc: ['body', 'prompt'], msg: 'field required'}]}.
    if (Array.isArray(found) && found.length > 0 && found.every((d) => typeof (d as { msg?: unknown } | null)?.msg === 'string')) {
      return found.map((d: { loc?: unknown; msg: string }) => {
        const loc = Array.isArray(d.loc) ? d.loc.filter((l) => l !== 'body').join('.') : '';
        return loc ? `${loc}: ${d.msg}` : d.msg;
      }).join('; ').slice(0, 500);
    }
    if (found !== undefined) return JSON.stringify(found).slice(0, 500);
    return JSON.stringify(body).slice(0, 500);
  }
  return '';
}

/** The credentials a call sends (`Authorization: Bearer x` gives both forms), longest first. */
function secretsOf(headers: Record<string, string> = {}): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!/auth|key|token|secret/i.test(name)) continue;
    for (const v of [value, value.replace(/^(bearer|token|key|basic)\s+/i, '')]) if (v.length >= 8) found.add(v);
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * Removes the call's credentials from what an upstream said: some services echo the key they
 * refused, and their words end up in a job's error_message and in the logs.
 */
function hideSecrets<T>(value: T, secrets: string[]): T {
  if (secrets.length === 0 || value === null || value === undefined) return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (!secrets.some((s) => text.includes(s))) return value;
  const hidden = secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
  return (typeof value === 'string' ? hidden : JSON.parse(hidden)) as T;
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  if (code && RETRYABLE_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err && isConnectionError(cause);
}

/** Connection failures after which the request certainly never reached the service. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function certainlyNotSent(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  if (code && NOT_SENT_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err && certainlyNotSent(cause);
}

/**
 * One JSON call to an upstream service, with the adapter's timeouts and retries: connection
 * errors, 5xx and 429 are retried with capped, jittered exponential backoff (a 429's Retry-After
 * is honoured, within the cap). Any other status >= 400 is an UpstreamError carrying the
 * service's own message. Aborting `signal` stops at once, waits included.
 *
 * A call that creates something (`idempotent: false`, the default for POST) is retried only
 * when the service surely did not act on it: a 429, or a connection that never opened. After a
 * 5xx, a timeout or a dropped connection it may have created a prediction that runs and is
 * billed, so a retry would risk a second one: the call fails instead.
 */
export async function callJson(p: {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal: AbortSignal;
  options: HttpProviderOptions;
  /** Names the service in messages. */
  service: string;
  /** Whether repeating the call is harmless. (Default: true except for POST) */
  idempotent?: boolean;
  /**
   * Whether a 429 or 5xx answer says retrying cannot help (an exhausted quota, not a busy
   * moment): such an answer fails the call at once, with the service's words. (Default: never)
   */
  final?: (answer: { status: number; body: unknown }) => boolean;
}): Promise<JsonAnswer> {
  const o = p.options;
  const idempotent = p.idempotent ?? p.method !== 'POST';
  const secrets = secretsOf(p.headers);
  for (let attempt = 0; ; attempt++) {
    let waitMs: number;
    let lastProblem: string;
    try {
      const res = await request(p.url, {
        method: p.method,
        headers: { accept: 'application/json', ...(p.body !== undefined ? { 'content-type': 'application/json' } : {}), ...p.headers },
        ...(p.body !== undefined ? { body: JSON.stringify(p.body) } : {}),
        dispatcher: agentFor(o.connectTimeoutMs),
        signal: AbortSignal.any([p.signal, AbortSignal.timeout(o.requestTimeoutMs)]),
        headersTimeout: o.requestTimeoutMs,
        bodyTimeout: o.requestTimeoutMs,
      });
      const text = await res.body.text();
      let body: unknown = text;
      try { body = text === '' ? null : JSON.parse(text); } catch { /* not JSON: keep the text */ }
      if (res.statusCode < 400) return { status: res.statusCode, headers: res.headers, body };
      body = hideSecrets(body, secrets);
      const detail = upstreamDetail(body);
      lastProblem = `${p.service} answered ${res.statusCode}${detail ? `: ${detail}` : ''}`;
      if (res.statusCode !== 429 && res.statusCode < 500) throw new UpstreamError(lastProblem, res.statusCode, body);
      if (p.final?.({ status: res.statusCode, body })) throw new UpstreamError(lastProblem, res.statusCode, body);
      if (res.statusCode !== 429 && !idempotent) throw new UpstreamError(lastProblem, res.statusCode, body);
      const hinted = res.statusCode === 429 ? retryAfterMs(res.headers['retry-after']) : null;
      waitMs = hinted ?? backoff(o, attempt);
    } catch (err) {
      if (p.signal.aborted) throw p.signal.reason;
      if (err instanceof UpstreamError) throw err;
      const timedOut = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError
        || (err as Error).name === 'TimeoutError';
      if (!timedOut && !isConnectionError(err)) throw err;
      lastProblem = timedOut
        ? `${p.service} did not answer within ${o.requestTimeoutMs} ms`
        : `cannot reach ${p.service}: ${hideSecrets((err as Error).message, secrets)}`;
      if (!idempotent && (timedOut || !certainlyNotSent(err))) {
        throw new UpstreamError(`${lastProblem} (not retried: it may have been acted on)`, null, null);
      }
      waitMs = backoff(o, attempt);
    }
    if (attempt >= o.retries) throw new UpstreamError(`${lastProblem} (after ${attempt + 1} attempts)`, null, null);
    try {
      await sleep(Math.min(waitMs, o.maxBackoffMs), undefined, { signal: p.signal });
    } catch (err) {
      // timers/promises rejects with its own AbortError; callers compare the abort's reason.
      throw p.signal.aborted ? p.signal.reason : err;
    }
  }
}

function backoff(o: HttpProviderOptions, attempt: number): number {
  const base = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}
