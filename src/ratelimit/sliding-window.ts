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
const SLOTS = 61;

interface Window {
  counts: Float64Array;
  /** Which second (since the epoch) each slot counts; -1 when empty. */
  seconds: Float64Array;
  total: number;
  lastSecond: number;
}

/**
 * A rolling 60-second window per key, kept as per-second counts: memory is fixed per active key
 * whatever the limit, and each check is a few array reads. Idle keys are dropped. It holds for
 * one process; a cluster-wide limiter comes with the shared store.
 */
export class SlidingWindowLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep = 0;

  consume(keyId: string, limit: number, now: number): RateDecision {
    const second = Math.floor(now / 1000);
    this.sweep(second);
    let w = this.windows.get(keyId);
    if (!w) {
      w = { counts: new Float64Array(SLOTS), seconds: new Float64Array(SLOTS).fill(-1), total: 0, lastSecond: second };
      this.windows.set(keyId, w);
    }
    if (w.lastSecond !== second) {
      for (let i = 0; i < SLOTS; i++) {
        if (w.seconds[i] !== -1 && (w.seconds[i] as number) <= second - SLOTS) {
          w.total -= w.counts[i] as number;
          w.counts[i] = 0;
          w.seconds[i] = -1;
        }
      }
      w.lastSecond = second;
    }
    if (w.total >= limit) {
      return { allowed: false, limit, remaining: 0, resetSeconds: Math.max(1, this.untilOldestLeaves(w, now)) };
    }
    const slot = second % SLOTS;
    w.seconds[slot] = second;
    w.counts[slot] = (w.counts[slot] as number) + 1;
    w.total++;
    const remaining = limit - w.total;
    return { allowed: true, limit, remaining, resetSeconds: remaining > 0 ? 0 : this.untilOldestLeaves(w, now) };
  }

  private untilOldestLeaves(w: Window, now: number): number {
    let oldest = Infinity;
    for (let i = 0; i < SLOTS; i++) if (w.seconds[i] !== -1 && (w.seconds[i] as number) < oldest) oldest = w.seconds[i] as number;
    return oldest === Infinity ? 0 : Math.ceil(((oldest + SLOTS) * 1000 - now) / 1000);
  }

  private sweep(second: number): void {
    if (second - this.lastSweep < SLOTS) return;
    this.lastSweep = second;
    for (const [id, w] of this.windows) if (w.lastSecond <= second - SLOTS) this.windows.delete(id);
  }
}
