import type { AuditTarget, UserGrantCreditsResult } from './store.js';

/**
 * What an admin write changed, read from its result the same way by both adapters: the record
 * and the account it concerns, or null when the write changed nothing (then no audit row).
 */
export const changedUser = (u: { id: string } | null): AuditTarget | null => (u ? { id: u.id, userId: u.id } : null);
export const changedGrant = (r: UserGrantCreditsResult): AuditTarget | null => (r.ok ? changedUser(r.user) : null);
/** A key or a private app: its own id, and the account that owns it. */
export const changedOwned = (r: { id: string; userId: string } | null): AuditTarget | null => (r ? { id: r.id, userId: r.userId } : null);
/** Workers belong to no account. */
export const changedWorker = (w: { id: string } | null): AuditTarget | null => (w ? { id: w.id, userId: null } : null);
