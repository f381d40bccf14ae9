import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { leaderLockKey } from '../store/postgres/leader.js';
import { quoteIdent } from '../store/postgres/migrate.js';
import { BackupError } from './errors.js';
import { assertSame, COUNTED_TABLES, type Manifest, type Snapshot } from './manifest.js';
import { findPgProgram, libpqConnection, runPgProgram } from './pg-tools.js';

export const PG_DUMP_FILE = 'genjobs.pgdump';

export interface PgTarget {
  url: string;
  /** GENJOBS_DB_SCHEMA; null: the connection's own current schema (usually public). */
  schema: string | null;
  /** Folder of pg_dump and pg_restore, when not found on PATH. */
  pgBin?: string;
}

async function connect(t: PgTarget): Promise<{ client: pg.Client; schema: string }> {
  const client = new pg.Client({
    connectionString: t.url, connectionTimeoutMillis: 10_000,
    ...(t.schema ? { options: `-c search_path=${t.schema}` } : {}),
  });
  try {
    await client.connect();
  } catch (err) {
    throw new BackupError(`cannot reach PostgreSQL at DATABASE_URL: ${(err as Error).message}`);
  }
  const { rows } = await client.query<{ s: string | null }>('SELECT current_schema() AS s');
  const schema = t.schema ?? rows[0]?.s;
  if (!schema) {
    await client.end();
    throw new BackupError('the connection has no current schema (an empty search_path): set GENJOBS_DB_SCHEMA to the schema genjobs uses.');
  }
  return { client, schema };
}

/** Row counts and schema version of genjobs' tables in `schema`, in the client's current transaction. */
async function describe(client: pg.Client, schema: string): Promise<Snapshot> {
  const { rows: tables } = await client.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", [schema]);
  const has = new Set(tables.map((t) => t.name));
  const one = async (sql: string) => Number((await client.query<{ n: string | null }>(sql)).rows[0]?.n ?? 0);
  const q = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const counts = { credits_total: has.has('users') ? await one(`SELECT SUM(credits) AS n FROM ${q('users')}`) : 0 } as Manifest['counts'];
  for (const table of COUNTED_TABLES) counts[table] = has.has(table) ? await one(`SELECT COUNT(*) AS n FROM ${q(table)}`) : 0;
  return { schema_version: has.has('schema_migrations') ? await one(`SELECT MAX(version) AS n FROM ${q('schema_migrations')}`) : 0, counts };
}

/**
 * Dumps genjobs' schema with `pg_dump -Fc` into `outFile`. The counts and the dump read the same
 * snapshot: this connection exports its repeatable-read snapshot and pg_dump runs in it
 * (`--snapshot`), so the manifest counts exactly the rows the dump holds while the server goes
 * on writing.
 */
export async function snapshotPostgres(t: PgTarget, outFile: string): Promise<Snapshot & { pg_schema: string }> {
  const pgDump = findPgProgram('pg_dump', t.pgBin);
  const { client, schema } = await connect(t);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = await describe(client, schema);
    if (snapshot.schema_version === 0) throw new BackupError(`schema "${schema}" holds no genjobs tables: set DATABASE_URL and GENJOBS_DB_SCHEMA as the server has them.`);
    const conn = libpqConnection(t.url);
    await runPgProgram(pgDump, [
      '--format=custom', '--no-owner', '--no-privileges', `--schema=${quoteIdent(schema)}`,
      `--snapshot=${rows[0]!.id}`, `--file=${outFile}`, `--dbname=${conn.dbname}`,
    ], conn.env);
    await client.query('COMMIT');
    return { ...snapshot, pg_schema: schema };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PgTargetState {
  schema: string;
  /** The schema exists (public always does in a new database). */
  exists: boolean;
  /** It holds accounts, jobs or ledger entries. */
  holdsData: boolean;
  /** It has genjobs' tables, empty or not. */
  hasTables: boolean;
  /** The newest migration applied to it; 0 without genjobs' tables. */
  schemaVersion: number;
}

export async function postgresTargetState(t: PgTarget): Promise<PgTargetState> {
  const { client, schema } = await connect(t);
  try {
    const { counts, schema_version } = await describe(client, schema);
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return { schema, exists: rowCount === 1, holdsData: counts.users > 0 || counts.jobs > 0 || counts.ledger_entries > 0, hasTables: schema_version > 0, schemaVersion: schema_version };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Restores a dump with `pg_restore` in one transaction (a failure leaves the database as it
 * was). When the schema exists already (public always does) its own entry and comment are left
 * out of the restore: creating it again would fail, and dropping it would take whatever else it
 * holds. When it has genjobs' tables (an emptied target, or --force), the backup's objects are
 * dropped first. Then checks the schema holds what the manifest counted.
 */
export async function restorePostgres(t: PgTarget, dumpFile: string, expected: Manifest, state: PgTargetState): Promise<void> {
  const pgRestore = findPgProgram('pg_restore', t.pgBin);
  // Every genjobs process stands for the maintenance leadership (an advisory lock per schema)
  // unless GENJOBS_MAINTENANCE=false: while the lock is held by another session, one runs here.
  // Holding it through the restore keeps a process that starts meanwhile from leading.
  const { client: guard } = await connect(t);
  try {
    const { rows } = await guard.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [leaderLockKey(state.schema, 'maintenance')]);
    if (!rows[0]?.ok) throw new BackupError(`a genjobs process is running on schema "${state.schema}" (it holds the maintenance leadership): stop every genjobs process on the target before restoring.`);
    await restoreUnderGuard(t, pgRestore, dumpFile, expected, state);
  } finally {
    await guard.end().catch(() => undefined);
  }
}

async function restoreUnderGuard(t: PgTarget, pgRestore: string, dumpFile: string, expected: Manifest, state: PgTargetState): Promise<void> {
  const conn = libpqConnection(t.url);
  const args = ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error'];
  if (state.hasTables) args.push('--clean', '--if-exists');
  // Beside the restore, not in the backup folder, which may be read-only.
  const listFile = path.join(os.tmpdir(), `genjobs-restore-${process.pid}.list`);
  if (state.exists) {
    const toc = await runPgProgram(pgRestore, ['--list', dumpFile], {});
    const own = (line: string) => / (SCHEMA - |COMMENT - SCHEMA )/.test(line) && line.split(' ').includes(state.schema);
    fs.writeFileSync(listFile, toc.split('\n').filter((line) => !own(line)).join('\n'));
    args.push(`--use-list=${listFile}`);
  }
  try {
    await runPgProgram(pgRestore, [...args, `--dbname=${conn.dbname}`, dumpFile], conn.env);
  } finally {
    fs.rmSync(listFile, { force: true });
  }
  const { client, schema } = await connect(t);
  try {
    assertSame(await describe(client, schema), expected);
  } finally {
    await client.end().catch(() => undefined);
  }
}
