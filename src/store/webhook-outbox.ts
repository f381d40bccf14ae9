import type { JobStatus } from './vocabulary.js';

/** The webhook event a terminal status announces. */
export function webhookEvent(status: JobStatus): string {
  return `job.${status}`;
}

/** How long an Idempotency-Key keeps answering with its job. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
