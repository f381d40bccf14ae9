import type {
  AppCreateParams, AppGetByIdParams, AppListByUserParams, AppRecord, AppSetActiveParams, AppUpdateParams,
} from '../store.js';
import type { Sql } from './db.js';
import { toApp, type AppRow } from './rows.js';

/** The SQL of private apps: an account's app definitions (jsonb), active or not. */

export async function create(sql: Sql, p: AppCreateParams): Promise<AppRecord> {
  const row = await sql.one<AppRow>(`INSERT INTO apps (id, user_id, definition, is_active, created_at, updated_at)
    VALUES ($1, $2, $3, true, $4, $4) RETURNING *`, [p.id, p.userId, JSON.stringify(p.definition), p.now]);
  return toApp(row!);
}

export async function update(sql: Sql, p: AppUpdateParams): Promise<AppRecord | null> {
  const row = await sql.one<AppRow>('UPDATE apps SET definition = $2, updated_at = $3 WHERE id = $1 RETURNING *', [p.id, JSON.stringify(p.definition), p.now]);
  return row ? toApp(row) : null;
}

export async function setActive(sql: Sql, p: AppSetActiveParams): Promise<AppRecord | null> {
  const row = await sql.one<AppRow>('UPDATE apps SET is_active = $2, updated_at = $3 WHERE id = $1 RETURNING *', [p.id, p.isActive, p.now]);
  return row ? toApp(row) : null;
}

export async function getById(sql: Sql, p: AppGetByIdParams): Promise<AppRecord | null> {
  const row = await sql.one<AppRow>('SELECT * FROM apps WHERE id = $1', [p.id]);
  return row ? toApp(row) : null;
}

export async function listByUser(sql: Sql, p: AppListByUserParams): Promise<AppRecord[]> {
  return (await sql.q<AppRow>('SELECT * FROM apps WHERE user_id = $1 ORDER BY created_at, id', [p.userId])).map(toApp);
}
