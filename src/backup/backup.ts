import fs from 'node:fs';
import path from 'node:path';
import { latestMigration } from '../store/migrations.js';
import { BackupError } from './errors.js';
import { copyFileTree, isEmptyDir, sha256File } from './files.js';
import { BACKUP_FORMAT, genjobsVersion, readManifest, writeManifest, type Manifest } from './manifest.js';
import { PG_DUMP_FILE, postgresTargetState, restorePostgres, snapshotPostgres } from './postgres.js';
import { restoreSqlite, snapshotSqlite, SQLITE_FILE, sqliteHoldsData } from './sqlite.js';

/** The store and files a backup is taken from or restored into: the server's own settings. */
export interface BackupTarget {
  dataDir: string;
  databaseUrl: string | null;
  databaseSchema: string | null;
  /** Where output files are kept; `s3`: in a bucket, which a backup leaves to the operator. (Default: local) */
  storage?: 'local' | 's3';
  /** Folder of pg_dump and pg_restore, when they are not on PATH. */
  pgBin?: string;
}

const pgTarget = (t: BackupTarget) => ({ url: t.databaseUrl!, schema: t.databaseSchema, ...(t.pgBin ? { pgBin: t.pgBin } : {}) });

/**
 * Takes a backup into `outDir` (missing or empty) while the server runs: first a consistent
 * snapshot of the database, then the output files (a file is written before its job is recorded
 * as completed, so every completed job of the snapshot finds its files), then the manifest. A
 * backup that fails leaves no manifest, and what it wrote is removed.
 */
export async function takeBackup(source: BackupTarget, outDir: string): Promise<Manifest> {
  if (!(await isEmptyDir(outDir))) throw new BackupError(`${outDir} is not empty: back up into a new folder (a backup never overwrites another).`);
  // The database holds webhook secrets and key hashes: the folder is the operator's alone.
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(outDir, 0o700);
  try {
    const createdAt = new Date().toISOString();
    const store = source.databaseUrl ? 'postgres' : 'sqlite';
    const dbFile = path.join(outDir, store === 'postgres' ? PG_DUMP_FILE : SQLITE_FILE);
    const snapshot = store === 'postgres'
      ? await snapshotPostgres(pgTarget(source), dbFile)
      : { ...snapshotSqlite(path.join(source.dataDir, SQLITE_FILE), dbFile), pg_schema: null };
    fs.chmodSync(dbFile, 0o600);
    const storage = source.storage ?? 'local';
    const files = storage === 'local' ? await copyFileTree(path.join(source.dataDir, 'files'), path.join(outDir, 'files')) : { count: 0, bytes: 0 };
    const manifest: Manifest = {
      format: BACKUP_FORMAT, genjobs_version: genjobsVersion(), created_at: createdAt, store,
      schema_version: snapshot.schema_version, pg_schema: snapshot.pg_schema,
      database: { file: path.basename(dbFile), bytes: fs.statSync(dbFile).size, sha256: await sha256File(dbFile) },
      counts: snapshot.counts, files: { storage, ...files },
    };
    writeManifest(outDir, manifest);
    return manifest;
  } catch (err) {
    for (const entry of fs.readdirSync(outDir)) fs.rmSync(path.join(outDir, entry), { recursive: true, force: true });
    throw err;
  }
}

/**
 * Restores the backup in `fromDir` into the configured store and DATA_DIR. It refuses a target
 * that holds accounts, jobs, ledger entries or output files unless `force`, a backup of another
 * kind of store or of a newer schema, and a damaged database file. Every genjobs process on the
 * target must be stopped first; the next start applies any migration newer than the backup.
 */
export async function restoreBackup(target: BackupTarget, fromDir: string, p: { force: boolean }): Promise<Manifest> {
  const store = target.databaseUrl ? 'postgres' : 'sqlite';
  const manifest = readManifest(fromDir, { store, latestSchema: latestMigration(store) });
  const dumpFile = path.join(fromDir, manifest.database.file);
  if (!fs.existsSync(dumpFile) || (await sha256File(dumpFile)) !== manifest.database.sha256) {
    throw new BackupError(`${dumpFile} is missing or does not match the SHA-256 in the manifest: the backup is damaged.`);
  }
  const storage = target.storage ?? 'local';
  if (manifest.files.storage !== storage) {
    throw new BackupError(`the backup's output files were kept ${manifest.files.storage === 's3' ? 'in S3' : 'in DATA_DIR/files'}, the target keeps them ${storage === 's3' ? 'in S3' : 'in DATA_DIR/files'} (GENJOBS_STORAGE): restore with the storage the backup was taken with, then move the files.`);
  }
  const localFiles = storage === 'local';
  const filesDir = path.join(target.dataDir, 'files');
  const filesHeld = localFiles && !(await isEmptyDir(filesDir));
  const sqliteFile = path.join(target.dataDir, SQLITE_FILE);
  const pgState = store === 'postgres' ? await postgresTargetState(pgTarget(target)) : null;
  if (pgState && pgState.schema !== manifest.pg_schema) {
    throw new BackupError(`the backup holds schema "${manifest.pg_schema}" but the target is schema "${pgState.schema}": set GENJOBS_DB_SCHEMA=${manifest.pg_schema} (or restore into a database whose current schema is "${manifest.pg_schema}").`);
  }
  if (pgState && pgState.schemaVersion > manifest.schema_version) {
    // pg_restore --clean drops only what the backup has: the tables of newer migrations would stay, and the next start would fail to create them again.
    throw new BackupError(`schema "${pgState.schema}" is at schema version ${pgState.schemaVersion}, newer than the backup's ${manifest.schema_version}: restore into an empty schema or database (drop the schema first, or create a new database).`);
  }
  const dataHeld = pgState ? pgState.holdsData : sqliteHoldsData(sqliteFile);
  if ((dataHeld || filesHeld) && !p.force) {
    const what = [dataHeld ? (pgState ? `schema "${pgState.schema}"` : sqliteFile) : null, filesHeld ? filesDir : null].filter(Boolean).join(' and ');
    throw new BackupError(`${what} already hold${dataHeld && filesHeld ? '' : 's'} data: restore into an empty DATA_DIR${pgState ? ' and database' : ''}, or pass --force to replace it (stop every genjobs process on it first).`);
  }
  // The files go to a folder beside the target and are swapped in once the database is restored.
  const staging = path.join(target.dataDir, '.files-restoring');
  fs.rmSync(staging, { recursive: true, force: true });
  const files = localFiles ? await copyFileTree(path.join(fromDir, 'files'), staging) : { count: 0, bytes: 0 };
  if (files.count !== manifest.files.count) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new BackupError(`the backup holds ${files.count} output files, its manifest ${manifest.files.count}: the backup is damaged.`);
  }
  try {
    if (pgState) await restorePostgres(pgTarget(target), dumpFile, manifest, pgState);
    else restoreSqlite(dumpFile, sqliteFile, manifest);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (localFiles) {
    fs.rmSync(filesDir, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    fs.renameSync(staging, filesDir);
  }
  return manifest;
}
