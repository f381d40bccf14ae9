import type { Logger } from 'pino';
import { cancelDueJobs } from '../jobs/deadlines.js';
import type { JobEvents } from '../jobs/events.js';
import type { JobRecord, Store } from '../store/store.js';
import type { Chore } from './service.js';

/** Rate-limit counts are kept this long: the rolling window is 60 s, so older seconds count for nothing. */
export const RATE_LIMIT_KEEP_MS = 120_000;

/**
 * Jobs claimed `maxAttempts` times whose last lease ran out (their executors or workers kept
 * dying) are failed with a full refund, and listeners told.
 */
export function failAbandonedJobs(deps: { store: Store; events: JobEvents; logger: Logger }, p: { maxAttempts: number; everyMs: number }): Chore {
  return {
    name: 'fail-abandoned-jobs',
    everyMs: p.everyMs,
    async run(now) {
      const failed = await deps.store.jobFailAbandoned({ now, maxAttempts: p.maxAttempts });
      for (const job of failed) {
        deps.logger.warn({ jobId: job.id }, 'maintenance: job failed after its executors kept dying');
        deps.events.changed(job);
      }
      return failed.length;
    },
  };
}

/** Unfinished jobs past their Cancel-After deadline are cancelled, refunded per the policy. */
export function cancelJobsPastDeadline(deps: { store: Store; events: JobEvents }, p: { refundFor: (job: JobRecord) => number; everyMs: number }): Chore {
  return {
    name: 'cancel-jobs-past-deadline',
    everyMs: p.everyMs,
    async run(now) {
      return (await cancelDueJobs(deps, p.refundFor, now)).length;
    },
  };
}

/** Rate-limit counts of seconds that no window reaches any more are deleted (PostgreSQL keeps them in a table). */
export function pruneRateLimitCounts(deps: { store: Store }, p: { everyMs: number }): Chore {
  return {
    name: 'prune-rate-limit-counts',
    everyMs: p.everyMs,
    run: (now) => deps.store.rateLimitPrune({ before: now - RATE_LIMIT_KEEP_MS }),
  };
}
