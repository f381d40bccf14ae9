import type {
  AppCreateParams, AppGetByIdParams, AppListByUserParams, AppRecord, AppSetActiveParams, AppUpdateParams,
} from '../store.js';
import type { SqliteDb } from './db.js';
import { toApp, type AppRow } from './rows.js';

/** The SQL of private apps: an account's app definitions (JSON text), active or not. */

export function create(db: SqliteDb, p: AppCreateParams): AppRecord {
  const row = db.sql(`INSERT INTO apps (id, user_id, definition, is_active, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?) RETURNING *`)
    .get(p.id, p.userId, JSON.stringify(p.definition), p.now, p.now) as AppRow;
  return toApp(row);
}

export function update(db: SqliteDb, p: AppUpdateParams): AppRecord | null {
  const row = db.sql('UPDATE apps SET definition = ?, updated_at = ? WHERE id = ? RETURNING *').get(JSON.stringify(p.definition), p.now, p.id) as AppRow | undefined;
  return row ? toApp(row) : null;
}

export function setActive(db: SqliteDb, p: AppSetActiveParams): AppRecord | null {
  const row = db.sql('UPDATE apps SET is_active = ?, updated_at = ? WHERE id = ? RETURNING *').get(p.isActive ? 1 : 0, p.now, p.id) as AppRow | undefined;
  return row ? toApp(row) : null;
}

export function getById(db: SqliteDb, p: AppGetByIdParams): AppRecord | null {
  const row = db.sql('SELECT * FROM apps WHERE id = ?').get(p.id) as AppRow | undefined;
  return row ? toApp(row) : null;
}

export function listByUser(db: SqliteDb, p: AppListByUserParams): AppRecord[] {
  return (db.sql('SELECT * FROM apps WHERE user_id = ? ORDER BY created_at, id').all(p.userId) as AppRow[]).map(toApp);
}
