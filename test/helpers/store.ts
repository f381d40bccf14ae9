import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * A fresh, empty store for one test. `GENJOBS_TEST_STORE` picks the adapter the whole suite
 * runs on (default: sqlite); each call returns its own private database.
 */
export async function freshStore(): Promise<Store> {
  const kind = process.env.GENJOBS_TEST_STORE ?? 'sqlite';
  if (kind === 'sqlite') return new SqliteStore({ filename: ':memory:' });
  throw new Error(`GENJOBS_TEST_STORE=${kind} is not a store this suite knows`);
}
