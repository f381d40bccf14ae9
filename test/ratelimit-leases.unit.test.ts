import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { LeasedLimiter, type RateLeaseBackend } from '../src/ratelimit/leased-window.js';

/**
 * The shared window as the PostgreSQL functions keep it (migrations/postgres/0005): one count per
 * second, 61 seconds counted, a lease at most an eighth of the room left. Every call yields a
 * turn, as a round trip would, so that concurrent callers interleave.
 */
class SharedWindow implements RateLeaseBackend {
  readonly slots = new Map<number, number>();
  reserves = 0;
  failReleases = false;

  async reserve(_keyId: string, second: number, limit: number, want: number) {
    await turn();
    this.reserves++;
    let total = 0;
    let oldest: number | null = null;
    for (const [s, n] of this.slots) {
      if (s <= second - 61) continue;
      total += n;
      oldest = oldest === null ? s : Math.min(oldest, s);
    }
    const granted = Math.min(want, Math.max(1, Math.floor((limit - total) / 8)), limit - total);
    if (granted <= 0) return { granted: 0, total, oldest };
    this.slots.set(second, (this.slots.get(second) ?? 0) + granted);
    return { granted, total: total + granted, oldest: Math.min(oldest ?? second, second) };
  }

  async release(_keyId: string, second: number, count: number) {
    await turn();
    if (this.failReleases) throw new Error('database gone');
    this.slots.set(second, (this.slots.get(second) ?? 0) - count);
  }

  counted(second: number): number {
    return this.slots.get(second) ?? 0;
  }
}

const T0 = 1_774_000_000_100;
const S0 = Math.floor(T0 / 1000);
const noErrors = (err: unknown) => assert.fail(`unexpected error: ${String(err)}`);
/** The limiter's end-of-second timers run on this fixed clock, so none fires during a test. */
const clock = () => T0;
const limiterOn = (shared: RateLeaseBackend, onError: (err: unknown) => void = noErrors) => new LeasedLimiter(shared, onError, { clock });

describe('rate limits leased from a shared window', () => {
  it('admits exactly the limit across two processes sharing the window', async () => {
    const shared = new SharedWindow();
    const a = limiterOn(shared);
    const b = limiterOn(shared);
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).consume('key', 100, T0)));
    assert.equal(answers.filter((d) => d.allowed).length, 100);
    assert.ok(answers.filter((d) => !d.allowed).every((d) => d.remaining === 0 && d.resetSeconds >= 60));
    await Promise.all([a.releaseAll(), b.releaseAll()]);
    assert.equal(shared.counted(S0), 100, 'the window counts exactly what was admitted');
  });

  it('asks the store once per lease, not once per request, for a busy key', async () => {
    const shared = new SharedWindow();
    const limiter = limiterOn(shared);
    let admitted = 0;
    for (let i = 0; i < 1_000; i++) if ((await limiter.consume('busy', 1_000_000, T0)).allowed) admitted++;
    assert.equal(admitted, 1_000);
    assert.ok(shared.reserves <= 15, `${shared.reserves} reservations for 1,000 requests`);
    await limiter.releaseAll();
    assert.equal(shared.counted(S0), 1_000);
  });

  it('asks for as many as are waiting when requests arrive together', async () => {
    const shared = new SharedWindow();
    const limiter = limiterOn(shared);
    const answers = await Promise.all(Array.from({ length: 200 }, () => limiter.consume('burst', 1_000_000, T0)));
    assert.ok(answers.every((d) => d.allowed));
    assert.ok(shared.reserves <= 3, `${shared.reserves} reservations for 200 requests sent together`);
    assert.deepEqual(answers.map((d) => d.remaining).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => 1_000_000 - 200 + i));
  });

  it('counts a quiet key request by request, with the remaining count of the whole window', async () => {
    const shared = new SharedWindow();
    const limiter = limiterOn(shared);
    shared.slots.set(S0 - 10, 2); // another process's requests, ten seconds ago
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await limiter.consume('quiet', 5, T0 + i * 100));
    assert.deepEqual(seen.map((d) => [d.allowed, d.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]]);
    assert.equal(seen[3]!.resetSeconds, 51, 'retry when the oldest counted second leaves the window');
  });

  it('gives back what a lease did not use when its second ends', async () => {
    const shared = new SharedWindow();
    const limiter = limiterOn(shared);
    for (let i = 0; i < 20; i++) await limiter.consume('k', 1_000, T0);
    assert.ok(shared.counted(S0) > 20, 'a lease reserved more than was used');
    assert.equal((await limiter.consume('k', 1_000, T0 + 1_000)).allowed, true);
    assert.equal(shared.counted(S0), 20, 'the next second gave the rest back');
  });

  it('refuses without asking again once the window is full, until the second ends', async () => {
    const shared = new SharedWindow();
    const limiter = limiterOn(shared);
    shared.slots.set(S0 - 1, 3);
    assert.equal((await limiter.consume('full', 3, T0)).allowed, false);
    const asked = shared.reserves;
    for (let i = 0; i < 10; i++) assert.equal((await limiter.consume('full', 3, T0 + 500)).allowed, false);
    assert.equal(shared.reserves, asked);
  });

  it('reports a failed give-back and keeps those requests counted, never fewer', async () => {
    const shared = new SharedWindow();
    const errors: unknown[] = [];
    const limiter = limiterOn(shared, (err) => errors.push(err));
    for (let i = 0; i < 20; i++) await limiter.consume('k', 1_000, T0);
    const counted = shared.counted(S0);
    shared.failReleases = true;
    await limiter.releaseAll();
    assert.equal(errors.length, 1);
    assert.equal(shared.counted(S0), counted);
  });

  it('fails the request when the store cannot be asked, admitting nothing', async () => {
    const limiter = new LeasedLimiter({
      reserve: async () => { throw new Error('database gone'); },
      release: async () => {},
    }, noErrors);
    await assert.rejects(limiter.consume('k', 10, T0), /database gone/);
  });
});
