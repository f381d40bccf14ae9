import { AuthenticationError, NotFoundError, PermissionDeniedError, WaitTimeoutError } from './errors.js';
import type { CallOptions, Transport } from './http.js';
import { sleep } from './http.js';
import { PagedList } from './paging.js';
import { readEvents } from './sse.js';
import { route } from './routes.js';
import type {
  AppOutput, BulkCancelResult, CancelManyFilter, CancelResult, Job, JobEvent, JobList, JobListQuery, RunResult, WebhookDeliveryList,
} from './types.js';
import { runRequest, type RunOptions } from './runs.js';

export interface WaitOptions {
  /** Give up after this long with WaitTimeoutError. (Default: no limit) */
  timeoutMs?: number;
  /** Stop waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with the job each time it changes (status, progress, an app node's output). */
  onUpdate?: (job: Job) => void;
  /** Listen to the job's event stream (true), or only poll (false). (Default: true) */
  live?: boolean;
  /** Least time between two polls when polling. (Default: 2000 ms) */
  pollIntervalMs?: number;
}

export interface EventsOptions {
  /** Ends the stream; the iteration then rejects with the signal's reason. Breaking out of `for await` ends it too. */
  signal?: AbortSignal;
  /** Resume after this event id. */
  lastEventId?: string;
  /** Time to get the stream's head. (Default: the client's timeoutMs) */
  timeoutMs?: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Whether a job has reached a status that never changes again. */
export const isTerminal = (job: Pick<Job, 'status'>): boolean => TERMINAL.has(job.status);

/** `client.jobs`: read, list, cancel, retry, follow and wait for jobs. */
export class Jobs {
  constructor(private readonly http: Transport) {}

  /** One job. `holdSeconds` asks the server to answer only once it ends or that time passes (`Prefer: wait`). */
  async get(id: string, options: CallOptions & { holdSeconds?: number } = {}): Promise<Job> {
    const { holdSeconds, ...call } = options;
    const hold = holdSeconds && holdSeconds > 0 ? Math.min(60, Math.ceil(holdSeconds)) : 0;
    const headers = hold ? { ...call.headers, prefer: `wait=${hold}` } : call.headers;
    const res = await this.http.json<Job>({ method: 'GET', path: route('/api/v1/jobs/{id}', { id }), repeatable: true, holdMs: hold * 1000 }, { ...call, headers });
    return res.data;
  }

  /** `await` for one page (newest first); `for await` for every job that matches, page after page. */
  list(query: JobListQuery = {}, options: CallOptions = {}): PagedList<Job, JobListQuery> {
    return new PagedList(async (q) => (await this.http.json<JobList>({ method: 'GET', path: route('/api/v1/jobs'), query: { ...q }, repeatable: true }, options)).data, query);
  }

  /** Cancels a pending or processing job; a job that has already ended is a ConflictError. */
  async cancel(id: string, options: CallOptions = {}): Promise<CancelResult> {
    return (await this.http.json<CancelResult>({ method: 'POST', path: route('/api/v1/jobs/{id}/cancel', { id }), repeatable: true }, options)).data;
  }

  /** Cancels every pending or processing job matching `filter` (`{}`: all of them). */
  async cancelMany(filter: CancelManyFilter = {}, options: CallOptions = {}): Promise<BulkCancelResult> {
    return (await this.http.json<BulkCancelResult>({ method: 'POST', path: route('/api/v1/jobs/cancel'), body: filter, repeatable: true }, options)).data;
  }

  /** Runs a job again as a new job (charged like a new run); options as `client.run`'s. */
  retry(id: string, options: RunOptions = {}): Promise<RunResult> {
    return runRequest(this.http, this, route('/api/v1/jobs/{id}/retry', { id }), undefined, options);
  }

  /** The webhook deliveries of a job, each with every attempt. */
  async deliveries(id: string, options: CallOptions = {}): Promise<WebhookDeliveryList> {
    return (await this.http.json<WebhookDeliveryList>({ method: 'GET', path: route('/api/v1/jobs/{id}/webhook_deliveries', { id }), repeatable: true }, options)).data;
  }

  /**
   * Every job of the account as it changes: a `status` event for each unfinished job first, then
   * one whenever any of its jobs (new ones too) changes status. It stays open until `signal`
   * aborts or the loop breaks out.
   */
  stream(options: EventsOptions = {}): AsyncGenerator<JobEvent> {
    return this.follow(route('/api/v1/jobs/events'), options);
  }

  /** The job's server-sent events, parsed: `status` first, then progress, log, node and status events; ends when the job does. */
  events(id: string, options: EventsOptions = {}): AsyncGenerator<JobEvent> {
    return this.follow(route('/api/v1/jobs/{id}/events', { id }), options);
  }

  private async *follow(path: string, options: EventsOptions): AsyncGenerator<JobEvent> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const headers: Record<string, string> = options.lastEventId ? { 'last-event-id': options.lastEventId } : {};
      const res = await this.http.stream({ method: 'GET', path, repeatable: true }, { signal: controller.signal, headers, timeoutMs: options.timeoutMs });
      if (res.status === 204 || !res.body) return;
      try {
        for await (const raw of readEvents(res.body)) {
          yield { id: raw.id, event: raw.event, data: JSON.parse(raw.data) } as JobEvent;
        }
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw err;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /**
   * Resolves with the job once it has ended (completed, failed or cancelled: check `status`).
   * Follows the job's event stream where the server has one, and polls otherwise (or when the
   * stream breaks), asking the server to hold each answer until the job ends.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Job> {
    const controller = new AbortController();
    const { signal } = options;
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let timedOut = false;
    const timer = Number.isFinite(deadline)
      ? setTimeout(() => {
        timedOut = true;
        controller.abort(new Error('wait timed out'));
      }, options.timeoutMs)
      : undefined;
    let job: Job | undefined;
    const seen = (next: Job) => {
      job = next;
      options.onUpdate?.(next);
      return isTerminal(next);
    };
    try {
      if (options.live !== false) {
        try {
          for await (const event of this.events(id, { signal: controller.signal })) {
            const next = applyEvent(job, event);
            if (next !== undefined && next !== job && seen(next)) return next;
          }
        } catch (err) {
          // A job that cannot be seen cannot be polled either; anything else falls back to polling.
          if (controller.signal.aborted || err instanceof NotFoundError || err instanceof AuthenticationError || err instanceof PermissionDeniedError) throw err;
        }
      }
      const interval = options.pollIntervalMs ?? 2_000;
      for (;;) {
        const started = Date.now();
        const holdSeconds = Math.min(60, Math.max(1, (deadline - started) / 1000));
        if (seen(await this.get(id, { signal: controller.signal, holdSeconds }))) return job!;
        await sleep(Math.max(0, interval - (Date.now() - started)), controller.signal);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) throw new WaitTimeoutError(job ?? await this.get(id), options.timeoutMs ?? 0);
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** The job after one event: a status event carries the whole job; progress and node events patch it. */
export function applyEvent(job: Job | undefined, event: JobEvent): Job | undefined {
  if (event.event === 'status') return event.data;
  if (!job) return undefined;
  if (event.event === 'progress') return { ...job, progress: event.data.progress };
  if (event.event === 'node') {
    const out = (job.output_data ?? { app_id: job.app_id ?? '', app_name: '', node_outputs: {} }) as unknown as AppOutput;
    return { ...job, output_data: { ...out, node_outputs: { ...out.node_outputs, [event.data.node_id]: event.data.output } } };
  }
  return job;
}

