import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrationsDir } from '../../src/paths.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { testStoreKind } from './store.js';

export interface UpgradedStore {
  store: Store;
  /** Runs one statement on the store's database (`$1`, `$2`, … its parameters); the rows it answers. */
  raw<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A migration's SQL, found by the end of its file name (`_output_references.sql`). */
function migrationSql(dialect: 'sqlite' | 'postgres', suffix: string): string {
  const dir = migrationsDir(dialect);
  const file = fs.readdirSync(dir).find((f) => f.endsWith(suffix));
  if (!file) throw new Error(`no ${dialect} migration ending in ${suffix}`);
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

/**
 * A store of the kind under test as an upgrade leaves it: `write` makes rows through the store,
 * `undo` (SQL per dialect) takes away what the migration ending in `migration` added, its SQL is
 * run again by hand (the later migrations stay applied), and the store is opened again. Cleaned
 * up with the test.
 */
export async function upgradedStore(t: TestContext, o: {
  migration: string; undo: { sqlite: string; postgres: string }; write: (store: Store) => Promise<void>;
}): Promise<UpgradedStore> {
  if (testStoreKind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-upgrade-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const filename = path.join(dir, 'genjobs.db');
    const before = new SqliteStore({ filename });
    await o.write(before);
    await before.close();
    const db = new Database(filename);
    db.exec(o.undo.sqlite);
    db.exec(migrationSql('sqlite', o.migration));
    db.close();
    const store = new SqliteStore({ filename });
    t.after(() => store.close());
    return {
      store,
      async raw<T>(sql: string, params: unknown[] = []) {
        const conn = new Database(filename);
        try {
          const stmt = conn.prepare(sql.replace(/\$\d+/g, '?'));
          return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
        } finally {
          conn.close();
        }
      },
    };
  }
  const url = process.env.GENJOBS_TEST_PG_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const before = await PgStore.open({ url, schema, poolSize: 2 });
  await o.write(before);
  await before.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  await client.query(`SET search_path TO "${schema}"`);
  await client.query(o.undo.postgres);
  await client.query(migrationSql('postgres', o.migration));
  const store = await PgStore.open({ url, schema, poolSize: 2 });
  t.after(() => store.close());
  return {
    store,
    async raw<T>(sql: string, params: unknown[] = []) {
      return (await client.query(sql, params)).rows as T[];
    },
  };
}
