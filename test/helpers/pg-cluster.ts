import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/** Where Debian puts PostgreSQL 15; GENJOBS_PG_BIN overrides it. */
const BIN = process.env.GENJOBS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL cluster on a free loopback port, its data in a temporary folder,
 * tuned for tests (fsync off). PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user.
 */
export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  /** Stops the server (fast: connections are cut), keeping the data. */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops it and removes its folder. */
  destroy(): void;
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): void {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** `settings`: more server settings (`name=value`), e.g. `shared_preload_libraries=pg_stat_statements` for a benchmark's profile. */
export async function startPgCluster(settings: string[] = []): Promise<PgCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-pg-'));
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  run(path.join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const opts = [
    `-p ${port}`, `-k ${dir}`, "-c listen_addresses='127.0.0.1'", '-c fsync=off', '-c synchronous_commit=off',
    '-c full_page_writes=off', '-c max_connections=300', '-c shared_buffers=128MB',
    ...settings.map((setting) => `-c ${setting}`),
  ].join(' ');
  const start = () => run(path.join(BIN, 'pg_ctl'), ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  const stop = () => run(path.join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    destroy() {
      try { stop(); } catch { /* already stopped */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
