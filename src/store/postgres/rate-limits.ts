import { LeasedLimiter } from '../../ratelimit/leased-window.js';
import type { PgDb, Sql } from './db.js';

/**
 * The SQL of rate limits: the shared per-second slots (`rate_limit_slots`) that every process
 * reserves requests from, a lease at a time (src/ratelimit/leased-window.ts), and their clean-up
 * (run by the maintenance service, src/maintenance/).
 */

export function leasedLimiter(db: PgDb): LeasedLimiter {
  return new LeasedLimiter({
    reserve: async (keyId, second, limit, want) => (await db.one<{ granted: number; total: number; oldest: number | null }>(
      'SELECT granted, total, oldest FROM genjobs_rate_reserve($1, $2, $3, $4)', [keyId, second, limit, want]))!,
    release: async (keyId, second, count) => {
      await db.q('SELECT genjobs_rate_release($1, $2, $3)', [keyId, second, count]);
    },
  }, db.onBackgroundError);
}

/** Deletes the slots of seconds before `before` (the maintenance service's chore); returns how many went. */
export async function deleteOldSlots(sql: Sql, before: number): Promise<number> {
  const rows = await sql.q<{ n: number }>('WITH gone AS (DELETE FROM rate_limit_slots WHERE second < $1 RETURNING 1) SELECT COUNT(*)::int AS n FROM gone', [Math.floor(before / 1000)]);
  return rows[0]?.n ?? 0;
}
