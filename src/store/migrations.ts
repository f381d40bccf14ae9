import fs from 'node:fs';
import path from 'node:path';
import { migrationsDir } from '../paths.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNNN_name.sql` files from a folder, in version order. */
export function readMigrations(dir: string): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return files.map((file) => ({
    version: Number(file.slice(0, 4)),
    name: file.slice(5, -4),
    sql: fs.readFileSync(path.join(dir, file), 'utf8'),
  }));
}

const latest = new Map<string, number>();

/** The version of the newest migration this build ships for `dialect` (read from disk once). */
export function latestMigration(dialect: 'sqlite' | 'postgres'): number {
  let v = latest.get(dialect);
  if (v === undefined) {
    v = Math.max(0, ...readMigrations(migrationsDir(dialect)).map((m) => m.version));
    latest.set(dialect, v);
  }
  return v;
}
