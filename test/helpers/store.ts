import { randomBytes } from 'node:crypto';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';

/**
 * The whole suite runs on one store at a time: `GENJOBS_TEST_STORE` is `sqlite` (default) or
 * `postgres`, with `GENJOBS_TEST_PG_URL` pointing at the throwaway cluster that
 * `scripts/run-tests.mjs` starts. Every test gets its own database: a private in-memory SQLite,
 * or a schema of its own in PostgreSQL.
 */
export const testStoreKind = (process.env.GENJOBS_TEST_STORE ?? 'sqlite') as 'sqlite' | 'postgres';

function pgUrl(): string {
  const url = process.env.GENJOBS_TEST_PG_URL;
  if (!url) throw new Error('GENJOBS_TEST_STORE=postgres needs GENJOBS_TEST_PG_URL (npm test starts a cluster and sets it)');
  return url;
}

const freshSchema = () => `t_${randomBytes(6).toString('hex')}`;

/** A fresh, empty store for one test. */
export async function freshStore(): Promise<Store> {
  if (testStoreKind === 'sqlite') return new SqliteStore({ filename: ':memory:' });
  if (testStoreKind === 'postgres') return PgStore.open({ url: pgUrl(), schema: freshSchema(), poolSize: 5 });
  if (String(testStoreKind) === 'none') throw new Error('a store-free test (*.unit.test.ts) asked for a store: rename it *.test.ts so it runs on each store');
  throw new Error(`GENJOBS_TEST_STORE=${String(testStoreKind)} is not a store this suite knows`);
}

/**
 * Two stores on one fresh database, as two processes sharing it would have (PostgreSQL only: a
 * SQLite database belongs to one process). Null on SQLite.
 */
export async function freshSharedStores(): Promise<[Store, Store] | null> {
  if (testStoreKind !== 'postgres') return null;
  const schema = freshSchema();
  const first = await PgStore.open({ url: pgUrl(), schema, poolSize: 3 });
  return [first, await PgStore.open({ url: pgUrl(), schema, poolSize: 3 })];
}

/** Environment for a `genjobs` process of a test: a schema of its own on PostgreSQL, nothing on SQLite (DATA_DIR decides). */
export function processStoreEnv(): Record<string, string> {
  return testStoreKind === 'postgres' ? { DATABASE_URL: pgUrl(), GENJOBS_DB_SCHEMA: freshSchema() } : {};
}
