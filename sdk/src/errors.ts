import type { Job } from './types.js';

/**
 * Every error the API answered with, or the failure to get an answer at all. `status` is the
 * HTTP status (null when no answer came), `code` the server's stable code (docs/errors.md),
 * `retryAfter` the seconds the server asked to wait (429 and 503), or null.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number | null;
  readonly code: string | null;
  readonly retryAfter: number | null;
  readonly headers: Headers | null;

  constructor(p: { message: string; status: number | null; code?: string | null; retryAfter?: number | null; headers?: Headers | null; cause?: unknown }) {
    super(p.message, p.cause === undefined ? undefined : { cause: p.cause });
    this.status = p.status;
    this.code = p.code ?? null;
    this.retryAfter = p.retryAfter ?? null;
    this.headers = p.headers ?? null;
  }
}

/** 400: the request was wrong; the message names the field. */
export class BadRequestError extends ApiError { override name = 'BadRequestError'; }
/** 401: no key, or a key that is unknown, revoked or expired. */
export class AuthenticationError extends ApiError { override name = 'AuthenticationError'; }
/** 402: the account has too few credits for the run; nothing was charged. */
export class InsufficientCreditsError extends ApiError { override name = 'InsufficientCreditsError'; }
/** 403: the key's account may not do this. */
export class PermissionDeniedError extends ApiError { override name = 'PermissionDeniedError'; }
/** 404: no such job, app or route (another account's objects are not found either). */
export class NotFoundError extends ApiError { override name = 'NotFoundError'; }
/** 409: the state refuses it, such as cancelling a job that has already ended. */
export class ConflictError extends ApiError { override name = 'ConflictError'; }
/** 429: over the key's requests per minute; `retryAfter` says when to try again. */
export class RateLimitError extends ApiError { override name = 'RateLimitError'; }
/** 5xx: the server failed or is unavailable. */
export class ServerError extends ApiError { override name = 'ServerError'; }
/** No answer: the server could not be reached or the connection broke. */
export class ConnectionError extends ApiError { override name = 'ConnectionError'; }
/** No answer within `timeoutMs`. */
export class TimeoutError extends ConnectionError { override name = 'TimeoutError'; }

/** `jobs.wait` gave up: the job had not ended within its `timeoutMs`. `job` is the last state seen. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(readonly job: Job, readonly timeoutMs: number) {
    super(`Job ${job.id} is still ${job.status} after ${timeoutMs} ms`);
  }
}

/** A webhook delivery whose signature or timestamp does not check out. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

const byStatus: Record<number, typeof ApiError> = {
  400: BadRequestError, 401: AuthenticationError, 402: InsufficientCreditsError, 403: PermissionDeniedError,
  404: NotFoundError, 409: ConflictError, 429: RateLimitError,
};

/** The error for an answer with `status`: the subclass of its status, ServerError for 5xx, else ApiError. */
export function errorFor(status: number, body: unknown, headers: Headers): ApiError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; code?: unknown };
  const message = typeof b.error === 'string' ? b.error : `HTTP ${status}`;
  const code = typeof b.code === 'string' ? b.code : null;
  const Class = byStatus[status] ?? (status >= 500 ? ServerError : ApiError);
  return new Class({ message, status, code, retryAfter: retryAfterSeconds(headers), headers });
}

/** `Retry-After` in seconds (a number of seconds or an HTTP date), or null. */
export function retryAfterSeconds(headers: Headers): number | null {
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return null;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return n;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}
