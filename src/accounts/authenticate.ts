import { apiError } from '../errors/api-error.js';
import type { ApiKeyRecord, Store, UserRecord } from '../store/store.js';
import { hashApiKey } from './api-keys.js';

export interface Caller {
  user: UserRecord;
  key: ApiKeyRecord;
}

/** Finds who an `Authorization` header speaks for, or throws the contract's 401/403. */
export async function authenticate(store: Store, authorization: string | undefined, now: number): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw apiError('missing_token');
  const found = await store.apiKeyGetByHash({ keyHash: hashApiKey(match[1] as string) });
  if (!found || !found.key.isActive || (found.key.expiresAt !== null && found.key.expiresAt <= now)) {
    throw apiError('invalid_api_key');
  }
  if (!found.user.apiAccess) throw apiError('api_access_disabled');
  return found;
}
