// The fault suite's PostgreSQL: a throwaway cluster (test/helpers/pg-cluster.ts makes it) that
// the suite stops and starts again without blocking its own event loop (the fake provider and
// the webhook receiver live in this process), and a small pool the suite reads the books with.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from './processes.mjs';

const run = promisify(execFile);
const BIN = process.env.GENJOBS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

export async function startDatabase() {
  const { startPgCluster } = await import(path.join(ROOT, 'dist', 'test', 'helpers', 'pg-cluster.js'));
  const cluster = await startPgCluster();
  const data = path.join(cluster.dir, 'data');
  // The same options pg-cluster.ts starts it with (fsync off: the suite tests genjobs, not disks).
  const opts = [
    `-p ${cluster.port}`, `-k ${cluster.dir}`, "-c listen_addresses='127.0.0.1'", '-c fsync=off', '-c synchronous_commit=off',
    '-c full_page_writes=off', '-c max_connections=300', '-c shared_buffers=128MB',
  ].join(' ');
  const pgCtl = (args) => {
    const cmd = path.join(BIN, 'pg_ctl');
    return asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
  };
  const pool = new pg.Pool({ connectionString: cluster.url, max: 3, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => { /* an idle connection cut by a restart: the pool replaces it */ });
  return {
    url: cluster.url,
    pool,
    /** Stops the server at once (`-m fast`: sessions are cut, as in a crash of the database host). */
    stop: () => pgCtl(['-D', data, '-m', 'fast', '-w', 'stop']),
    start: () => pgCtl(['-D', data, '-o', opts, '-l', path.join(cluster.dir, 'log'), '-w', '-t', '60', 'start']),
    async destroy() {
      await pool.end().catch(() => {});
      cluster.destroy();
    },
  };
}

/** Runs a query, retried while the database is down or restarting (up to `limitMs`). */
export async function query(pool, sql, params = [], limitMs = 120_000) {
  const started = Date.now();
  for (;;) {
    try {
      return (await pool.query(sql, params)).rows;
    } catch (err) {
      if (Date.now() - started > limitMs) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
