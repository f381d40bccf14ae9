import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { BackupError } from './errors.js';
import { assertSame, COUNTED_TABLES, type Manifest, type Snapshot } from './manifest.js';

export const SQLITE_FILE = 'genjobs.db';

/** Rows per table, the schema version and the credits of every account, as `db` holds them. */
function describe(db: Database.Database): Snapshot {
  const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  const one = (sql: string) => Number((db.prepare(sql).get() as { n: number | null }).n ?? 0);
  const counts = { credits_total: has('users') ? one('SELECT SUM(credits) AS n FROM users') : 0 } as Manifest['counts'];
  for (const table of COUNTED_TABLES) counts[table] = has(table) ? one(`SELECT COUNT(*) AS n FROM ${table}`) : 0;
  return { schema_version: has('schema_migrations') ? one('SELECT MAX(version) AS n FROM schema_migrations') : 0, counts };
}

/**
 * Copies the live database into `outFile` with VACUUM INTO: one read transaction, so the copy is
 * the database as of one moment however much the server writes meanwhile (in WAL mode readers
 * never block writers, nor writers readers). SQLite's page-by-page backup API would restart
 * from the beginning each time another process writes, and may never finish on a busy server.
 */
export function snapshotSqlite(dbFile: string, outFile: string): Snapshot {
  if (!fs.existsSync(dbFile)) throw new BackupError(`there is no database at ${dbFile}: set DATA_DIR to the folder the server uses.`);
  const live = new Database(dbFile, { fileMustExist: true });
  try {
    live.pragma('busy_timeout = 10000');
    live.prepare('VACUUM INTO ?').run(outFile);
  } finally {
    live.close();
  }
  const copy = new Database(outFile, { readonly: true });
  try {
    const snapshot = describe(copy);
    if (snapshot.schema_version === 0) throw new BackupError(`${dbFile} is not a genjobs database (it has no applied migrations).`);
    return snapshot;
  } finally {
    copy.close();
  }
}

/** Whether the database file holds any account or job (a server that started once leaves empty tables behind). */
export function sqliteHoldsData(dbFile: string): boolean {
  if (!fs.existsSync(dbFile)) return false;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const { counts } = describe(db);
    return counts.users > 0 || counts.jobs > 0 || counts.ledger_entries > 0;
  } finally {
    db.close();
  }
}

/**
 * Puts the backup's database in place of `dbFile` (its write-ahead log and shared-memory files
 * go too: they belong to the database being replaced). The copy is checked first, in a temporary
 * file beside the target: SQLite's own check, then the rows against the manifest; only a copy
 * that passes is renamed into place, so a bad backup leaves the target as it was.
 */
export function restoreSqlite(backupFile: string, dbFile: string, expected: Manifest): void {
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const tmp = path.join(path.dirname(dbFile), `.${path.basename(dbFile)}.restoring`);
  fs.copyFileSync(backupFile, tmp);
  try {
    const db = new Database(tmp, { fileMustExist: true });
    try {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new BackupError(`the backup's database fails SQLite's check (${String(check)}): the backup is damaged.`);
      assertSame(describe(db), expected);
      // The server runs in WAL mode; setting it here saves the first start a journal switch.
      db.pragma('journal_mode = WAL');
    } finally {
      db.close();
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  for (const suffix of ['-wal', '-shm', '']) fs.rmSync(`${dbFile}${suffix}`, { force: true });
  fs.renameSync(tmp, dbFile);
}
