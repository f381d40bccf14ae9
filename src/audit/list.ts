import { invalid } from '../errors/api-error.js';
import type { AuditEntryRecord, Store } from '../store/store.js';

export interface AuditQuery { limit?: unknown; starting_after?: unknown; action?: unknown; target_id?: unknown; user_id?: unknown }

/** A query value that is a string of 1 to `max` characters, or absent. */
function optionalText(value: unknown, field: string, max: number, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(field, `must be ${what}`);
  return value;
}

/**
 * GET /admin/v1/audit and `genjobs audit list`: the audit log, newest first, a page at a time
 * (`limit` 1–100, default 20, as a number or its digits; `starting_after` the last id of the
 * previous page), of one action, one target and/or one account (the account, its keys and its
 * apps) when asked.
 */
export async function listAuditPage(store: Store, query: AuditQuery): Promise<{ entries: AuditEntryRecord[]; hasMore: boolean }> {
  const raw = query.limit;
  const limit = raw === undefined ? 20 : typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit', 'must be a whole number from 1 to 100');
  const after = optionalText(query.starting_after, 'starting_after', 100, 'the id of an audit entry from the previous page');
  const action = optionalText(query.action, 'action', 100, 'an action name such as user.credits.grant');
  const targetId = optionalText(query.target_id, 'target_id', 200, 'the id of an account, key, app or worker');
  const userId = optionalText(query.user_id, 'user_id', 200, 'the id of an account');
  const rows = await store.auditList({
    limit: limit + 1, ...(after !== undefined ? { beforeId: after } : {}), ...(action !== undefined ? { action } : {}), ...(targetId !== undefined ? { targetId } : {}),
    ...(userId !== undefined ? { userId } : {}),
  });
  return { entries: rows.slice(0, limit), hasMore: rows.length > limit };
}
