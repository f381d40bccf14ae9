import { ApiError as SdkApiError, GenJobs, type JobListQuery } from '@genjobs/sdk';
import { ApiError, fieldOf } from './http.js';
import { followStream, type EventSource, type Follow } from './stream.js';
import type { Account, App, Job, JobEvent, LedgerEntry, List, Model, WebhookDelivery, WebhookSecret } from './types.js';

/** What a run sends besides its input: the run headers and body fields of docs/api.md. */
export interface RunExtras {
  webhookUrl?: string;
}

export interface JobFilter {
  status?: string;
  model_id?: string;
  app_id?: string;
  limit?: number;
  starting_after?: string;
}

/** An SDK error as the dashboard's pages read errors: status, code, message and the field it names. */
function translate(err: unknown): unknown {
  if (!(err instanceof SdkApiError)) return err;
  const message = err.status === null
    ? 'The server could not be reached. Check your connection and try again.'
    : err.status === 429 && err.retryAfter !== null ? `${err.message}: try again in ${Math.ceil(err.retryAfter)} s` : err.message;
  return new ApiError(err.status ?? 0, err.code ?? (err.status === null ? 'network_error' : `http_${err.status}`), message, fieldOf(err.message));
}

async function sdk<T>(call: () => Promise<unknown>): Promise<T> {
  try {
    return await call() as T;
  } catch (err) {
    throw translate(err);
  }
}

/**
 * The public API (`/api/v1`) as the signed-in user calls it: every user-side request of the
 * dashboard goes through here, and all of it through @genjobs/sdk (which adds an idempotency key
 * to each run, retries what is safe to repeat, and honours Retry-After).
 */
export class UserApi {
  private client: GenJobs | undefined;

  constructor(private readonly key: string) {}

  private get sdk(): GenJobs {
    this.client ??= new GenJobs({ baseUrl: location.origin, apiKey: this.key, maxRetries: 2, timeoutMs: 30_000, maxRetryAfterMs: 5_000 });
    return this.client;
  }

  account(): Promise<Account> {
    return sdk(() => this.sdk.account.get());
  }

  ledger(): Promise<List<LedgerEntry>> {
    return sdk(() => this.sdk.account.ledger());
  }

  models(): Promise<List<Model>> {
    return sdk(() => this.sdk.models.list());
  }

  apps(): Promise<List<App>> {
    return sdk(() => this.sdk.apps.list());
  }

  listJobs(filter: JobFilter, signal?: AbortSignal): Promise<List<Job>> {
    return sdk(async () => this.sdk.jobs.list(filter as JobListQuery, signal ? { signal } : {}));
  }

  job(id: string): Promise<Job> {
    return sdk(() => this.sdk.jobs.get(id));
  }

  cancel(id: string): Promise<{ status: string; credits_refunded: number }> {
    return sdk(() => this.sdk.jobs.cancel(id));
  }

  retry(id: string): Promise<Job> {
    return sdk(() => this.sdk.jobs.retry(id));
  }

  runModel(model: string, input: Record<string, unknown>, extras: RunExtras = {}): Promise<Job> {
    return sdk(() => this.sdk.run(model, input, extras.webhookUrl ? { webhookUrl: extras.webhookUrl } : {}));
  }

  runApp(appId: string, inputs: Record<string, unknown>, extras: RunExtras = {}): Promise<Job> {
    return sdk(() => this.sdk.apps.run(appId, inputs, extras.webhookUrl ? { webhookUrl: extras.webhookUrl } : {}));
  }

  webhookDeliveries(jobId: string): Promise<List<WebhookDelivery>> {
    return sdk(() => this.sdk.jobs.deliveries(jobId));
  }

  webhookSecret(): Promise<WebhookSecret> {
    return sdk(() => this.sdk.webhooks.secret());
  }

  rotateWebhookSecret(): Promise<WebhookSecret> {
    return sdk(() => this.sdk.webhooks.rotateSecret());
  }

  /** An SDK event iterator as a source for followStream: its errors in the dashboard's terms. */
  private source(open: (client: GenJobs, options: { signal: AbortSignal; lastEventId?: string }) => AsyncIterable<unknown>): EventSource {
    const client = this.sdk;
    return async function* (lastEventId, signal, opened) {
      try {
        opened();
        for await (const e of open(client, { signal, ...(lastEventId ? { lastEventId } : {}) })) yield e as JobEvent & { id?: string };
      } catch (err) {
        throw translate(err);
      }
    };
  }

  /** One job's live events, opened again after a drop; returns `stop`. */
  followJob(id: string, onEvent: (e: JobEvent) => void, opts: Follow = {}): () => void {
    return followStream(this.source((client, o) => client.jobs.events(id, o)), onEvent, opts);
  }

  /** Status changes of every job of the account; returns `stop`. */
  followAccount(onEvent: (e: JobEvent) => void, opts: Follow = {}): () => void {
    return followStream(this.source((client, o) => client.jobs.stream(o)), onEvent, opts);
  }
}
