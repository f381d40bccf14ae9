/** The answer of one rate-limit check, with what the `X-RateLimit-*` headers report. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /**
   * Seconds until the window has room again: 0 while `remaining` is above 0, otherwise until the
   * oldest counted request leaves it. When refused, this is also the `Retry-After`.
   */
  resetSeconds: number;
}

/**
 * Slots of one second each. A request stays counted for 61 of them, so that however the
 * seconds fall, no rolling 60-second window ever admits more than the limit.
 */
export const WINDOW_SLOTS = 61;

/** The decision for a window holding `total` requests (after this one, if admitted), the oldest in `oldestSecond`. */
export function windowDecision(p: { allowed: boolean; total: number; oldestSecond: number | null; limit: number; now: number }): RateDecision {
  const remaining = p.allowed ? Math.max(0, p.limit - p.total) : 0;
  const untilOldestLeaves = p.oldestSecond === null ? 0 : Math.ceil(((p.oldestSecond + WINDOW_SLOTS) * 1000 - p.now) / 1000);
  return {
    allowed: p.allowed,
    limit: p.limit,
    remaining,
    resetSeconds: remaining > 0 ? 0 : Math.max(1, untilOldestLeaves),
  };
}

interface Window {
  counts: Float64Array;
  /** Which second (since the epoch) each slot counts; -1 when empty. */
  seconds: Float64Array;
  total: number;
  lastSecond: number;
}

/**
 * A rolling 60-second window per key, kept as per-second counts in this process's memory:
 * memory is fixed per active key whatever the limit, and each check is a few array reads. Idle
 * keys are dropped. The SQLite store uses it; the PostgreSQL store keeps the same slots in a table.
 */
export class SlidingWindowLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep = 0;

  consume(keyId: string, limit: number, now: number): RateDecision {
    const second = Math.floor(now / 1000);
    this.sweep(second);
    let w = this.windows.get(keyId);
    if (!w) {
      w = { counts: new Float64Array(WINDOW_SLOTS), seconds: new Float64Array(WINDOW_SLOTS).fill(-1), total: 0, lastSecond: second };
      this.windows.set(keyId, w);
    }
    if (w.lastSecond !== second) {
      for (let i = 0; i < WINDOW_SLOTS; i++) {
        if (w.seconds[i] !== -1 && (w.seconds[i] as number) <= second - WINDOW_SLOTS) {
          w.total -= w.counts[i] as number;
          w.counts[i] = 0;
          w.seconds[i] = -1;
        }
      }
      w.lastSecond = second;
    }
    const allowed = w.total < limit;
    if (allowed) {
      const slot = second % WINDOW_SLOTS;
      w.seconds[slot] = second;
      w.counts[slot] = (w.counts[slot] as number) + 1;
      w.total++;
    }
    return windowDecision({ allowed, total: w.total, oldestSecond: this.oldest(w), limit, now });
  }

  private oldest(w: Window): number | null {
    let oldest = Infinity;
    for (let i = 0; i < WINDOW_SLOTS; i++) if (w.seconds[i] !== -1 && (w.seconds[i] as number) < oldest) oldest = w.seconds[i] as number;
    return oldest === Infinity ? null : oldest;
  }

  private sweep(second: number): void {
    if (second - this.lastSweep < WINDOW_SLOTS) return;
    this.lastSweep = second;
    for (const [id, w] of this.windows) if (w.lastSecond <= second - WINDOW_SLOTS) this.windows.delete(id);
  }
}
