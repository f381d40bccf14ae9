import { newId } from '../../ids.js';
import type { AccountUsage, AccountUsageParams, LedgerEntryRecord, LedgerListParams } from '../store.js';
import type { LedgerKind, Millis } from '../vocabulary.js';
import type { Sql } from './db.js';
import { toLedger, type LedgerRow } from './rows.js';

/** The SQL of the credit ledger: every movement of a balance, and what an account used. */

/**
 * Moves a balance and writes its ledger entry in one statement; the balance after it, or
 * undefined if the account is missing. Part of the caller's transaction when `sql` is one.
 */
export async function append(sql: Sql, p: { userId: string; jobId: string | null; kind: LedgerKind; amount: number; reason: string | null; now: Millis }) {
  const row = await sql.one<{ balance_after: number }>(`
    WITH u AS (UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits)
    INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
    SELECT $3, $1, $4, $5, $2, u.credits, $6, $7 FROM u RETURNING balance_after`,
  [p.userId, p.amount, newId(), p.jobId, p.kind, p.reason, p.now]);
  return row?.balance_after;
}

/** An account's entries, the one written last first: by seq, drawn in the order of the account's row lock (migration 0013). */
export async function list(sql: Sql, p: LedgerListParams): Promise<LedgerEntryRecord[]> {
  const rows = p.jobId === undefined
    ? await sql.q<LedgerRow>('SELECT * FROM ledger_entries WHERE user_id = $1 ORDER BY seq DESC LIMIT $2', [p.userId, p.limit])
    : await sql.q<LedgerRow>('SELECT * FROM ledger_entries WHERE user_id = $1 AND job_id = $2 ORDER BY seq DESC LIMIT $3', [p.userId, p.jobId, p.limit]);
  return rows.map(toLedger);
}

export async function usage(sql: Sql, p: AccountUsageParams): Promise<AccountUsage> {
  const row = await sql.one<{ used: number; since: number; total: number; keys: number }>(`SELECT
    (SELECT COALESCE(-SUM(amount), 0)::bigint FROM ledger_entries WHERE user_id = $1 AND kind IN ('charge', 'refund') AND created_at >= $2) AS used,
    (SELECT COUNT(*)::int FROM jobs WHERE user_id = $1 AND created_at >= $2) AS since,
    (SELECT COUNT(*)::int FROM jobs WHERE user_id = $1) AS total,
    (SELECT COUNT(*)::int FROM api_keys WHERE user_id = $1 AND is_active AND (expires_at IS NULL OR expires_at > $3)) AS keys`,
  [p.userId, p.since, p.now]);
  return { creditsUsed: row!.used, jobsSince: row!.since, totalJobs: row!.total, activeKeys: row!.keys };
}
