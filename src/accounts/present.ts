import type { ApiKeyRecord, UserRecord } from '../store/store.js';
import { iso } from '../times.js';

export function presentUser(u: UserRecord): Record<string, unknown> {
  return {
    id: u.id, object: 'user', name: u.name, credits: u.credits, api_access: u.apiAccess, subscription: u.subscription, created_at: iso(u.createdAt),
    weight: u.weight, max_running: u.maxRunning, max_running_per_model: u.maxRunningPerModel, max_priority: u.maxPriority,
  };
}

/** A key as listings show it; `key` (the secret) is added only in the answer that creates it. */
export function presentApiKey(k: ApiKeyRecord, secret?: string): Record<string, unknown> {
  return {
    id: k.id,
    object: 'api_key',
    ...(secret !== undefined ? { key: secret } : {}),
    key_prefix: k.keyPrefix,
    name: k.name,
    rate_limit_per_minute: k.rateLimitPerMinute,
    expires_at: iso(k.expiresAt),
    is_active: k.isActive,
    created_at: iso(k.createdAt),
  };
}
