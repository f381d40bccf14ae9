import { newId } from '../../ids.js';
import type { AuditEntryRecord, AuditListParams, AuditTarget, AuditWrite } from '../store.js';
import type { PgDb, Sql, Transactional } from './db.js';

/** The SQL of the audit log: a row written inside an admin write's transaction, and the list. */

interface AuditRow {
  id: string; at: number; actor: string; action: string; target_type: string; target_id: string; user_id: string | null;
  details: Record<string, unknown>; request_id: string | null; client_address: string | null;
}

const toEntry = (r: AuditRow): AuditEntryRecord => ({
  id: r.id, at: r.at, actor: r.actor, action: r.action, targetType: r.target_type, targetId: r.target_id, userId: r.user_id,
  details: r.details, requestId: r.request_id, clientAddress: r.client_address,
});

async function insert(sql: Sql, a: AuditWrite, changed: AuditTarget): Promise<void> {
  await sql.q(`INSERT INTO audit_log (id, at, actor, action, target_type, target_id, user_id, details, request_id, client_address)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  [newId(), a.at, a.actor, a.action, a.targetType, a.targetId ?? changed.id, changed.userId, JSON.stringify(a.details), a.requestId, a.clientAddress]);
}

/** An open transaction seen as a `Transactional`: a write that opens its own transaction joins this one. */
const joined = (sql: Sql): Transactional => ({
  q: (text, values) => sql.q(text, values),
  one: (text, values) => sql.one(text, values),
  tx: (fn) => fn(sql),
});

/**
 * Runs an admin write and, when `audit` is given and `target` finds a change in its result, writes
 * the audit row in the same transaction: the write runs on that transaction's client, and a write
 * that opens a transaction of its own joins it. `target` returns the changed record's id and
 * account, or null when nothing changed.
 */
export async function audited<T>(db: PgDb, audit: AuditWrite | undefined, write: (db: Transactional) => Promise<T>, target: (result: T) => AuditTarget | null): Promise<T> {
  if (!audit) return write(db);
  return db.tx(async (sql) => {
    const result = await write(joined(sql));
    const changed = target(result);
    if (changed !== null) await insert(sql, audit, changed);
    return result;
  });
}

export async function list(sql: Sql, p: AuditListParams): Promise<AuditEntryRecord[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (clause: string, value: unknown) => { args.push(value); where.push(clause.replace('?', `$${args.length}`)); };
  if (p.beforeId !== undefined) add('id < ?', p.beforeId);
  if (p.action !== undefined) add('action = ?', p.action);
  if (p.targetId !== undefined) add('target_id = ?', p.targetId);
  if (p.userId !== undefined) add('user_id = ?', p.userId);
  args.push(p.limit);
  const text = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
  return (await sql.q<AuditRow>(text, args)).map(toEntry);
}
