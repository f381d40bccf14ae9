import { Transport, type CallOptions } from './http.js';
import { Jobs } from './jobs.js';
import { runRequest, type RunOptions } from './runs.js';
import { route } from './routes.js';
import type { Account, AppList, AppRun, LedgerList, ModelList, ModelRun, RunAppBody, RunModelBody, WebhookSecret } from './types.js';

export interface GenJobsOptions {
  /** The server, such as `https://genjobs.example.com` (a trailing `/api/v1` is fine too). (Default: http://localhost:8080) */
  baseUrl?: string;
  /** An API key, `sk_live_…`. */
  apiKey: string;
  /** Time one attempt of a call may take. (Default: 60000 ms) */
  timeoutMs?: number;
  /** Retries after a 429, and after a network failure or a 5xx where repeating is safe. (Default: 2) */
  maxRetries?: number;
  /** The fetch to use. (Default: globalThis.fetch) */
  fetch?: typeof fetch;
  /** A 429 asking to wait longer than this is thrown at once instead of waited for. (Default: 60000 ms) */
  maxRetryAfterMs?: number;
}

/**
 * A client of one genjobs server with one API key.
 *
 * ```ts
 * const client = new GenJobs({ baseUrl: 'http://localhost:8080', apiKey: process.env.GENJOBS_API_KEY! });
 * const job = await client.run('local/image', { prompt: 'a lighthouse' }, { wait: true });
 * ```
 */
export class GenJobs {
  readonly jobs: Jobs;
  readonly models: { list(options?: CallOptions): Promise<ModelList> };
  readonly apps: {
    list(options?: CallOptions): Promise<AppList>;
    /** Runs an app with `inputs` (keyed by the app's input ids); options as `client.run`'s. */
    run(appId: string, inputs?: Record<string, unknown>, options?: RunOptions): Promise<AppRun>;
  };
  readonly account: {
    get(options?: CallOptions): Promise<Account>;
    /** The account's last 100 ledger entries, newest first. */
    ledger(options?: CallOptions): Promise<LedgerList>;
  };
  /** The account's webhook secret, for `verifyWebhook` (made on first use). */
  readonly webhooks: {
    secret(options?: CallOptions): Promise<WebhookSecret>;
    /** A new secret; the previous one keeps signing for the server's grace period. */
    rotateSecret(options?: CallOptions): Promise<WebhookSecret>;
  };
  private readonly http: Transport;

  constructor(options: GenJobsOptions) {
    if (!options || typeof options.apiKey !== 'string' || options.apiKey === '') {
      throw new TypeError('GenJobs needs an apiKey: the sk_live_… key your operator created.');
    }
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') throw new TypeError('GenJobs needs fetch: pass options.fetch on a runtime without one.');
    this.http = new Transport({
      baseUrl: (options.baseUrl ?? 'http://localhost:8080').replace(/\/+$/, '').replace(/\/api\/v1$/, ''),
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      fetch: (input, init) => fetchFn(input, init),
      maxRetryAfterMs: options.maxRetryAfterMs ?? 65_000,
    });
    const http = this.http;
    const get = async <T>(path: string, call?: CallOptions) => (await http.json<T>({ method: 'GET', path, repeatable: true }, call)).data;
    this.jobs = new Jobs(http);
    this.models = { list: (call) => get(route('/api/v1/models'), call) };
    this.apps = {
      list: (call) => get(route('/api/v1/apps'), call),
      run: (appId, inputs = {}, options = {}) => runRequest(http, this.jobs, route('/api/v1/apps/run'), { app_id: appId, inputs } satisfies RunAppBody, options),
    };
    this.account = {
      get: (call) => get(route('/api/v1/account'), call),
      ledger: (call) => get(route('/api/v1/account/ledger'), call),
    };
    this.webhooks = {
      secret: (call) => get(route('/api/v1/webhooks/secret'), call),
      rotateSecret: async (call) => (await http.json<WebhookSecret>({ method: 'POST', path: route('/api/v1/webhooks/secret/rotate'), repeatable: false }, call)).data,
    };
  }

  /** Runs a model. Resolves once the run is accepted (synchronous models have finished by then), or, with `wait`, once its job has ended. */
  run(model: string, input: Record<string, unknown> = {}, options: RunOptions = {}): Promise<ModelRun> {
    return runRequest(this.http, this.jobs, route('/api/v1/models/run'), { model, input } satisfies RunModelBody, options);
  }
}
