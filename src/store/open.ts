import path from 'node:path';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** Opens the store the configuration names: for now the embedded SQLite file `DATA_DIR/genjobs.db`. */
export function openStore(p: { dataDir: string }): Store {
  return new SqliteStore({ filename: path.join(p.dataDir, 'genjobs.db') });
}
