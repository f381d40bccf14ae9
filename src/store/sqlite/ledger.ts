import { newId } from '../../ids.js';
import type { AccountUsage, AccountUsageParams, LedgerEntryRecord, LedgerListParams } from '../store.js';
import type { LedgerKind, Millis } from '../vocabulary.js';
import type { SqliteDb } from './db.js';
import { toLedger, type LedgerRow } from './rows.js';

/** The SQL of the credit ledger: every movement of a balance, and what an account used. */

/**
 * The next write-order number of an account's ledger (its first parameter is the account's id).
 * Entries are listed by it, not by created_at: the clock reading a queued or batched write took
 * can be older than one written before it. SQLite writes one transaction at a time, so the
 * numbers follow the order of the balances.
 */
export const NEXT_SEQ = '(SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger_entries WHERE user_id = ?)';

/** Moves a balance and writes the ledger entry for it; the balance after it. The caller holds the transaction. */
export function append(db: SqliteDb, p: { userId: string; jobId: string | null; kind: LedgerKind; amount: number; reason: string | null; now: Millis }): number {
  const row = db.sql('UPDATE users SET credits = credits + ? WHERE id = ? RETURNING credits').get(p.amount, p.userId) as { credits: number };
  db.sql(`INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at, seq)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${NEXT_SEQ})`)
    .run(newId(), p.userId, p.jobId, p.kind, p.amount, row.credits, p.reason, p.now, p.userId);
  return row.credits;
}

export function list(db: SqliteDb, p: LedgerListParams): LedgerEntryRecord[] {
  const rows = (p.jobId === undefined
    ? db.sql('SELECT * FROM ledger_entries WHERE user_id = ? ORDER BY seq DESC LIMIT ?').all(p.userId, p.limit)
    : db.sql('SELECT * FROM ledger_entries WHERE user_id = ? AND job_id = ? ORDER BY seq DESC LIMIT ?').all(p.userId, p.jobId, p.limit)) as LedgerRow[];
  return rows.map(toLedger);
}

export function usage(db: SqliteDb, p: AccountUsageParams): AccountUsage {
  const used = db.sql(`SELECT COALESCE(-SUM(amount), 0) AS n FROM ledger_entries
                       WHERE user_id = ? AND kind IN ('charge', 'refund') AND created_at >= ?`).get(p.userId, p.since) as { n: number };
  const since = db.sql('SELECT COUNT(*) AS n FROM jobs WHERE user_id = ? AND created_at >= ?').get(p.userId, p.since) as { n: number };
  const total = db.sql('SELECT COUNT(*) AS n FROM jobs WHERE user_id = ?').get(p.userId) as { n: number };
  const keys = db.sql('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND is_active = 1 AND (expires_at IS NULL OR expires_at > ?)')
    .get(p.userId, p.now) as { n: number };
  return { creditsUsed: used.n, jobsSince: since.n, totalJobs: total.n, activeKeys: keys.n };
}
