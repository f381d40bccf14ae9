import type { RateDecision } from '../ratelimit/sliding-window.js';
import type { Store } from '../store/store.js';
import { authenticate } from './authenticate.js';
import type { CallerCache } from './caller-cache.js';
import type { Caller } from './caller.js';

/**
 * Every public API request: who it speaks for (or the contract's 401/403), then whether its
 * key's per-minute limit admits it. The decision is returned either way, since its figures go
 * on every answer; the caller refuses the request when `limit.allowed` is false.
 */
export async function admitRequest(deps: { store: Store; callers?: CallerCache }, authorization: string | undefined, now: number): Promise<{ caller: Caller; limit: RateDecision }> {
  const caller = await authenticate(deps.store, authorization, now, deps.callers);
  const limit = await deps.store.rateLimitConsume({ keyId: caller.key.id, limit: caller.key.rateLimitPerMinute, now });
  return { caller, limit };
}
