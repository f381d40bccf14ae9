import { createHash } from 'node:crypto';
import { invalid } from '../errors/api-error.js';
import type { Millis } from '../store/store.js';

/**
 * What a run request may ask besides its body, through headers: `Idempotency-Key`,
 * `Cancel-After` and `Prefer: wait=N`. Parsed here so every run route (models, apps, retry)
 * reads them the same way.
 */
export interface RunOptions {
  /** The request's `Idempotency-Key` and the hash of what it asked for. */
  idempotency?: { key: string; requestHash: string };
  /** When the job is cancelled if still unfinished (`Cancel-After`). */
  cancelAfterAt?: Millis | null;
  /** The job this run retries. */
  retryOf?: string | null;
  /** `Prefer: wait=N`, in ms: how long to hold the answer for a terminal status. */
  waitMs?: number;
  /**
   * Whether the answer shows a pending job's queue position (an HTTP answer always does; a
   * caller that does not show it saves the count). (Default: false)
   */
  queuePosition?: boolean;
}

type HeaderValue = string | string[] | undefined;

const one = (raw: HeaderValue): string | undefined => (Array.isArray(raw) ? raw.join(', ') : raw);

/** Cancel-After bounds: at least 5 seconds, at most 30 days. */
export const CANCEL_AFTER_MIN_MS = 5_000;
export const CANCEL_AFTER_MAX_MS = 30 * 24 * 3600_000;

/** Prefer: wait=N is honoured from 1 to this many seconds; a longer wait is cut to it. */
export const PREFER_WAIT_MAX_S = 60;

/** `Idempotency-Key`: 1 to 255 visible ASCII characters. Undefined when the header is absent. */
export function parseIdempotencyKey(raw: HeaderValue): string | undefined {
  const value = one(raw);
  if (value === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw invalid('Idempotency-Key', 'must be 1 to 255 visible ASCII characters (no spaces), such as a UUID');
  }
  return value;
}

/** JSON with every object's keys sorted, so equal requests hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 (hex) of the route and the body, canonically: what an `Idempotency-Key` is bound to. */
export function requestHash(route: string, body: unknown): string {
  return createHash('sha256').update(canonicalJson({ route, body: body ?? {} })).digest('hex');
}

/**
 * `Cancel-After`: seconds as a number (`30`) or a duration with units (`30s`, `5m`, `1h`,
 * `1m30s`, `1h5m10s`); at least 5 s. Returns the deadline, or undefined when the header is absent.
 */
export function parseCancelAfter(raw: HeaderValue, now: Millis): Millis | undefined {
  const value = one(raw)?.trim();
  if (value === undefined) return undefined;
  const problem = 'must be a duration of at least 5 seconds: seconds ("30") or with units h, m, s ("30s", "5m", "1h", "1m30s")';
  let ms: number;
  if (/^\d{1,10}$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    const m = /^(?:(\d{1,7})h)?(?:(\d{1,9})m)?(?:(\d{1,10})s)?$/i.exec(value);
    if (!m || value === '' || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) throw invalid('Cancel-After', problem);
    ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  }
  if (ms < CANCEL_AFTER_MIN_MS) throw invalid('Cancel-After', problem);
  if (ms > CANCEL_AFTER_MAX_MS) throw invalid('Cancel-After', 'must be at most 30 days');
  return now + ms;
}

/**
 * `Prefer: wait=N` (RFC 7240), in seconds. Other preferences, a malformed value and `wait=0`
 * are ignored (undefined); a wait over 60 s is cut to 60.
 */
export function parsePreferWait(raw: HeaderValue): number | undefined {
  const value = one(raw);
  if (value === undefined) return undefined;
  for (const pref of value.split(',')) {
    const [head] = pref.split(';');
    const m = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*$/i.exec(head ?? '');
    if (!m) continue;
    const n = Number(m[1]);
    if (n < 1) return undefined;
    return Math.min(n, PREFER_WAIT_MAX_S);
  }
  return undefined;
}

/** Everything a run request's headers ask for; `route` and `body` bind an Idempotency-Key. */
export function runOptionsFrom(headers: Record<string, HeaderValue>, route: string, body: unknown, now: Millis): { options: RunOptions; preferWait?: number } {
  const options: RunOptions = { queuePosition: true };
  const key = parseIdempotencyKey(headers['idempotency-key']);
  if (key !== undefined) options.idempotency = { key, requestHash: requestHash(route, body) };
  const cancelAfterAt = parseCancelAfter(headers['cancel-after'], now);
  if (cancelAfterAt !== undefined) options.cancelAfterAt = cancelAfterAt;
  const preferWait = parsePreferWait(headers.prefer);
  if (preferWait !== undefined) options.waitMs = preferWait * 1000;
  return preferWait === undefined ? { options } : { options, preferWait };
}
