import type { WorkerAuthenticateParams, WorkerCreateParams, WorkerRecord, WorkerRevokeParams } from '../store.js';
import type { Sql } from './db.js';
import { toWorker, type WorkerRow } from './rows.js';

/** The SQL of self-hosted workers: their tokens (hashed), their models, when they were last seen. */

export async function create(sql: Sql, p: WorkerCreateParams): Promise<WorkerRecord> {
  const row = await sql.one<WorkerRow>(`INSERT INTO workers (id, name, token_hash, models, is_active, created_at)
    VALUES ($1, $2, $3, $4, true, $5) RETURNING *`, [p.id, p.name, p.tokenHash, JSON.stringify(p.models), p.now]);
  return toWorker(row!);
}

export async function authenticate(sql: Sql, p: WorkerAuthenticateParams): Promise<WorkerRecord | null> {
  const row = await sql.one<WorkerRow>('UPDATE workers SET last_seen_at = $2 WHERE token_hash = $1 AND is_active RETURNING *', [p.tokenHash, p.now]);
  return row ? toWorker(row) : null;
}

export async function list(sql: Sql): Promise<WorkerRecord[]> {
  return (await sql.q<WorkerRow>('SELECT * FROM workers ORDER BY created_at, id')).map(toWorker);
}

export async function revoke(sql: Sql, p: WorkerRevokeParams): Promise<WorkerRecord | null> {
  const row = await sql.one<WorkerRow>('UPDATE workers SET is_active = false WHERE id = $1 RETURNING *', [p.id]);
  return row ? toWorker(row) : null;
}
