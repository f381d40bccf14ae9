import type { WorkerAuthenticateParams, WorkerCreateParams, WorkerRecord, WorkerRevokeParams } from '../store.js';
import type { SqliteDb } from './db.js';
import { toWorker, type WorkerRow } from './rows.js';

/** The SQL of self-hosted workers: their tokens (hashed), their models, when they were last seen. */

export function create(db: SqliteDb, p: WorkerCreateParams): WorkerRecord {
  const row = db.sql('INSERT INTO workers (id, name, token_hash, models, is_active, created_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING *')
    .get(p.id, p.name, p.tokenHash, JSON.stringify(p.models), p.now) as WorkerRow;
  return toWorker(row);
}

export function authenticate(db: SqliteDb, p: WorkerAuthenticateParams): WorkerRecord | null {
  const row = db.sql('UPDATE workers SET last_seen_at = ? WHERE token_hash = ? AND is_active = 1 RETURNING *').get(p.now, p.tokenHash) as WorkerRow | undefined;
  return row ? toWorker(row) : null;
}

export function list(db: SqliteDb): WorkerRecord[] {
  return (db.sql('SELECT * FROM workers ORDER BY created_at, id').all() as WorkerRow[]).map(toWorker);
}

export function revoke(db: SqliteDb, p: WorkerRevokeParams): WorkerRecord | null {
  const row = db.sql('UPDATE workers SET is_active = 0 WHERE id = ? RETURNING *').get(p.id) as WorkerRow | undefined;
  return row ? toWorker(row) : null;
}
