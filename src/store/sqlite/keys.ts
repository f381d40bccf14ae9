import { newId } from '../../ids.js';
import type {
  ApiKeyCreateParams, ApiKeyGetByHashParams, ApiKeyListByUserParams, ApiKeyRecord, ApiKeyRevokeParams, ApiKeyWithUser,
} from '../store.js';
import type { SqliteDb } from './db.js';
import { toApiKey, toUser, type ApiKeyRow } from './rows.js';

/** The SQL of API keys. Only a key's hash is stored; a lookup returns the key with its account. */

export function create(db: SqliteDb, p: ApiKeyCreateParams): ApiKeyRecord {
  const row = db.sql(`INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, expires_at, rate_limit_per_minute, is_active, created_at)
                      VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING *`)
    .get(newId(), p.userId, p.name, p.keyPrefix, p.keyHash, p.expiresAt, p.rateLimitPerMinute, p.now) as ApiKeyRow;
  return toApiKey(row);
}

export function getByHash(db: SqliteDb, p: ApiKeyGetByHashParams): ApiKeyWithUser | null {
  // Every authenticated request asks: one statement for the key and its account.
  const row = db.sql(`SELECT k.*, u.name AS u_name, u.credits AS u_credits, u.api_access AS u_api_access,
      u.subscription AS u_subscription, u.created_at AS u_created_at,
      u.weight AS u_weight, u.max_running AS u_max_running, u.max_running_per_model AS u_max_running_per_model, u.max_priority AS u_max_priority
    FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?`).get(p.keyHash) as
    (ApiKeyRow & { u_name: string | null; u_credits: number; u_api_access: number; u_subscription: string | null; u_created_at: number;
      u_weight: number; u_max_running: number | null; u_max_running_per_model: number | null; u_max_priority: number }) | undefined;
  if (!row) return null;
  const user = toUser({
    id: row.user_id, name: row.u_name, credits: row.u_credits, api_access: row.u_api_access, subscription: row.u_subscription, created_at: row.u_created_at,
    weight: row.u_weight, max_running: row.u_max_running, max_running_per_model: row.u_max_running_per_model, max_priority: row.u_max_priority,
  });
  return { key: toApiKey(row), user };
}

export function listByUser(db: SqliteDb, p: ApiKeyListByUserParams): ApiKeyRecord[] {
  return (db.sql('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id').all(p.userId) as ApiKeyRow[]).map(toApiKey);
}

export function revoke(db: SqliteDb, p: ApiKeyRevokeParams): ApiKeyRecord | null {
  const row = db.sql('UPDATE api_keys SET is_active = 0 WHERE id = ? AND user_id = ? RETURNING *').get(p.keyId, p.userId) as ApiKeyRow | undefined;
  return row ? toApiKey(row) : null;
}
