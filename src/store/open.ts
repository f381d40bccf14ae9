import path from 'node:path';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PgStore } from './postgres/pg-store.js';

/**
 * Opens the store the configuration names: PostgreSQL when DATABASE_URL is set (any number of
 * processes may share it), otherwise the embedded SQLite file `DATA_DIR/genjobs.db` (one process).
 */
export async function openStore(p: {
  dataDir: string; databaseUrl: string | null; databaseSchema: string | null; databasePoolSize: number;
}, onBackgroundError?: (err: unknown) => void): Promise<Store> {
  if (p.databaseUrl) {
    return PgStore.open({
      url: p.databaseUrl, poolSize: p.databasePoolSize,
      ...(p.databaseSchema ? { schema: p.databaseSchema } : {}),
      ...(onBackgroundError ? { onBackgroundError } : {}),
    });
  }
  return new SqliteStore({ filename: path.join(p.dataDir, 'genjobs.db') });
}
