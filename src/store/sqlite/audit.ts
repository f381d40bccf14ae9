import { newId } from '../../ids.js';
import type { AuditEntryRecord, AuditListParams, AuditTarget, AuditWrite } from '../store.js';
import type { SqliteDb } from './db.js';

/** The SQL of the audit log: a row written inside an admin write's transaction, and the list. */

interface AuditRow {
  id: string; at: number; actor: string; action: string; target_type: string; target_id: string; user_id: string | null;
  details: string; request_id: string | null; client_address: string | null;
}

const toEntry = (r: AuditRow): AuditEntryRecord => ({
  id: r.id, at: r.at, actor: r.actor, action: r.action, targetType: r.target_type, targetId: r.target_id, userId: r.user_id,
  details: JSON.parse(r.details) as Record<string, unknown>, requestId: r.request_id, clientAddress: r.client_address,
});

function insert(db: SqliteDb, a: AuditWrite, changed: AuditTarget): void {
  db.sql(`INSERT INTO audit_log (id, at, actor, action, target_type, target_id, user_id, details, request_id, client_address)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(newId(), a.at, a.actor, a.action, a.targetType, a.targetId ?? changed.id, changed.userId, JSON.stringify(a.details), a.requestId, a.clientAddress);
}

/**
 * Runs an admin write and, when `audit` is given and `target` finds a change in its result, writes
 * the audit row in the same transaction (the write's own transaction becomes a savepoint of it).
 * `target` returns the changed record's id and account, or null when nothing changed.
 */
export function audited<T>(db: SqliteDb, audit: AuditWrite | undefined, write: () => T, target: (result: T) => AuditTarget | null): T {
  if (!audit) return write();
  return db.tx(() => {
    const result = write();
    const changed = target(result);
    if (changed !== null) insert(db, audit, changed);
    return result;
  });
}

export function list(db: SqliteDb, p: AuditListParams): AuditEntryRecord[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (p.beforeId !== undefined) { where.push('id < ?'); args.push(p.beforeId); }
  if (p.action !== undefined) { where.push('action = ?'); args.push(p.action); }
  if (p.targetId !== undefined) { where.push('target_id = ?'); args.push(p.targetId); }
  if (p.userId !== undefined) { where.push('user_id = ?'); args.push(p.userId); }
  const text = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return (db.sql(text).all(...args, p.limit) as AuditRow[]).map(toEntry);
}
