import { LeasedLimiter } from '../../ratelimit/leased-window.js';
import type { PgDb, Sql } from './db.js';

/**
 * The SQL of rate limits: the shared per-second slots (`rate_limit_slots`) that every process
 * reserves requests from, a lease at a time (src/ratelimit/leased-window.ts), and their clean-up.
 */

/** How long a slot is kept after its second: longer than any window that may still count it. */
const SLOT_KEEP_SECONDS = 120;
/** How often old slots are deleted. */
const SWEEP_EVERY_MS = 60_000;

export function leasedLimiter(db: PgDb): LeasedLimiter {
  return new LeasedLimiter({
    reserve: async (keyId, second, limit, want) => (await db.one<{ granted: number; total: number; oldest: number | null }>(
      'SELECT granted, total, oldest FROM genjobs_rate_reserve($1, $2, $3, $4)', [keyId, second, limit, want]))!,
    release: async (keyId, second, count) => {
      await db.q('SELECT genjobs_rate_release($1, $2, $3)', [keyId, second, count]);
    },
  }, db.onBackgroundError);
}

/** Deletes the slots no window counts any more. */
export async function deleteOldSlots(sql: Sql, now: number): Promise<void> {
  await sql.q('DELETE FROM rate_limit_slots WHERE second < $1', [Math.floor(now / 1000) - SLOT_KEEP_SECONDS]);
}

/** Deletes old slots once a minute until the returned function is called. */
export function startSlotSweep(db: PgDb): () => void {
  const timer = setInterval(() => {
    deleteOldSlots(db, Date.now()).catch((err: unknown) => db.onBackgroundError(err));
  }, SWEEP_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
