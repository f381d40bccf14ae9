import { newId } from '../../ids.js';
import type {
  ApiKeyCreateParams, ApiKeyListByUserParams, ApiKeyRecord, ApiKeyRevokeParams, ApiKeyWithUser,
} from '../store.js';
import { settleEach, type BatchItemError } from './batch.js';
import { unreachable, type Sql } from './db.js';
import { toApiKey, toUser, type ApiKeyRow } from './rows.js';

/** The SQL of API keys. Only a key's hash is stored; a lookup returns the key with its account. */

/** A key joined with its account's columns (prefixed `u_`). */
export type KeyRow = ApiKeyRow & { u_name: string | null; u_credits: number; u_api_access: boolean; u_subscription: string | null; u_created_at: number;
  u_weight: number; u_max_running: number | null; u_max_running_per_model: number | null; u_max_priority: number };

export function toKeyWithUser(row: KeyRow): ApiKeyWithUser {
  return {
    key: toApiKey(row),
    user: toUser({ id: row.user_id, name: row.u_name, credits: row.u_credits, api_access: row.u_api_access, subscription: row.u_subscription, created_at: row.u_created_at,
      weight: row.u_weight, max_running: row.u_max_running, max_running_per_model: row.u_max_running_per_model, max_priority: row.u_max_priority }),
  };
}

export async function create(sql: Sql, p: ApiKeyCreateParams): Promise<ApiKeyRecord> {
  const row = await sql.one<ApiKeyRow>(`INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, expires_at, rate_limit_per_minute, is_active, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8) RETURNING *`,
  [newId(), p.userId, p.name, p.keyPrefix, p.keyHash, p.expiresAt, p.rateLimitPerMinute, p.now]);
  return toApiKey(row!);
}

const lookup = (where: string) => `SELECT k.*, u.name AS u_name, u.credits AS u_credits, u.api_access AS u_api_access, u.subscription AS u_subscription, u.created_at AS u_created_at,
  u.weight AS u_weight, u.max_running AS u_max_running, u.max_running_per_model AS u_max_running_per_model, u.max_priority AS u_max_priority
  FROM api_keys k JOIN users u ON u.id = k.user_id WHERE ${where}`;

/** Key lookups of one turn (every authenticated request makes one) in one statement; see `PgBatched`. */
export async function getByHashMany(sql: Sql, hashes: string[]): Promise<(KeyRow | null | BatchItemError)[]> {
  return settleEach(hashes, async (all) => {
    const rows = await sql.q<KeyRow>(lookup('k.key_hash = ANY($1::text[])'), [[...new Set(all)]]);
    const byHash = new Map(rows.map((r) => [r.key_hash, r]));
    return all.map((h) => byHash.get(h) ?? null);
  }, async (h) => (await sql.one<KeyRow>(lookup('k.key_hash = $1'), [h])) ?? null, unreachable);
}

export async function listByUser(sql: Sql, p: ApiKeyListByUserParams): Promise<ApiKeyRecord[]> {
  return (await sql.q<ApiKeyRow>('SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at, id', [p.userId])).map(toApiKey);
}

export async function revoke(sql: Sql, p: ApiKeyRevokeParams): Promise<ApiKeyRecord | null> {
  const row = await sql.one<ApiKeyRow>('UPDATE api_keys SET is_active = false WHERE id = $1 AND user_id = $2 RETURNING *', [p.keyId, p.userId]);
  return row ? toApiKey(row) : null;
}
