import { ERROR_CODES, type ErrorCode } from './codes.js';

/** The one error class genjobs throws for an answer to the client: status, stable code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  /** Extra response headers, such as `Retry-After`. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.headers = opts.headers ?? {};
  }

  toBody(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

/** Builds the error for `code`, filling the `{placeholders}` of its message from `values`. */
export function apiError(code: ErrorCode, values: Record<string, string | number> = {}, opts?: { cause?: unknown; headers?: Record<string, string> }): ApiError {
  const message = ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
  return new ApiError(code, message, opts);
}

/** A 400 whose message names the field: `invalid(\"limit\", \"must be an integer from 1 to 100\")`. */
export function invalid(field: string, problem: string): ApiError {
  return apiError('invalid_parameter', { detail: `${field}: ${problem}` });
}
