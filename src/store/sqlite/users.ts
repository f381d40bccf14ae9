import { newId } from '../../ids.js';
import { grantAllowed, LedgerReason } from '../rules.js';
import type {
  UserCreateParams, UserGetByIdParams, UserGrantCreditsParams, UserGrantCreditsResult, UserListParams, UserRecord, UserSetApiAccessParams,
} from '../store.js';
import type { SqliteDb } from './db.js';
import * as ledger from './ledger.js';
import { toUser, type UserRow } from './rows.js';

/** The SQL of accounts: creating them, reading them, their balance and their API access. */

export function create(db: SqliteDb, p: UserCreateParams): UserRecord {
  return db.tx(() => {
    const id = newId();
    db.sql('INSERT INTO users (id, name, credits, api_access, created_at) VALUES (?, ?, 0, ?, ?)')
      .run(id, p.name, p.apiAccess === false ? 0 : 1, p.now);
    if (p.credits > 0) ledger.append(db, { userId: id, jobId: null, kind: 'grant', amount: p.credits, reason: LedgerReason.initialCredits, now: p.now });
    return toUser(db.sql('SELECT * FROM users WHERE id = ?').get(id) as UserRow);
  });
}

export function getById(db: SqliteDb, p: UserGetByIdParams): UserRecord | null {
  const row = db.sql('SELECT * FROM users WHERE id = ?').get(p.id) as UserRow | undefined;
  return row ? toUser(row) : null;
}

export function grantCredits(db: SqliteDb, p: UserGrantCreditsParams): UserGrantCreditsResult {
  return db.tx((): UserGrantCreditsResult => {
    const row = db.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number } | undefined;
    if (!row) return { ok: false, reason: 'not_found' };
    if (!grantAllowed(row.credits, p.amount)) return { ok: false, reason: 'insufficient', available: row.credits };
    if (p.amount !== 0) ledger.append(db, { userId: p.userId, jobId: null, kind: 'grant', amount: p.amount, reason: p.reason, now: p.now });
    return { ok: true, user: toUser(db.sql('SELECT * FROM users WHERE id = ?').get(p.userId) as UserRow) };
  });
}

export function setApiAccess(db: SqliteDb, p: UserSetApiAccessParams): UserRecord | null {
  const row = db.sql('UPDATE users SET api_access = ? WHERE id = ? RETURNING *').get(p.apiAccess ? 1 : 0, p.userId) as UserRow | undefined;
  return row ? toUser(row) : null;
}

/** Accounts by id (time-ordered): creation order, or newest first; a page after `afterId`. */
export function list(db: SqliteDb, p: UserListParams): UserRecord[] {
  const [after, order] = p.order === 'desc' ? ['<', 'DESC'] : ['>', 'ASC'];
  const rows = p.afterId === undefined
    ? db.sql(`SELECT * FROM users ORDER BY id ${order} LIMIT ?`).all(p.limit)
    : db.sql(`SELECT * FROM users WHERE id ${after} ? ORDER BY id ${order} LIMIT ?`).all(p.afterId, p.limit);
  return (rows as UserRow[]).map(toUser);
}
