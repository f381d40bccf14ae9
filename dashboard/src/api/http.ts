/**
 * The one place the dashboard talks HTTP: JSON in and out, a bearer credential, and the API's
 * `{"error", "code"}` answers turned into ApiError. Everything else calls through user.ts or
 * admin.ts.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field the message names (`input.seed`, `amount`), when it names one. */
    readonly field: string | null,
  ) {
    super(message);
  }
}

/** A message of the API that starts with the field it is about: `input.seed: must be …`. */
const FIELD_PREFIX = /^([A-Za-z_][\w-]*(?:\.[\w-]+)*): /;

export function fieldOf(message: string): string | null {
  return FIELD_PREFIX.exec(message)?.[1] ?? null;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export async function requestJson<T>(path: string, token: string, opts: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.', null);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body ?? {}) as { error?: unknown; code?: unknown };
    const message = typeof err.error === 'string' ? err.error : `The server answered ${res.status} ${res.statusText}`.trim();
    const retry = res.headers.get('retry-after');
    const full = res.status === 429 && retry ? `${message}: try again in ${retry} s` : message;
    throw new ApiError(res.status, typeof err.code === 'string' ? err.code : `http_${res.status}`, full, fieldOf(message));
  }
  return body as T;
}
