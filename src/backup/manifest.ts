import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { BackupError } from './errors.js';

/** Bumped when the layout of a backup folder changes in a way older restores cannot read. */
export const BACKUP_FORMAT = 1;

export const MANIFEST_FILE = 'manifest.json';

/** Rows per table, read in the same snapshot the database copy was taken from. */
export const COUNTED_TABLES = ['users', 'api_keys', 'jobs', 'ledger_entries', 'apps', 'workers', 'webhook_deliveries'] as const;
export type TableCounts = Record<(typeof COUNTED_TABLES)[number], number>;

/** What a backup holds; written last, so a folder without it is an unfinished backup. */
export interface Manifest {
  format: number;
  /** The genjobs version that took it. */
  genjobs_version: string;
  /** When the database snapshot was taken (ISO 8601). */
  created_at: string;
  store: 'sqlite' | 'postgres';
  /** The newest migration applied to the database at the snapshot. */
  schema_version: number;
  /** PostgreSQL only: the schema genjobs' tables were in. */
  pg_schema: string | null;
  database: { file: string; bytes: number; sha256: string };
  counts: TableCounts & { credits_total: number };
  /**
   * The output files copied (`local`: DATA_DIR/files). With `s3` none are: the bucket is the
   * operator's to back up (versioning, replication).
   */
  files: { storage: 'local' | 's3'; count: number; bytes: number };
}

/** What a database snapshot holds: its schema version and row counts. */
export type Snapshot = Pick<Manifest, 'schema_version' | 'counts'>;

export function genjobsVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export function writeManifest(dir: string, manifest: Manifest): void {
  const tmp = path.join(dir, `.${MANIFEST_FILE}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, MANIFEST_FILE));
}

/** Reads a backup's manifest and checks this build can restore it into a `store`. */
export function readManifest(dir: string, p: { store: 'sqlite' | 'postgres'; latestSchema: number }): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BackupError(missing
      ? `${file} does not exist: --from must name a folder written by \`genjobs backup\` that finished (the manifest is written last).`
      : `${file} is not readable JSON (${(err as Error).message}): the backup is damaged.`);
  }
  if (m.format !== BACKUP_FORMAT) {
    throw new BackupError(`the backup has format ${String(m.format)}, this genjobs (${genjobsVersion()}) reads format ${BACKUP_FORMAT}: restore it with the genjobs version that took it (${String(m.genjobs_version)}).`);
  }
  if (m.store !== p.store) {
    throw new BackupError(`the backup is of a ${m.store} store but this configuration uses ${p.store} (${p.store === 'postgres' ? 'DATABASE_URL is set' : 'DATABASE_URL is unset'}): a backup restores into the same kind of store.`);
  }
  if (m.schema_version > p.latestSchema) {
    throw new BackupError(`the backup's database is at schema version ${m.schema_version}, newer than this genjobs knows (${p.latestSchema}): restore it with genjobs ${m.genjobs_version} or later.`);
  }
  return m;
}

/** Fails when a database to restore (or just restored) does not hold the rows and schema version the manifest says. */
export function assertSame(found: Snapshot, expected: Manifest): void {
  const diffs = Object.entries(expected.counts)
    .filter(([k, v]) => found.counts[k as keyof Manifest['counts']] !== v)
    .map(([k, v]) => `${k}: ${found.counts[k as keyof Manifest['counts']]} restored, ${v} in the manifest`);
  if (found.schema_version !== expected.schema_version) diffs.push(`schema version ${found.schema_version}, ${expected.schema_version} in the manifest`);
  if (diffs.length > 0) throw new BackupError(`the database does not match the backup's manifest (${diffs.join('; ')}): the backup is damaged.`);
}
