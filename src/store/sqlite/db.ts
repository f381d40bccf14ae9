import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { GroupCommit } from './group-commit.js';
import { migrateSqlite } from './migrate.js';

/**
 * The plumbing of the SQLite store: the database file, its statements (each prepared once),
 * immediate transactions, and the group commit that the hot writes share. The query modules
 * (`jobs.ts`, `users.ts`, ...) take one of these.
 */
export class SqliteDb {
  readonly db: Database.Database;
  /** Job creations, claims and outcomes made in one event-loop turn share a commit. */
  readonly group: GroupCommit;
  private readonly cache = new Map<string, Database.Statement>();

  /** `filename`: a file path, or `:memory:` for a private in-memory database (tests). */
  constructor(filename: string) {
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(filename), { recursive: true });
    this.db = new Database(filename);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only an OS crash can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrateSqlite(this.db);
    this.group = new GroupCommit(this.db);
  }

  /** Prepares each distinct SQL text once. */
  sql(text: string): Database.Statement {
    let st = this.cache.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.cache.set(text, st);
    }
    return st;
  }

  /** Runs `fn` in one immediate transaction (it takes the write lock at BEGIN). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    // Writes already asked for are committed before the database closes.
    if (this.db.open) this.group.flush();
    this.cache.clear();
    if (this.db.open) this.db.close();
  }
}
