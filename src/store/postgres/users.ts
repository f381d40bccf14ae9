import { newId } from '../../ids.js';
import { assertCreditAmount, assertInitialCredits, MAX_BALANCE } from '../limits.js';
import { grantAllowed, grantWithinMax, LedgerReason } from '../rules.js';
import type {
  UserCreateParams, UserGetByIdParams, UserGrantCreditsParams, UserGrantCreditsResult, UserListParams, UserRecord, UserSetApiAccessParams,
} from '../store.js';
import type { Sql, Transactional } from './db.js';
import * as ledger from './ledger.js';
import { toUser, type UserRow } from './rows.js';

/** The SQL of accounts: creating them, reading them, their balance and their API access. */

export async function create(db: Transactional, p: UserCreateParams): Promise<UserRecord> {
  assertInitialCredits(p.credits);
  return db.tx(async (sql) => {
    const id = newId();
    await sql.q('INSERT INTO users (id, name, credits, api_access, created_at) VALUES ($1, $2, 0, $3, $4)', [id, p.name, p.apiAccess !== false, p.now]);
    if (p.credits > 0) await ledger.append(sql, { userId: id, jobId: null, kind: 'grant', amount: p.credits, reason: LedgerReason.initialCredits, now: p.now });
    return toUser((await sql.one<UserRow>('SELECT * FROM users WHERE id = $1', [id]))!);
  });
}

export async function getById(sql: Sql, p: UserGetByIdParams): Promise<UserRecord | null> {
  const row = await sql.one<UserRow>('SELECT * FROM users WHERE id = $1', [p.id]);
  return row ? toUser(row) : null;
}

export async function grantCredits(db: Transactional, p: UserGrantCreditsParams): Promise<UserGrantCreditsResult> {
  assertCreditAmount(p.amount, 'amount');
  return db.tx(async (sql) => {
    // The account row's lock orders this against runs and refunds, which write that row too.
    const row = await sql.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1 FOR UPDATE', [p.userId]);
    if (!row) return { ok: false, reason: 'not_found' };
    if (!grantAllowed(row.credits, p.amount)) return { ok: false, reason: 'insufficient', available: row.credits };
    if (p.amount > 0) {
      const held = await heldCredits(sql, p.userId);
      if (!grantWithinMax(row.credits, held, p.amount)) return { ok: false, reason: 'balance_limit', max: MAX_BALANCE, current: row.credits + held };
    }
    if (p.amount !== 0) await ledger.append(sql, { userId: p.userId, jobId: null, kind: 'grant', amount: p.amount, reason: p.reason, now: p.now });
    return { ok: true, user: toUser((await sql.one<UserRow>('SELECT * FROM users WHERE id = $1', [p.userId]))!) };
  });
}

/**
 * Credits the account's pending and processing jobs hold. One sum per status, so each uses its
 * small partial index of unfinished jobs; one IN (…) walked the whole table (127 ms at 300,000
 * jobs of the account).
 */
async function heldCredits(sql: Sql, userId: string): Promise<number> {
  const row = await sql.one<{ held: number }>(`SELECT (
      (SELECT COALESCE(SUM(credits_charged - credits_refunded), 0) FROM jobs WHERE status = 'pending' AND user_id = $1)
    + (SELECT COALESCE(SUM(credits_charged - credits_refunded), 0) FROM jobs WHERE status = 'processing' AND user_id = $1)
    )::bigint AS held`, [userId]);
  return row!.held;
}

export async function setApiAccess(sql: Sql, p: UserSetApiAccessParams): Promise<UserRecord | null> {
  const row = await sql.one<UserRow>('UPDATE users SET api_access = $1 WHERE id = $2 RETURNING *', [p.apiAccess, p.userId]);
  return row ? toUser(row) : null;
}

/** Accounts by id (time-ordered): creation order, or newest first; a page after `afterId`. */
export async function list(sql: Sql, p: UserListParams): Promise<UserRecord[]> {
  const [after, order] = p.order === 'desc' ? ['<', 'DESC'] : ['>', 'ASC'];
  const rows = p.afterId === undefined
    ? await sql.q<UserRow>(`SELECT * FROM users ORDER BY id ${order} LIMIT $1`, [p.limit])
    : await sql.q<UserRow>(`SELECT * FROM users WHERE id ${after} $1 ORDER BY id ${order} LIMIT $2`, [p.afterId, p.limit]);
  return rows.map(toUser);
}
