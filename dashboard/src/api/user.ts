import { requestJson } from './http.js';
import { followEvents, type Follow } from './stream.js';
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

const query = (q: Record<string, string | number | undefined>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
};

/**
 * The public API (`/api/v1`) as the signed-in user calls it: every user-side request of the
 * dashboard goes through here, so swapping in another client touches only this module.
 */
export class UserApi {
  constructor(private readonly key: string) {}

  private get<T>(path: string, signal?: AbortSignal) {
    return requestJson<T>(`/api/v1${path}`, this.key, signal ? { signal } : {});
  }

  private post<T>(path: string, body?: unknown) {
    return requestJson<T>(`/api/v1${path}`, this.key, { method: 'POST', body: body ?? {} });
  }

  account(): Promise<Account> {
    return this.get('/account');
  }

  ledger(): Promise<List<LedgerEntry>> {
    return this.get('/account/ledger');
  }

  models(): Promise<List<Model>> {
    return this.get('/models');
  }

  apps(): Promise<List<App>> {
    return this.get('/apps');
  }

  listJobs(filter: JobFilter, signal?: AbortSignal): Promise<List<Job>> {
    return this.get(`/jobs${query({ ...filter })}`, signal);
  }

  job(id: string): Promise<Job> {
    return this.get(`/jobs/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<{ status: string; credits_refunded: number }> {
    return this.post(`/jobs/${encodeURIComponent(id)}/cancel`);
  }

  retry(id: string): Promise<Job> {
    return this.post(`/jobs/${encodeURIComponent(id)}/retry`);
  }

  runModel(model: string, input: Record<string, unknown>, extras: RunExtras = {}): Promise<Job> {
    return this.post('/models/run', { model, input, ...(extras.webhookUrl ? { webhook_url: extras.webhookUrl } : {}) });
  }

  runApp(appId: string, inputs: Record<string, unknown>, extras: RunExtras = {}): Promise<Job> {
    return this.post('/apps/run', { app_id: appId, inputs, ...(extras.webhookUrl ? { webhook_url: extras.webhookUrl } : {}) });
  }

  webhookDeliveries(jobId: string): Promise<List<WebhookDelivery>> {
    return this.get(`/jobs/${encodeURIComponent(jobId)}/webhook_deliveries`);
  }

  webhookSecret(): Promise<WebhookSecret> {
    return this.get('/webhooks/secret');
  }

  rotateWebhookSecret(): Promise<WebhookSecret> {
    return this.post('/webhooks/secret/rotate');
  }

  /** One job's live events; returns `stop`. */
  followJob(id: string, onEvent: (e: JobEvent) => void, opts?: Follow): () => void {
    return followEvents(`/api/v1/jobs/${encodeURIComponent(id)}/events`, this.key, onEvent, opts);
  }

  /** Status changes of every job of the account; returns `stop`. */
  followAccount(onEvent: (e: JobEvent) => void, opts?: Follow): () => void {
    return followEvents('/api/v1/jobs/events', this.key, onEvent, opts);
  }
}
