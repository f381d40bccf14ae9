import type { LedgerEntryRecord, Store } from '../store/store.js';

/** How many ledger entries a listing shows, newest first. */
export const LEDGER_PAGE = 100;

/** An account's latest ledger entries (GET /account/ledger, and the admin API's per user). */
export async function listLedger(store: Store, userId: string): Promise<LedgerEntryRecord[]> {
  return store.ledgerList({ userId, limit: LEDGER_PAGE });
}
