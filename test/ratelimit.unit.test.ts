import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlidingWindowLimiter, type RateDecision } from '../src/ratelimit/sliding-window.js';

const WINDOW_MS = 60_000;
/** A fixed start, away from 0, in the middle of a second. */
const T0 = 1_774_000_000_500;

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Request times over three minutes: random gaps, bursts, and times right at second boundaries
 * (x.000 and x.999), where a per-second bucketing is most likely to slip.
 */
function requestTimes(seed: number): number[] {
  const rand = rng(seed);
  const times: number[] = [];
  let t = T0;
  while (t < T0 + 3 * WINDOW_MS) {
    const r = rand();
    if (r < 0.2) t += Math.floor(rand() * 5); // burst
    else if (r < 0.3) t = Math.ceil((t + 1) / 1000) * 1000; // next x.000
    else if (r < 0.4) t = Math.ceil((t + 1) / 1000) * 1000 + 999; // an x.999
    else t += Math.floor(rand() * 2_500);
    times.push(t);
  }
  return times;
}

function replay(limit: number, times: number[]): { t: number; d: RateDecision }[] {
  const limiter = new SlidingWindowLimiter();
  return times.map((t) => ({ t, d: limiter.consume('key', limit, t) }));
}

describe('SlidingWindowLimiter', () => {
  it('admits exactly `limit` requests at once, then refuses with remaining 0', () => {
    const limiter = new SlidingWindowLimiter();
    for (let i = 1; i <= 5; i++) {
      const d = limiter.consume('k', 5, T0);
      assert.equal(d.allowed, true);
      assert.equal(d.limit, 5);
      assert.equal(d.remaining, 5 - i);
    }
    const refused = limiter.consume('k', 5, T0);
    assert.deepEqual({ allowed: refused.allowed, limit: refused.limit, remaining: refused.remaining }, { allowed: false, limit: 5, remaining: 0 });
  });

  for (const [limit, seed] of [[1, 1], [3, 2], [7, 3], [20, 4], [50, 5]] as const) {
    it(`never admits more than ${limit} in any rolling 60 s window (requests over 3 minutes, seed ${seed})`, () => {
      const results = replay(limit, requestTimes(seed));
      const admitted = results.filter((r) => r.d.allowed).map((r) => r.t);
      assert.ok(admitted.length >= limit * 2, `the limiter admitted ${admitted.length}: too few to be a useful check`);
      for (const t of admitted) {
        const inWindow = admitted.filter((a) => a >= t - WINDOW_MS && a <= t).length;
        assert.ok(inWindow <= limit, `${inWindow} admitted in the 60 s up to ${t - T0} ms (limit ${limit})`);
      }
    });
  }

  it('refuses while the oldest request is within 60 s, and admits again at most 61 s after it', () => {
    const limiter = new SlidingWindowLimiter();
    assert.equal(limiter.consume('k', 2, T0).allowed, true);
    assert.equal(limiter.consume('k', 2, T0 + 10_000).allowed, true);
    assert.equal(limiter.consume('k', 2, T0 + 20_000).allowed, false);
    assert.equal(limiter.consume('k', 2, T0 + 59_999).allowed, false);
    assert.equal(limiter.consume('k', 2, T0 + WINDOW_MS).allowed, false, 'the window is inclusive: the first request is exactly 60 s old');
    const again = limiter.consume('k', 2, T0 + 61_000);
    assert.equal(again.allowed, true, 'the first request has left the window after 61 s');
    assert.equal(again.remaining, 0);
    // The second request (T0 + 10 s) is still counted, so the next is refused until it leaves too.
    assert.equal(limiter.consume('k', 2, T0 + 62_000).allowed, false);
    assert.equal(limiter.consume('k', 2, T0 + 71_000).allowed, true);
  });

  it('reports a reset and Retry-After from 1 to 61 seconds, and a request that waits that long is admitted', () => {
    for (const [limit, seed] of [[1, 11], [3, 12], [10, 13]] as const) {
      const times = requestTimes(seed);
      const results = replay(limit, times);
      const refusals = results.map((r, i) => ({ ...r, i })).filter((r) => !r.d.allowed);
      assert.ok(refusals.length > 10, `seed ${seed} gives only ${refusals.length} refusals`);
      for (const r of results) {
        assert.ok(Number.isInteger(r.d.resetSeconds) && r.d.resetSeconds >= 0 && r.d.resetSeconds <= 61, `reset ${r.d.resetSeconds}`);
      }
      // Check every 5th refusal by replaying the history up to it and probing at now + N s.
      for (const { t, d, i } of refusals.filter((_, n) => n % 5 === 0)) {
        const n = d.resetSeconds;
        assert.ok(Number.isInteger(n) && n >= 1 && n <= 61, `Retry-After ${n} at ${t - T0} ms`);
        const probe = (at: number) => {
          const limiter = new SlidingWindowLimiter();
          for (const earlier of times.slice(0, i + 1)) limiter.consume('key', limit, earlier);
          return limiter.consume('key', limit, at).allowed;
        };
        assert.equal(probe(t + n * 1000), true, `told at ${t - T0} ms to retry after ${n} s, but refused then`);
        // And not grossly pessimistic: a second earlier is still too early.
        assert.equal(probe(t + (n - 1) * 1000 - 1), false, `Retry-After ${n} s at ${t - T0} ms is longer than needed`);
      }
    }
  });

  it('keeps each key on its own count', () => {
    const limiter = new SlidingWindowLimiter();
    assert.equal(limiter.consume('a', 1, T0).allowed, true);
    assert.equal(limiter.consume('a', 1, T0).allowed, false);
    const b = limiter.consume('b', 1, T0);
    assert.equal(b.allowed, true);
    assert.equal(b.remaining, 0);
  });

  it('handles a limit of 1e9 in fixed memory and fast', () => {
    const limiter = new SlidingWindowLimiter();
    // Memory must not depend on the limit: a thousand keys at 1e9 each fit in a few MB.
    const heapBefore = process.memoryUsage().heapUsed;
    for (let k = 0; k < 1_000; k++) {
      const d = limiter.consume(`big-${k}`, 1e9, T0);
      assert.equal(d.allowed, true);
      assert.equal(d.remaining, 1e9 - 1);
    }
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 64 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024 / 1024)} MB for 1000 keys`);

    const started = performance.now();
    const n = 300_000;
    let last: RateDecision | undefined;
    // 300 000 requests of one key spread over 30 s: all inside one window, all counted.
    for (let i = 1; i <= n; i++) last = limiter.consume('big-0', 1e9, T0 + Math.floor(i / 10));
    const elapsed = performance.now() - started;
    assert.equal(last?.allowed, true);
    assert.equal(last?.remaining, 1e9 - 1 - n);
    assert.ok(elapsed < 3_000, `300 000 checks took ${Math.round(elapsed)} ms`);
  });
});
