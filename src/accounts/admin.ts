import { apiError, invalid } from '../errors/api-error.js';
import { listLedger } from '../credits/ledger.js';
import { auditWrite } from '../audit/entry.js';
import type { ApiKeyRecord, AuditContext, LedgerEntryRecord, Store, UserRecord } from '../store/store.js';
import { generateApiKey } from './api-keys.js';

/**
 * The operator's use cases, shared by the admin API and the CLI. Each write takes the caller's
 * `AuditContext` (who, which request) and records its change in the audit log with it.
 */

const MAX_CREDITS = 1_000_000_000_000;

function optionalName(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 200) throw invalid(field, 'must be a string of at most 200 characters');
  return value;
}

function credits(value: unknown, field: string, allowNegative: boolean): number {
  if (!Number.isSafeInteger(value) || Math.abs(value as number) > MAX_CREDITS || (!allowNegative && (value as number) < 0)) {
    throw invalid(field, `must be a whole number${allowNegative ? '' : ' of 0 or more'}, at most ${MAX_CREDITS} in size`);
  }
  return value as number;
}

export async function createUser(
  store: Store, body: { name?: unknown; credits?: unknown; api_access?: unknown }, audit?: AuditContext, now = Date.now(),
): Promise<UserRecord> {
  const apiAccess = body.api_access ?? true;
  if (typeof apiAccess !== 'boolean') throw invalid('api_access', 'must be true or false');
  const name = optionalName(body.name, 'name');
  const initial = body.credits === undefined ? 0 : credits(body.credits, 'credits', false);
  return store.userCreate({
    name, credits: initial, apiAccess, now,
    audit: auditWrite(audit, { action: 'user.create', targetType: 'user', details: { name, credits: initial, api_access: apiAccess } }, now),
  });
}

/** Accounts in creation order, `limit` (1 to 1000) of them after `afterId` when given. */
export async function listUsers(store: Store, p: { limit?: number; afterId?: string } = {}): Promise<UserRecord[]> {
  const limit = p.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit', 'must be a whole number from 1 to 1000');
  return store.userList({ limit, ...(p.afterId ? { afterId: p.afterId } : {}) });
}

export async function getUser(store: Store, userId: string): Promise<UserRecord> {
  const user = await store.userGetById({ id: userId });
  if (!user) throw apiError('user_not_found');
  return user;
}

/** The admin API's view of an account's ledger: its latest entries; an unknown account is 404. */
export async function getUserLedger(store: Store, userId: string): Promise<LedgerEntryRecord[]> {
  await getUser(store, userId);
  return listLedger(store, userId);
}

/** Adds credits, or removes them with a negative amount; a balance never goes below zero nor past MAX_BALANCE. */
export async function grantCredits(
  store: Store, userId: string, body: { amount?: unknown; reason?: unknown }, audit?: AuditContext, now = Date.now(),
): Promise<UserRecord> {
  if (body.amount === undefined) throw invalid('amount', 'is required');
  const amount = credits(body.amount, 'amount', true);
  const reason = optionalName(body.reason, 'reason');
  const result = await store.userGrantCredits({
    userId, amount, reason, now,
    audit: auditWrite(audit, { action: amount < 0 ? 'user.credits.deduct' : 'user.credits.grant', targetType: 'user', details: { amount, reason } }, now),
  });
  if (result.ok) return result.user;
  if (result.reason === 'not_found') throw apiError('user_not_found');
  if (result.reason === 'balance_limit') throw apiError('balance_limit', { max: result.max, current: result.current, room: Math.max(0, result.max - result.current) });
  throw invalid('amount', `would take the balance below zero (available ${result.available})`);
}

export async function setApiAccess(store: Store, userId: string, apiAccess: unknown, audit?: AuditContext, now = Date.now()): Promise<UserRecord> {
  if (typeof apiAccess !== 'boolean') throw invalid('api_access', 'must be true or false');
  const user = await store.userSetApiAccess({
    userId, apiAccess, audit: auditWrite(audit, { action: 'user.update', targetType: 'user', details: { api_access: apiAccess } }, now),
  });
  if (!user) throw apiError('user_not_found');
  return user;
}

export async function createApiKey(
  store: Store,
  userId: string,
  body: { name?: unknown; rate_limit_per_minute?: unknown; expires_at?: unknown },
  defaults: { rateLimitPerMinute: number },
  audit?: AuditContext,
  now = Date.now(),
): Promise<{ record: ApiKeyRecord; key: string }> {
  await getUser(store, userId);
  const rate = body.rate_limit_per_minute ?? defaults.rateLimitPerMinute;
  if (!Number.isSafeInteger(rate) || (rate as number) < 1 || (rate as number) > 1_000_000_000) {
    throw invalid('rate_limit_per_minute', 'must be a whole number from 1 to 1000000000');
  }
  let expiresAt: number | null = null;
  if (body.expires_at !== undefined && body.expires_at !== null) {
    expiresAt = typeof body.expires_at === 'string' ? Date.parse(body.expires_at) : NaN;
    if (Number.isNaN(expiresAt)) throw invalid('expires_at', 'must be an ISO 8601 time such as 2027-01-31T00:00:00.000Z');
    if (expiresAt <= now) throw invalid('expires_at', 'must be in the future');
  }
  const generated = generateApiKey();
  const name = optionalName(body.name, 'name');
  // The key, its prefix and its hash stay out of the audit log: the key's id names it.
  const details = { user_id: userId, name, rate_limit_per_minute: rate, expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString() };
  const record = await store.apiKeyCreate({
    userId, name, keyPrefix: generated.keyPrefix, keyHash: generated.keyHash, expiresAt, rateLimitPerMinute: rate as number, now,
    audit: auditWrite(audit, { action: 'api_key.create', targetType: 'api_key', details }, now),
  });
  return { record, key: generated.key };
}

export async function listApiKeys(store: Store, userId: string): Promise<ApiKeyRecord[]> {
  await getUser(store, userId);
  return store.apiKeyListByUser({ userId });
}

export async function revokeApiKey(store: Store, userId: string, keyId: string, audit?: AuditContext, now = Date.now()): Promise<ApiKeyRecord> {
  // An unknown account is "User not found", as on every other per-user route, not "API key not found".
  await getUser(store, userId);
  const key = await store.apiKeyRevoke({
    userId, keyId, audit: auditWrite(audit, { action: 'api_key.revoke', targetType: 'api_key', details: { user_id: userId } }, now),
  });
  if (!key) throw apiError('api_key_not_found');
  return key;
}

/** GET /admin/v1/users: the accounts, newest first, a page at a time (`limit` 1–100, default 20; `starting_after` an account id). */
export async function listAccountsPage(store: Store, query: { limit?: unknown; starting_after?: unknown }): Promise<{ users: UserRecord[]; hasMore: boolean }> {
  const raw = query.limit;
  const limit = raw === undefined ? 20 : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit', 'must be a whole number from 1 to 100');
  const after = query.starting_after;
  if (after !== undefined && (typeof after !== 'string' || after.length === 0 || after.length > 100)) {
    throw invalid('starting_after', 'must be the id of an account from the previous page');
  }
  const rows = await store.userList({ limit: limit + 1, order: 'desc', ...(after !== undefined ? { afterId: after } : {}) });
  return { users: rows.slice(0, limit), hasMore: rows.length > limit };
}
