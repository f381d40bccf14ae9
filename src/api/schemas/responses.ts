import { ERROR_CODES, type ErrorCode } from '../../errors/codes.js';
import { ref } from './components.js';
import { exampleMessage } from './examples.js';

/**
 * Building blocks of the route schemas: the headers genjobs reads and sends, and the error
 * answers of a route, grouped by status with one example per code.
 */

type Schema = Record<string, unknown>;

/** Answer headers of every authenticated `/api/v1` answer (errors included, once the key is known). */
export const RATE_LIMIT_HEADERS: Record<string, Schema> = {
  'X-RateLimit-Limit': { type: 'integer', description: 'The key\'s limit of requests per rolling minute.' },
  'X-RateLimit-Remaining': { type: 'integer', description: 'Requests left in the current window.' },
  'X-RateLimit-Reset': { type: 'integer', description: 'Seconds until the window has room again (0 while Remaining is above 0).' },
};

const RETRY_AFTER: Record<string, Schema> = {
  'Retry-After': { type: 'integer', description: 'Seconds to wait before trying again.' },
};

/** Answer headers of the run routes and of `GET /api/v1/jobs/{id}`. */
export const PREFERENCE_APPLIED: Record<string, Schema> = {
  'Preference-Applied': { type: 'string', description: 'Extension: `wait=N` when the answer honoured `Prefer: wait=N`.', examples: ['wait=30'] },
};
export const IDEMPOTENT_REPLAYED: Record<string, Schema> = {
  'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'Extension: the answer is the first run\'s job, replayed for a repeated Idempotency-Key.' },
};

/** Request headers of the run routes (docs/api.md, "Run headers"). */
export const RUN_REQUEST_HEADERS: Schema = {
  type: 'object',
  properties: {
    'Idempotency-Key': {
      type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', examples: ['order-1234'],
      description: 'Extension: the same key with the same request within 24 hours returns the first run\'s job and charges nothing; with a different request it is a 409.',
    },
    'Cancel-After': {
      type: 'string', minLength: 1, pattern: '^\\s*(\\d{1,10}|(\\d{1,7}[hH])?(\\d{1,9}[mM])?(\\d{1,10}[sS])?)\\s*$', examples: ['10m', '1m30s', '30'],
      description: 'Extension: a deadline, seconds or a duration with units h, m, s (5 s to 30 days); an unfinished job is then cancelled and refunded.',
    },
    Prefer: {
      type: 'string', examples: ['wait=30'],
      description: 'Extension: `wait=N` holds the answer until the job is terminal or N seconds (1 to 60) have passed. Malformed values are ignored.',
    },
  },
};

/** `Prefer: wait=N` alone, for `GET /api/v1/jobs/{id}`. */
export const PREFER_HEADER: Schema = {
  type: 'object',
  properties: { Prefer: (RUN_REQUEST_HEADERS.properties as Record<string, Schema>).Prefer },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input: the message names the field.', 401: 'Not authenticated.', 402: 'Not enough credits: nothing was charged and no job was created.',
  403: 'Not allowed.', 404: 'Not found.', 409: 'The state refuses the request.', 413: 'The body is too large.',
  415: 'The body is not JSON.', 429: 'Rate limit exceeded: wait for Retry-After seconds.', 500: 'Internal error: nothing internal is leaked.',
  503: 'Unavailable (shutting down, or the database cannot be reached): try again after Retry-After seconds.',
};

/**
 * The error answers of a route: one response per status, the shared `Error` body, an example
 * per code. `rateLimited` adds the X-RateLimit-* headers to the statuses an authenticated
 * request can get (every one but 401 and 403, which come before the key is known).
 */
export function errorResponses(codes: readonly ErrorCode[], opts: { rateLimited?: boolean } = {}): Record<string, Schema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Schema> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = {
      ...(opts.rateLimited && status !== 401 && status !== 403 ? RATE_LIMIT_HEADERS : {}),
      ...(status === 429 || status === 503 ? RETRY_AFTER : {}),
    };
    out[status] = {
      description: `${STATUS_TEXT[status] ?? 'Error.'} Codes: ${group.join(', ')}.`,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/json': {
          schema: ref('Error'),
          examples: Object.fromEntries(group.map((code) => [code, { summary: code, value: { error: exampleMessage(code), code } }])),
        },
      },
    };
  }
  return out;
}

/** What any request may get: a 500, or a 503 while shutting down or when the database is out of reach. */
export const ALWAYS: readonly ErrorCode[] = ['internal_error', 'unavailable'];
/** What a JSON body may get before any route sees it. */
export const BODY_ERRORS: readonly ErrorCode[] = ['invalid_json', 'invalid_request', 'body_too_large', 'unsupported_media_type'];
/** The answers of the `/api/v1` key check and rate limit. */
export const API_KEY_ERRORS: readonly ErrorCode[] = ['missing_token', 'invalid_api_key', 'api_access_disabled', 'rate_limited', ...ALWAYS];
/** The answers of the admin token check (404 while the admin API is switched off). */
export const ADMIN_ERRORS: readonly ErrorCode[] = ['admin_disabled', 'missing_token', 'invalid_admin_token', ...ALWAYS];
/** The answers of the worker token check. */
export const WORKER_ERRORS: readonly ErrorCode[] = ['missing_token', 'invalid_worker_token', ...ALWAYS];
