import pg from 'pg';
import { createHash } from 'node:crypto';
import { StoreUnavailableError } from '../errors.js';
import { connectionConfig, isConnectionError, wrapError } from './connection.js';

/**
 * Runs statements, on the pool or inside one transaction. The query modules (`jobs.ts`,
 * `users.ts`, ...) take one of these, so a statement reads the same whether it runs alone or as
 * part of a larger transaction.
 */
export interface Sql {
  /** The rows `text` returns. Connection failures become StoreUnavailableError. */
  q<R>(text: string, values?: unknown[]): Promise<R[]>;
  /** The first row `text` returns, if any. */
  one<R>(text: string, values?: unknown[]): Promise<R | undefined>;
}

/** Statements that may open a transaction: the pool, or (audit.ts) a transaction already open, which the inner one joins. */
export interface Transactional extends Sql {
  tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
}

/** An error that is no single item's fault: the database cannot be reached. */
export const unreachable = (err: unknown): boolean => err instanceof StoreUnavailableError || isConnectionError(err);

const statementNames = new Map<string, string>();
/** A stable name per SQL text, for prepared statements. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `g${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

async function run<R>(db: pg.Pool | pg.PoolClient, text: string, values: unknown[]): Promise<R[]> {
  try {
    // Named, so each connection parses and plans a statement once instead of on every call.
    return (await db.query({ name: statementName(text), text, values })).rows as R[];
  } catch (err) {
    throw wrapError(err);
  }
}

/** How many times a transaction is tried when PostgreSQL aborts it for a deadlock or a serialisation failure. */
const TX_ATTEMPTS = 3;
/** deadlock_detected and serialization_failure: the transaction was rolled back whole and may simply run again. */
const isRetryable = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
};

/** Statements on one checked-out client, inside its transaction. */
class ClientSql implements Sql {
  constructor(private readonly client: pg.PoolClient) {}
  q<R>(text: string, values: unknown[] = []): Promise<R[]> {
    return run<R>(this.client, text, values);
  }
  async one<R>(text: string, values: unknown[] = []): Promise<R | undefined> {
    return (await this.q<R>(text, values))[0];
  }
}

export interface PgDbOptions {
  url: string;
  schema: string | undefined;
  poolSize: number;
  onBackgroundError: (err: unknown) => void;
}

/** The connection plumbing of the PostgreSQL store: its pool, statements on it, and transactions. */
export class PgDb implements Transactional {
  readonly pool: pg.Pool;
  /** Shared with the listener's own connection. */
  readonly config: pg.ClientConfig;
  readonly onBackgroundError: (err: unknown) => void;

  constructor(opts: PgDbOptions) {
    this.config = connectionConfig(opts.url, opts.schema);
    this.onBackgroundError = opts.onBackgroundError;
    this.pool = new pg.Pool({ ...this.config, max: opts.poolSize });
    // An idle client whose connection drops must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => this.onBackgroundError(err));
    // Nor a client in the hand of no one: between pool.connect() giving a client to a waiting
    // transaction and the transaction's listener (a microtask later), a connection cut in that
    // gap (PostgreSQL's FATAL read with the answer that freed the client, on a restart) would
    // be emitted to nobody. Every client keeps this listener for its life. It only needs to be
    // there: the client is no longer queryable, so its next statement fails as unavailable and
    // the pool drops it, and whoever held it hears the error on their own listener too.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  q<R>(text: string, values: unknown[] = []): Promise<R[]> {
    return run<R>(this.pool, text, values);
  }

  async one<R>(text: string, values: unknown[] = []): Promise<R | undefined> {
    return (await this.q<R>(text, values))[0];
  }

  /**
   * Runs `fn` in one transaction on one client: committed if it returns, rolled back if it throws.
   * A transaction PostgreSQL chose as a deadlock's victim, or failed to serialise, did nothing;
   * it is run again (up to TX_ATTEMPTS times in all, after a short random pause so the two do not
   * meet again), so `fn` must have no effect outside the database.
   */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(fn);
      } catch (err) {
        if (attempt >= TX_ATTEMPTS || !isRetryable(err)) throw err;
        this.retriedTransactions++;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  /** Transactions run again after a deadlock or serialisation failure (read by tests). */
  retriedTransactions = 0;

  private async txOnce<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrapError(err);
    }
    // While checked out, a client has no listener of the pool's: a connection that drops
    // mid-transaction would emit an unhandled 'error' and end the process. The statement
    // under way fails with the same error, which is what the caller gets.
    let lost: Error | undefined;
    const onLost = (err: Error) => { lost = err; };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const out = await fn(new ClientSql(client));
      await client.query('COMMIT');
      client.removeListener('error', onLost);
      client.release();
      return out;
    } catch (err) {
      if (!lost) await client.query('ROLLBACK').catch(() => { /* the connection may be gone */ });
      client.removeListener('error', onLost);
      // A broken connection is destroyed rather than returned to the pool.
      client.release(lost ?? (isConnectionError(err) ? (err as Error) : undefined));
      throw wrapError(err);
    }
  }

  /** One client for work outside a transaction (migrations); `fn` must not keep it. */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
