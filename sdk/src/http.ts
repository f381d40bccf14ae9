import { ApiError, ConnectionError, TimeoutError, errorFor } from './errors.js';

/** What every call may override. */
export interface CallOptions {
  /** Time one attempt may take before it fails with TimeoutError. (Default: the client's timeoutMs) */
  timeoutMs?: number;
  /** Retries after a 429, a 5xx or a network failure. (Default: the client's maxRetries) */
  maxRetries?: number;
  /** Aborts the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  maxRetries: number;
  fetch: typeof fetch;
  /** A 429 asking to wait longer than this is not waited for: it is thrown at once. (Default: 60000 ms) */
  maxRetryAfterMs: number;
}

export interface Request {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * Whether the request may be sent again after a network failure or a 5xx (GETs, and runs with
   * an idempotency key). A 429 is always retried: the server refused it before doing anything.
   */
  repeatable: boolean;
  /** The time the server is asked to hold the answer (`Prefer: wait`), added to the attempt's timeout. */
  holdMs?: number;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  data: T;
}

/** The delay before retry number `attempt` (0-based): exponential from 500 ms, capped at 8 s, with jitter. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(8_000, 500 * 2 ** attempt);
  return Math.round(base * (0.75 + random() * 0.5));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sends requests to one genjobs server with one key: authentication, timeouts, retries, errors. */
export class Transport {
  constructor(readonly options: TransportOptions) {}

  url(path: string, query?: Request['query']): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.options.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** Sends `req`, retrying where that is safe, and parses the JSON answer; a non-2xx is thrown as ApiError. */
  async json<T>(req: Request, call: CallOptions = {}): Promise<Answer<T>> {
    const res = await this.send(req, call, 'application/json');
    const text = await res.text();
    const data = text === '' ? null : parse(text);
    return { status: res.status, headers: res.headers, data: data as T };
  }

  /** Sends `req` with the same rules but leaves the body unread (event streams); `signal` also ends the body. */
  stream(req: Request, call: CallOptions = {}): Promise<Response> {
    return this.send(req, call, 'text/event-stream', true);
  }

  private async send(req: Request, call: CallOptions, accept: string, keepOpen = false): Promise<Response> {
    const maxRetries = call.maxRetries ?? this.options.maxRetries;
    const timeoutMs = (call.timeoutMs ?? this.options.timeoutMs) + (req.holdMs ?? 0);
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, accept, ...call.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const url = this.url(req.path, req.query);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.attempt(url, { method: req.method, headers, body }, timeoutMs, call.signal, keepOpen);
      } catch (err) {
        if (call.signal?.aborted || !(err instanceof ConnectionError)) throw err;
        if (!req.repeatable || attempt >= maxRetries) throw err;
        await sleep(backoffMs(attempt), call.signal);
        continue;
      }
      if (res.ok) return res;
      const error = errorFor(res.status, await res.text().then(parse, () => null), res.headers);
      if (attempt >= maxRetries || !this.retryable(error, req)) throw error;
      const waitMs = error.retryAfter !== null ? error.retryAfter * 1000 : backoffMs(attempt);
      if (waitMs > this.options.maxRetryAfterMs) throw error;
      await sleep(waitMs, call.signal);
    }
  }

  private retryable(error: ApiError, req: Request): boolean {
    if (error.status === 429) return true;
    return req.repeatable && error.status !== null && error.status >= 500;
  }

  /** One fetch with its own timeout; a user abort rejects with the signal's reason. */
  private async attempt(url: string, init: RequestInit, timeoutMs: number, signal: AbortSignal | undefined, keepOpen: boolean): Promise<Response> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const release = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    try {
      const res = await this.options.fetch(url, { ...init, signal: controller.signal });
      clearTimeout(timer);
      // A stream stays tied to the caller's signal until its reader is done with it.
      if (!keepOpen || !res.ok) release();
      return res;
    } catch (err) {
      release();
      if (signal?.aborted) throw signal.reason;
      if (timedOut) throw new TimeoutError({ message: `No answer from ${url} within ${timeoutMs} ms`, status: null, cause: err });
      throw new ConnectionError({ message: `Could not reach ${url}: ${describe(err)}`, status: null, cause: err });
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A network failure's most telling words: fetch hides the reason (ECONNREFUSED, ...) in `cause`. */
function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
