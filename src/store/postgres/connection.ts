import pg from 'pg';
import { StoreUnavailableError } from '../errors.js';

/**
 * bigint columns (times in ms, credits, lease tokens) are read as numbers: they stay far below
 * 2^53 (credits by MAX_BALANCE). One that does not is refused rather than silently rounded.
 */
export function parseBigint(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`a bigint column holds ${value}, beyond the exact integers of a JavaScript number`);
  return n;
}

export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return parseBigint;
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** Connection settings shared by the pool and the listener. */
export function connectionConfig(url: string, schema: string | undefined): pg.ClientConfig {
  return {
    connectionString: url,
    types: pgTypes,
    connectionTimeoutMillis: 5_000,
    // A statement that hangs (a lock held by a stuck session) fails instead of holding a request forever.
    statement_timeout: 30_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', // admin shutdown, crash shutdown, cannot connect now (starting up)
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
  '53300', // too many connections
]);

/** Whether an error means the database cannot be reached (as opposed to a bad query). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(err.message);
}

/** Connection failures become StoreUnavailableError (503); anything else is left as it is. */
export function wrapError(err: unknown): unknown {
  return isConnectionError(err) ? new StoreUnavailableError(err) : err;
}
