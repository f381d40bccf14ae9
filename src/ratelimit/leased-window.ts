import { windowDecision, type RateDecision } from './sliding-window.js';

/** What the shared store granted: requests reserved, the window's count after them, its oldest second. */
export interface RateLease {
  granted: number;
  total: number;
  oldest: number | null;
}

/** The shared window (the PostgreSQL store's `rate_limit_slots`), seen from one process. */
export interface RateLeaseBackend {
  /** Reserves up to `want` requests of `second` if the window has room (the store may grant fewer). */
  reserve(keyId: string, second: number, limit: number, want: number): Promise<RateLease>;
  /** Gives back `count` requests reserved for `second` and not used. */
  release(keyId: string, second: number, count: number): Promise<void>;
}

interface KeyState {
  second: number;
  limit: number;
  /** Reserved for `second` and not used yet. */
  spare: number;
  /** Admitted here during `second`: the next lease asks for about as many again. */
  used: number;
  /** The window's count (all processes) after the last lease, spare included. */
  total: number;
  oldest: number | null;
  /** The last lease of `second` got nothing: the window stays full until the second ends. */
  full: boolean;
  /** A lease or a give-back under way; every request for the key waits for it. */
  busy: Promise<void> | null;
  /** Requests waiting for `busy`: the next lease asks for at least as many. */
  waiting: number;
  /** The give-back at the end of `second` is scheduled (once, whatever the number of leases). */
  endScheduled: boolean;
}

/**
 * A key's rate limit shared by many processes without a store round trip per request. A
 * process reserves requests of the current second in the shared window (a lease), admits from
 * them in memory, and gives back what is left when the second ends. Leases grow with the key's
 * traffic here (up to `maxLease`), and the store hands out at most an eighth of the room left,
 * so a quiet key still costs one reservation per request and a key near its limit is counted
 * request by request. Nothing is ever admitted without a reservation, so all processes together
 * never pass the limit; a process that dies holding a lease only counts those requests as used.
 */
export class LeasedLimiter {
  private readonly keys = new Map<string, KeyState>();
  private lastSweep = 0;

  private readonly maxLease: number;
  private readonly clock: () => number;

  /** `maxLease`: most requests one lease asks for (default 1,000); `clock`: what times the end of a second. */
  constructor(
    private readonly backend: RateLeaseBackend,
    private readonly onError: (err: unknown) => void,
    opts: { maxLease?: number; clock?: () => number } = {},
  ) {
    this.maxLease = opts.maxLease ?? 1_000;
    this.clock = opts.clock ?? Date.now;
  }

  async consume(keyId: string, limit: number, now: number): Promise<RateDecision> {
    const second = Math.floor(now / 1000);
    this.sweep(second);
    for (;;) {
      const s = this.stateFor(keyId, limit, second);
      if (s.busy) {
        s.waiting++;
        try {
          await s.busy;
        } finally {
          s.waiting--;
        }
        continue;
      }
      if (s.spare > 0) {
        s.spare--;
        s.used++;
        return windowDecision({ allowed: true, total: s.total - s.spare, oldestSecond: s.oldest, limit, now });
      }
      if (s.full) return windowDecision({ allowed: false, total: s.total, oldestSecond: s.oldest, limit, now });
      s.busy = this.lease(keyId, s);
    }
  }

  /** Gives back every unused reservation (on shutdown). */
  async releaseAll(): Promise<void> {
    const pending = [...this.keys].map(([keyId, s]) => this.giveBack(keyId, s));
    this.keys.clear();
    await Promise.all(pending);
  }

  /** The key's state for `second`; a new second (or limit) first gives back the old spare. */
  private stateFor(keyId: string, limit: number, second: number): KeyState {
    const old = this.keys.get(keyId);
    if (old && old.second === second && old.limit === limit) return old;
    if (old?.busy) return old;
    const fresh: KeyState = { second, limit, spare: 0, used: 0, total: 0, oldest: null, full: false, busy: null, waiting: 0, endScheduled: false };
    if (old && old.spare > 0) fresh.busy = this.giveBack(keyId, old).finally(() => { fresh.busy = null; });
    this.keys.set(keyId, fresh);
    return fresh;
  }

  private async lease(keyId: string, s: KeyState): Promise<void> {
    try {
      const want = Math.min(this.maxLease, Math.max(1, s.used, s.waiting));
      const lease = await this.backend.reserve(keyId, s.second, s.limit, want);
      s.spare += lease.granted;
      s.total = lease.total;
      s.oldest = lease.oldest;
      s.full = lease.granted === 0;
      // Reserved for this second only: what is left goes back when it ends.
      if (s.spare > 0 && !s.endScheduled) {
        s.endScheduled = true;
        const untilEnd = Math.min(1_005, Math.max(0, (s.second + 1) * 1000 - this.clock() + 5));
        setTimeout(() => void this.endOfSecond(keyId, s), untilEnd).unref();
      }
    } finally {
      s.busy = null;
    }
  }

  private async endOfSecond(keyId: string, s: KeyState): Promise<void> {
    if (this.keys.get(keyId) !== s || s.busy || s.spare === 0) return;
    this.keys.delete(keyId);
    await this.giveBack(keyId, s);
  }

  private async giveBack(keyId: string, s: KeyState): Promise<void> {
    const count = s.spare;
    s.spare = 0;
    if (count === 0) return;
    try {
      await this.backend.release(keyId, s.second, count);
    } catch (err) {
      // Not given back: those requests stay counted until they leave the window. Never too many.
      this.onError(err);
    }
  }

  private sweep(second: number): void {
    if (second - this.lastSweep < 61) return;
    this.lastSweep = second;
    for (const [id, s] of this.keys) if (s.second < second - 1 && s.spare === 0 && !s.busy) this.keys.delete(id);
  }
}
