import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import { presentJob } from '../jobs/present.js';
import { withLinks, type OutputLinks } from '../jobs/links.js';
import type { JobEvents } from '../jobs/events.js';
import { isTerminal, type Store, type WebhookDeliveryRecord } from '../store/store.js';
import { retryAfterMs } from '../http/retry-after.js';
import { signingSecrets } from './secrets.js';
import { signatureHeaders } from './signing.js';
import { assertPublicLiteral, guardedLookup, PrivateTargetError } from '../http/addresses.js';
import { WakeLoop } from '../background/wake-loop.js';

export interface DispatcherOptions {
  store: Store;
  events: JobEvents;
  logger: Logger;
  /** How this process links output files in the bodies it sends. */
  links: OutputLinks;
  /** Allow targets on private addresses. (Default: false) */
  allowPrivate: boolean;
  /** Time one attempt may take. (Default: 10000 ms) */
  timeoutMs: number;
  /** First retry delay, doubled per attempt, up to 6 h. (Default: 5000 ms) */
  backoffMs: number;
  /** Retries stop this long after the delivery was written. (Default: three days) */
  retryForMs: number;
  /** How often to look for due deliveries without being told. (Default: 1000 ms) */
  pollMs?: number;
  /** Deliveries sent at once. (Default: 16) */
  concurrency?: number;
  /** Told each recorded attempt's outcome (the metrics count them). */
  onAttempt?: (outcome: 'delivered' | 'retry' | 'failed') => void;
}

const MAX_DELAY_MS = 6 * 3_600_000;

/** What lets webhooks reach private addresses, named in the refusal. */
const ALLOW_SETTING = 'GENJOBS_WEBHOOK_ALLOW_PRIVATE=true';

/**
 * The body of a delivery: the event and the job, which carries at least id, status, output and
 * completed_at, its links made by this process. Links served by genjobs do not change, so every
 * attempt sends the body of the first; presigned links expire (an hour by default, while a
 * delivery is retried for days), so each attempt renders the job, a final one, again with links
 * signed afresh. A job deleted by retention in between is sent as it was last rendered.
 */
async function buildPayload(store: Store, links: OutputLinks, d: WebhookDeliveryRecord): Promise<string> {
  if (d.payload && links.stable === true) return d.payload;
  const stored = await store.jobGetById({ id: d.jobId });
  if (!stored) {
    if (d.payload) return d.payload;
    throw new Error(`job ${d.jobId} of delivery ${d.id} is gone`);
  }
  const job = await withLinks(stored, links);
  return JSON.stringify({ event: d.event, job: { ...presentJob(job), output: job.outputData ?? null } });
}

/**
 * Sends the webhook outbox: leases due deliveries, signs and POSTs each, and records the
 * outcome. A 2xx delivers; 410 Gone stops every pending delivery to that endpoint; anything
 * else (3xx included: redirects are not followed, a timeout, a refused connection) is retried
 * with exponential backoff and jitter, honouring Retry-After, for `retryForMs`. Every attempt
 * of a delivery sends the same `webhook-id` and job, so receivers can dedupe (with presigned
 * links, each attempt's links are signed afresh).
 */
export class WebhookDispatcher {
  private readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}:webhooks`;
  private readonly agent: Agent;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = 0;
  private readonly loop: WakeLoop;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: DispatcherOptions) {
    this.agent = new Agent({ connect: { timeout: o.timeoutMs, ...(o.allowPrivate ? {} : { lookup: guardedLookup(ALLOW_SETTING) }) } });
    this.loop = new WakeLoop(() => this.tick(), (err) => o.logger.error({ err }, 'webhooks: claiming deliveries failed'));
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.o.pollMs ?? 1_000);
    this.unsubscribe = this.o.events.onChanged((n) => { if (isTerminal(n.status)) this.wake(); });
    this.wake();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Sends what is due; true when the batch was full, so more is probably waiting. */
  private async tick(): Promise<boolean> {
    const free = (this.o.concurrency ?? 16) - this.running;
    if (free <= 0) return false;
    const due = await this.o.store.webhookClaimDue({ owner: this.owner, now: Date.now(), limit: free, leaseMs: this.o.timeoutMs * 3 });
    for (const d of due) {
      this.running++;
      const p = this.deliver(d)
        .catch((err: unknown) => this.o.logger.error({ err, deliveryId: d.id }, 'webhooks: recording an attempt failed'))
        .finally(() => {
          this.running--;
          this.inFlight.delete(p);
          this.wake();
        });
      this.inFlight.add(p);
    }
    return due.length === free;
  }

  private async deliver(d: WebhookDeliveryRecord): Promise<void> {
    const { store, logger } = this.o;
    const payload = await buildPayload(store, this.o.links, d);
    const at = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    let retryAfter: number | null = null;
    let permanent = false;
    try {
      const url = new URL(d.url);
      if (!this.o.allowPrivate) assertPublicLiteral(url, ALLOW_SETTING);
      const secrets = await signingSecrets(store, d.userId, at);
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'genjobs-webhooks/1',
          ...signatureHeaders({ secrets, id: d.id, timestamp: Math.floor(at / 1000), body: payload }),
        },
        body: payload,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      statusCode = res.statusCode;
      await res.body.dump();
      if (statusCode >= 300) error = statusCode < 400 ? `answered ${statusCode}: redirects are not followed` : `answered ${statusCode}`;
      retryAfter = retryAfterMs(res.headers['retry-after'], at);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      permanent = err instanceof PrivateTargetError || cause instanceof PrivateTargetError;
      error = (permanent && cause instanceof PrivateTargetError ? cause : (err as Error)).message;
      if ((err as Error).name === 'TimeoutError') error = `no answer within ${this.o.timeoutMs} ms`;
    }
    const attempt = { n: d.attempts + 1, at, statusCode, error, durationMs: Date.now() - at };
    const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
    if (delivered) {
      await store.webhookRecordAttempt({ id: d.id, owner: this.owner, attempt, result: 'delivered', nextAttemptAt: at, payload });
      this.o.onAttempt?.('delivered');
      return;
    }
    if (statusCode === 410) {
      await store.webhookRecordAttempt({ id: d.id, owner: this.owner, attempt, result: 'failed', nextAttemptAt: at, payload });
      this.o.onAttempt?.('failed');
      const stopped = await store.webhookFailEndpoint({ userId: d.userId, url: d.url, reason: `${d.url} answered 410 Gone: deliveries to it stopped`, now: at });
      logger.warn({ url: d.url, stopped }, 'webhooks: endpoint gone (410); its pending deliveries stopped');
      return;
    }
    const base = Math.min(MAX_DELAY_MS, this.o.backoffMs * 2 ** d.attempts);
    const delay = Math.max(base * (0.8 + Math.random() * 0.4), Math.min(retryAfter ?? 0, MAX_DELAY_MS));
    const next = at + Math.round(delay);
    const giveUp = permanent || next - d.createdAt > this.o.retryForMs;
    await store.webhookRecordAttempt({ id: d.id, owner: this.owner, attempt, result: giveUp ? 'failed' : 'retry', nextAttemptAt: next, payload });
    this.o.onAttempt?.(giveUp ? 'failed' : 'retry');
    logger.info({ deliveryId: d.id, url: d.url, statusCode, error, next: giveUp ? null : new Date(next).toISOString() }, 'webhooks: attempt failed');
  }

  /** Stops looking for deliveries and waits for the attempts under way. */
  async stop(): Promise<void> {
    this.loop.stop();
    clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.inFlight]);
    await this.agent.close();
  }
}
