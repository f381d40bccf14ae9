import type { Caller } from './caller.js';

/**
 * Callers found by their key's hash in the last `ttlMs`, so that a busy key costs one store
 * lookup per `ttlMs` instead of one per request. Only keys that were found are kept: a key
 * created in another process works at once. A key revoked, or an account whose API access is
 * switched off, in another process (the CLI, another API node) stops working within `ttlMs`;
 * this process's admin API clears the cache at every change it makes, so its own changes apply
 * at once. `ttlMs` 0 turns the cache off.
 */
export class CallerCache {
  private readonly entries = new Map<string, { caller: Caller; until: number }>();

  constructor(readonly ttlMs: number, private readonly maxEntries = 10_000) {}

  get(keyHash: string, now: number): Caller | undefined {
    const entry = this.entries.get(keyHash);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.caller;
    this.entries.delete(keyHash);
    return undefined;
  }

  set(keyHash: string, caller: Caller, now: number): void {
    if (this.ttlMs <= 0) return;
    // Full: the oldest entry goes (a Map iterates in insertion order).
    if (this.entries.size >= this.maxEntries && !this.entries.has(keyHash)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(keyHash, { caller, until: now + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
