import pg from 'pg';

/**
 * The text whose hash (`hashtextextended(key, 0)`) is the lock's key: one per schema and name, so
 * schemas on one database lead apart. A restore takes the maintenance lock to know no genjobs
 * process runs on the schema.
 */
export function leaderLockKey(schema: string, name: string): string {
  return `genjobs:${schema}:${name}`;
}

/**
 * Leadership among the processes sharing one PostgreSQL schema, by a session-level advisory
 * lock per name held on a connection of its own: the process whose session holds the lock leads,
 * and it leads exactly as long as that session lives. A process that dies or loses its
 * connection loses the lock with it, and the next process to try takes over.
 */
export class AdvisoryLeader {
  private readonly held = new Map<string, pg.Client>();

  constructor(private readonly config: pg.ClientConfig, private readonly schema: () => string, private readonly onError: (err: unknown) => void) {}

  private key(name: string): string {
    return leaderLockKey(this.schema(), name);
  }

  /** True while this process holds `name`: checks the holding session is alive, else tries to take the lock. */
  async tryAcquire(name: string): Promise<boolean> {
    const current = this.held.get(name);
    if (current) {
      try {
        await current.query('SELECT 1');
        return true;
      } catch {
        this.drop(name, current);
      }
    }
    const client = new pg.Client(this.config);
    // A connection that breaks while idle must not crash the process; the next call notices.
    client.on('error', (err) => {
      this.onError(err);
      this.drop(name, client);
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.key(name)]);
      if (rows[0]?.ok) {
        this.held.set(name, client);
        return true;
      }
    } catch (err) {
      this.onError(err);
    }
    await client.end().catch(() => undefined);
    return false;
  }

  /** Gives `name` up, if held: the session ends, and the lock with it. */
  async release(name: string): Promise<void> {
    const client = this.held.get(name);
    if (!client) return;
    this.held.delete(name);
    await client.end().catch(() => undefined);
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((name) => this.release(name)));
  }

  private drop(name: string, client: pg.Client): void {
    if (this.held.get(name) === client) this.held.delete(name);
    client.end().catch(() => undefined);
  }
}
