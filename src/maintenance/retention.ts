import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { FinalStatus, Millis, RetentionDeleted, Store } from '../store/store.js';
import type { Chore } from './service.js';

/** How long finished jobs are kept, per final status, in milliseconds; null keeps them for ever. */
export type RetentionPolicy = Record<FinalStatus, number | null>;

/** What retention counts, as the `kind` label of genjobs_retention_deleted_total. */
export type RetentionKind = 'jobs' | 'job_logs' | 'webhook_deliveries' | 'webhook_attempts' | 'idempotency_keys' | 'ledger_job_refs' | 'job_files';

/** Where output files live: the one call retention needs (the configured FileStorage: the local folder or an S3 bucket). */
export interface JobFiles {
  /** Removes every file of the job; a job without files is no error. */
  deleteJob(jobId: string): Promise<void>;
}

export interface RetentionDeps {
  store: Store;
  files: JobFiles;
  logger: Logger;
  /** Told what each batch removed (the metric). (Default: nobody) */
  onDeleted?: (kind: RetentionKind, count: number) => void;
  /** Told the ids of each batch's deleted jobs, once their rows are gone (caches drop them). (Default: nobody) */
  onJobsDeleted?: (jobIds: readonly string[]) => void;
}

export interface RetentionOptions {
  retain: RetentionPolicy;
  /** Jobs per transaction. */
  batchSize: number;
  everyMs: number;
  /**
   * Least pause between batches, so other work gets the store in between; a batch that took
   * longer is followed by a pause as long as it took. 0: no pause at all. (Default: 20 ms)
   */
  pauseMs?: number;
  /** A pass stops starting batches after this long and leaves the rest to the next, so the other chores get their turn. (Default: 10000 ms) */
  passLimitMs?: number;
}

/** Output folders removed at once after a batch. */
const FILE_CONCURRENCY = 8;

/** Whether any status has an age: with none, retention is off. */
export const retentionEnabled = (retain: RetentionPolicy): boolean => Object.values(retain).some((ms) => ms !== null);

/**
 * Retention: finished jobs older than their status's age are deleted, in batches of `batchSize`
 * jobs, each batch one short transaction (`Store.retentionDeleteJobs`), with a pause between
 * batches at least as long as the batch took, so other work has the store at least half the
 * time. A batch's output files are removed after its rows are committed: a crash in between
 * leaves files no job points at (harmless, and invisible: their URLs were never guessable), never
 * a job whose files are missing. Ledger entries keep their amounts; see the store method.
 */
export function deleteOldJobs(deps: RetentionDeps, o: RetentionOptions): Chore {
  const pauseMs = o.pauseMs ?? 20;
  const passLimitMs = o.passLimitMs ?? 10_000;
  return {
    name: 'retention',
    everyMs: o.everyMs,
    async run(now, signal) {
      const finishedBefore: Partial<Record<FinalStatus, Millis>> = {};
      for (const [status, age] of Object.entries(o.retain) as [FinalStatus, number | null][]) {
        if (age !== null) finishedBefore[status] = now - age;
      }
      if (Object.keys(finishedBefore).length === 0) return 0;
      const started = Date.now();
      const total = emptyTotals();
      let batches = 0;
      for (;;) {
        const batchStarted = Date.now();
        const batch = await deps.store.retentionDeleteJobs({ finishedBefore, limit: o.batchSize });
        const held = Date.now() - batchStarted;
        batches += 1;
        if (batch.jobIds.length > 0) deps.onJobsDeleted?.(batch.jobIds);
        const files = await deleteFiles(deps, batch.jobIds);
        add(total, batch, files);
        report(deps, batch, files);
        if (batch.jobIds.length < o.batchSize || signal?.aborted || Date.now() - started >= passLimitMs) break;
        // At least as long as the batch took: retention never keeps the store busy more than half the time.
        const pause = pauseMs > 0 ? Math.max(pauseMs, held) : 0;
        await (pause > 0 ? sleep(pause) : nextTurn());
      }
      const fields = { chore: 'retention', ...total, batches, ms: Date.now() - started };
      if (total.jobs > 0) deps.logger.info(fields, 'retention: old finished jobs deleted');
      else deps.logger.debug(fields, 'retention: nothing old enough to delete');
      return total.jobs;
    },
  };
}

/** Removes the batch's output folders, a few at a time; a failure is logged and leaves that folder as an orphan. */
async function deleteFiles(deps: RetentionDeps, jobIds: string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < jobIds.length; i += FILE_CONCURRENCY) {
    const slice = jobIds.slice(i, i + FILE_CONCURRENCY);
    const results = await Promise.allSettled(slice.map((id) => deps.files.deleteJob(id)));
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') removed += 1;
      else deps.logger.warn({ err: r.reason, jobId: slice[j] }, 'retention: the files of a deleted job could not be removed');
    });
  }
  return removed;
}

function emptyTotals() {
  return { jobs: 0, jobFiles: 0, jobLogs: 0, webhookDeliveries: 0, webhookAttempts: 0, idempotencyKeys: 0, ledgerJobRefs: 0 };
}

function add(total: ReturnType<typeof emptyTotals>, batch: RetentionDeleted, files: number): void {
  total.jobs += batch.jobIds.length;
  total.jobFiles += files;
  total.jobLogs += batch.jobLogs;
  total.webhookDeliveries += batch.webhookDeliveries;
  total.webhookAttempts += batch.webhookAttempts;
  total.idempotencyKeys += batch.idempotencyKeys;
  total.ledgerJobRefs += batch.ledgerUnlinked;
}

function report(deps: RetentionDeps, batch: RetentionDeleted, files: number): void {
  if (!deps.onDeleted || batch.jobIds.length === 0) return;
  const counts: [RetentionKind, number][] = [
    ['jobs', batch.jobIds.length], ['job_files', files], ['job_logs', batch.jobLogs], ['webhook_deliveries', batch.webhookDeliveries],
    ['webhook_attempts', batch.webhookAttempts], ['idempotency_keys', batch.idempotencyKeys], ['ledger_job_refs', batch.ledgerUnlinked],
  ];
  for (const [kind, n] of counts) if (n > 0) deps.onDeleted(kind, n);
}
