import { isTerminal, type JobRecord } from '../store/store.js';

/**
 * True once nothing can change a job any more: it is terminal, and it owes no webhook delivery
 * whose outcome would still set `webhook_delivered`. Such a job reads the same in every process
 * until retention deletes it, so a copy can answer for the store (the process that deletes it
 * forgets its copy; see `forget`).
 */
export function isFinal(job: JobRecord): boolean {
  return isTerminal(job.status) && (job.webhookUrl === null || job.webhookDelivered);
}

/**
 * The most recently read final jobs, by id, so that polling a finished job (clients keep doing
 * it, dashboards reload it) costs no store read. Bounded: the least recently used go first.
 */
export class FinalJobCache {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(private readonly maxEntries = 2_000) {}

  /** The job if it is cached and belongs to `userId`; another account's job is never answered. */
  get(id: string, userId: string): JobRecord | undefined {
    const job = this.jobs.get(id);
    if (job === undefined || job.userId !== userId) return undefined;
    // Most recently used last.
    this.jobs.delete(id);
    this.jobs.set(id, job);
    return job;
  }

  /** Keeps `job` if it is final; anything else is left to the store. */
  remember(job: JobRecord): void {
    if (this.maxEntries <= 0 || !isFinal(job)) return;
    this.jobs.delete(job.id);
    this.jobs.set(job.id, job);
    if (this.jobs.size > this.maxEntries) {
      const oldest = this.jobs.keys().next();
      if (!oldest.done) this.jobs.delete(oldest.value);
    }
  }

  /** Drops jobs that no longer exist (retention deleted them). */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.jobs.delete(id);
  }

  get size(): number {
    return this.jobs.size;
  }
}
