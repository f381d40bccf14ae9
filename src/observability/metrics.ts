import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobEvents } from '../jobs/events.js';
import { isTerminal, type JobNotice, type JobRecord } from '../store/store.js';

const full = (job: JobNotice | JobRecord | undefined): job is JobRecord => job !== undefined && 'attempts' in job;
/** The model label of a job: its model, or `app` for an app run (its nodes' models are not one). */
const modelOf = (job: { modelId: string | null }) => job.modelId ?? 'app';
const runTypeOf = (job: JobNotice | JobRecord) => (full(job) ? job.runType : job.modelId === null ? 'app' : 'model');

/** Seconds buckets from a tenth of a second to an hour: dispatch waits and run times of models. */
const JOB_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds buckets of HTTP answers: a millisecond to a minute (long polls and synchronous runs). */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * This process's metrics, in a registry of its own (so several apps in one process, as in tests,
 * count apart). Every counter counts what happened in this process only, so summing a counter
 * over all processes gives the deployment's total. Queue and webhook backlog gauges are read
 * from the store at scrape time (`QueueProbe`): every process reports the same shared figures.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly jobsCreated = new Counter({ name: 'genjobs_jobs_created_total', help: 'Jobs created in this process, by model and run type.', labelNames: ['model', 'run_type'], registers: [this.registry] });
  readonly jobsFinished = new Counter({ name: 'genjobs_jobs_finished_total', help: 'Jobs that reached a final status in this process, by status, model and run type.', labelNames: ['status', 'model', 'run_type'], registers: [this.registry] });
  readonly dispatch = new Histogram({ name: 'genjobs_job_dispatch_seconds', help: 'Time from a job\'s creation to its first start, by model.', labelNames: ['model'], buckets: JOB_BUCKETS, registers: [this.registry] });
  readonly runTime = new Histogram({ name: 'genjobs_job_run_seconds', help: 'Time from a job\'s start to its final status, by model and status.', labelNames: ['model', 'status'], buckets: JOB_BUCKETS, registers: [this.registry] });
  readonly creditsCharged = new Counter({ name: 'genjobs_credits_charged_total', help: 'Credits charged for jobs created in this process.', registers: [this.registry] });
  readonly creditsRefunded = new Counter({ name: 'genjobs_credits_refunded_total', help: 'Credits refunded for jobs that finished in this process.', registers: [this.registry] });
  readonly webhookAttempts = new Counter({ name: 'genjobs_webhook_attempts_total', help: 'Webhook delivery attempts made by this process, by outcome (delivered, retry, failed).', labelNames: ['outcome'], registers: [this.registry] });
  readonly webhookFailures = new Counter({ name: 'genjobs_webhook_failures_total', help: 'Webhook deliveries given up by this process (retries exhausted, endpoint gone, target refused).', registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'genjobs_rate_limited_total', help: 'Requests refused with 429 rate_limited in this process.', registers: [this.registry] });
  readonly eventStreams = new Gauge({ name: 'genjobs_event_streams', help: 'Event stream requests (GET /api/v1/jobs/events, /api/v1/jobs/:id/events) open in this process.', registers: [this.registry] });
  readonly retentionDeleted = new Counter({ name: 'genjobs_retention_deleted_total', help: 'What retention removed in this process, by kind: jobs, job_logs, webhook_deliveries, webhook_attempts, idempotency_keys, job_files (a job\'s folder of output files), ledger_job_refs (job references cleared; the entries stay), orphan_files (files no job names, removed by the orphan sweep).', labelNames: ['kind'], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'genjobs_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'genjobs_http_request_duration_seconds', help: 'Time to answer HTTP requests, by method and route pattern.', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS, registers: [this.registry] });

  constructor(opts: { processMetrics?: boolean } = {}) {
    // The process's own figures (CPU, memory, event-loop lag, GC, handles), prefixed like the rest.
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'genjobs_' });
  }

  /** Counts job news told by this process's own code; `relaying()` says when the news came from another process. */
  attach(events: JobEvents, relaying: () => boolean): () => void {
    const offCreated = events.onCreated((job) => {
      if (relaying() || !full(job)) return;
      this.jobsCreated.inc({ model: modelOf(job), run_type: job.runType });
      if (job.creditsCharged > 0) this.creditsCharged.inc(job.creditsCharged);
    });
    const offChanged = events.onChanged((job) => {
      if (relaying()) return;
      if (job.status === 'processing') {
        // The first claim only: a retried or taken-over job's wait is not a dispatch.
        if (full(job) && job.attempts === 1 && job.startedAt !== null) this.dispatch.observe({ model: modelOf(job) }, Math.max(0, job.startedAt - job.createdAt) / 1000);
        return;
      }
      if (!isTerminal(job.status)) return;
      this.jobsFinished.inc({ status: job.status, model: modelOf(job), run_type: runTypeOf(job) });
      if (!full(job)) return;
      if (job.creditsRefunded > 0) this.creditsRefunded.inc(job.creditsRefunded);
      const end = job.completedAt ?? job.cancelledAt;
      if (job.startedAt !== null && end !== null) this.runTime.observe({ model: modelOf(job), status: job.status }, Math.max(0, end - job.startedAt) / 1000);
    });
    return () => { offCreated(); offChanged(); };
  }

  /** A webhook attempt's outcome, as the dispatcher recorded it. */
  webhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.webhookAttempts.inc({ outcome });
    if (outcome === 'failed') this.webhookFailures.inc();
  }
}
