import type { Logger } from 'pino';
import type { JobEvents } from '../jobs/events.js';
import { isTerminal, type JobNotice, type JobRecord } from '../store/store.js';

const full = (job: JobNotice | JobRecord | undefined): job is JobRecord => job !== undefined && 'attempts' in job;

/**
 * Job lifecycle lines at info, each with the job id: created, started (claimed by this process's
 * executor or a worker it serves), completed, failed, cancelled. Written by the process where the
 * change happened: news relayed from the shared store (other processes' changes) goes through
 * `relay`, which this log ignores, so a change is logged once across all processes.
 */
export class JobLog {
  private relaying = false;

  /** True while a notice heard from the store is being told: the metrics skip it too. */
  get isRelaying(): boolean {
    return this.relaying;
  }

  constructor(private readonly logger: Logger) {}

  attach(events: JobEvents): () => void {
    const offCreated = events.onCreated((job) => {
      if (this.relaying || !full(job)) return;
      this.logger.info({ jobId: job.id, model: job.modelId, appId: job.appId, runType: job.runType, accountId: job.userId, credits: job.creditsCharged }, 'job created');
    });
    const offChanged = events.onChanged((job) => {
      if (this.relaying) return;
      if (job.status === 'processing') {
        // A progress notice is not a claim: only a claim hands the whole record round.
        if (full(job)) this.logger.info({ jobId: job.id, model: job.modelId, attempt: job.attempts }, 'job started');
        return;
      }
      if (!isTerminal(job.status)) return;
      const refunded = full(job) ? { refunded: job.creditsRefunded } : {};
      this.logger.info({ jobId: job.id, model: job.modelId, status: job.status, ...refunded }, `job ${job.status}`);
    });
    return () => { offCreated(); offChanged(); };
  }

  /** Runs `emit` (a notice heard from the store) without logging what it tells. */
  relay(emit: () => void): void {
    this.relaying = true;
    try {
      emit();
    } finally {
      this.relaying = false;
    }
  }
}
