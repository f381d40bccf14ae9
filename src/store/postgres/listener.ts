import pg from 'pg';
import type { JobNotice } from '../vocabulary.js';
import { quoteIdent } from './migrate.js';

/**
 * A dedicated connection that LISTENs to the job channel and passes each notice on. When the
 * connection drops (the database restarted), it reconnects with backoff and then reports
 * `null`: notices may have been missed, so listeners should look at the store again.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onNotice: (notice: JobNotice | null) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return;
      try {
        const n = JSON.parse(msg.payload) as { id: string; status: JobNotice['status']; model_id: string | null };
        this.onNotice({ id: n.id, status: n.status, modelId: n.model_id });
      } catch (err) {
        this.onError(err);
      }
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    await client.connect();
    await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    this.client = client;
    this.retryMs = 100;
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    if (err) this.onError(err);
    client.end().catch(() => { /* already gone */ });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(
        () => this.onNotice(null),
        (err: unknown) => {
          this.onError(err);
          this.retryMs = Math.min(this.retryMs * 2, 5_000);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => { /* already gone */ });
  }
}
