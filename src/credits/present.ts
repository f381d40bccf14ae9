import type { LedgerEntryRecord } from '../store/store.js';

/** A ledger entry as the account sees it (extension: `GET /api/v1/account/ledger`). */
export function presentLedgerEntry(e: LedgerEntryRecord): Record<string, unknown> {
  return {
    id: e.id,
    object: 'ledger_entry',
    kind: e.kind,
    amount: e.amount,
    balance_after: e.balanceAfter,
    job_id: e.jobId,
    reason: e.reason,
    created_at: new Date(e.createdAt).toISOString(),
  };
}
