import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BackupError } from './errors.js';

/** Where Debian and Ubuntu install PostgreSQL 15's programs when they are not on PATH. */
const FALLBACK_DIRS = ['/usr/lib/postgresql/15/bin'];

/** The path of `pg_dump` or `pg_restore`: in `dir` when given, else the first on PATH, else PostgreSQL 15's folder. */
export function findPgProgram(name: 'pg_dump' | 'pg_restore', dir?: string): string {
  const dirs = dir ? [dir] : [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...FALLBACK_DIRS];
  for (const d of dirs) {
    const file = path.join(d, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch { /* not here */ }
  }
  throw new BackupError(`${name} was not found (looked in ${dir ? dir : `PATH and ${FALLBACK_DIRS.join(', ')}`}): install PostgreSQL's client programs (Debian: apt-get install postgresql-client-15) or name their folder with --pg-bin.`);
}

/**
 * The connection for libpq's programs: the URL without its password, which goes in PGPASSWORD
 * instead, so it never shows in the process list.
 */
export function libpqConnection(databaseUrl: string): { dbname: string; env: Record<string, string> } {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return { dbname: url.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** Runs a PostgreSQL program to its end and returns its output; a non-zero exit becomes a BackupError with what it wrote to stderr. */
export function runPgProgram(file: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '10', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (err) => reject(new BackupError(`${path.basename(file)} could not start: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new BackupError(`${path.basename(file)} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join(' / ') || 'no message'}`));
    });
  });
}
