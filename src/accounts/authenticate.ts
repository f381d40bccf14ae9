import { apiError } from '../errors/api-error.js';
import type { Store } from '../store/store.js';
import { hashApiKey } from './api-keys.js';
import type { CallerCache } from './caller-cache.js';
import type { Caller } from './caller.js';

/**
 * Finds who an `Authorization` header speaks for, or throws the contract's 401/403. With a
 * `cache`, a key found recently is not looked up again; whether it is active, unexpired and
 * allowed API access is still checked at every call. A cached caller's records are as old as
 * the cache entry: use the account's id, not its balance.
 */
export async function authenticate(store: Store, authorization: string | undefined, now: number, cache?: CallerCache): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw apiError('missing_token');
  const keyHash = hashApiKey(match[1] as string);
  let found = cache?.get(keyHash, now) ?? null;
  if (found === null) {
    found = await store.apiKeyGetByHash({ keyHash });
    if (found !== null) cache?.set(keyHash, found, now);
  }
  if (!found || !found.key.isActive || (found.key.expiresAt !== null && found.key.expiresAt <= now)) {
    throw apiError('invalid_api_key');
  }
  if (!found.user.apiAccess) throw apiError('api_access_disabled');
  return found;
}
