import type { JobRecord, WebhookDeliveryRecord } from './records.js';
import type { DeliveryResult } from './store.js';
import type { DeliveryStatus, JobStatus, Millis } from './vocabulary.js';

/**
 * The rules every adapter applies, written once. Each is a pure function of records and call
 * parameters; the adapters call them inside their transactions (or pass what they return to
 * their SQL), so SQLite and PostgreSQL cannot drift apart on what a call means.
 */

/** How long an Idempotency-Key keeps answering with its job. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The webhook event a terminal status announces. */
export function webhookEvent(status: JobStatus): string {
  return `job.${status}`;
}

/**
 * The credits a cancellation gives back: what the policy asked for (`requested`), in whole
 * credits, never below zero and never more than what the job was charged and not yet refunded.
 */
export function refundOnCancel(job: JobRecord, requested: number): number {
  const left = job.creditsCharged - job.creditsRefunded;
  // A policy that answers NaN asked for nothing it can be held to.
  const whole = Number.isNaN(requested) ? 0 : Math.floor(requested);
  return Math.max(0, Math.min(left, whole));
}

/** Whether a grant of `amount` (negative: a deduction) may be made on a balance: never below zero. */
export function grantAllowed(balance: number, amount: number): boolean {
  return balance + amount >= 0;
}

/** The reasons written on the ledger entries the store makes itself. */
export const LedgerReason = {
  initialCredits: 'initial credits',
  cancelled: 'job cancelled',
  failed: 'job failed',
  /** A run's charge names what ran. */
  charge: (p: { modelId: string | null; appId: string | null }) => `run of ${p.modelId ?? p.appId}`,
} as const;

/** The error a job gets when it is failed for being abandoned on every attempt. */
export function abandonedMessage(maxAttempts: number): string {
  return `The job was abandoned: its executor stopped renewing the lease on each of ${maxAttempts} attempts.`;
}

/** Where a delivery stands after an attempt with this result, made at `at`. */
export function deliveryAfterAttempt(result: DeliveryResult, at: Millis): { status: DeliveryStatus; deliveredAt: Millis | null } {
  return { status: result === 'retry' ? 'pending' : result, deliveredAt: result === 'delivered' ? at : null };
}

/** The order of the queue, and of the jobs one claim returns: oldest first, ties broken by id. */
export function byQueueOrder(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The order in which due webhook deliveries are handed out: the longest due first. */
export function byNextAttempt(a: WebhookDeliveryRecord, b: WebhookDeliveryRecord): number {
  return a.nextAttemptAt - b.nextAttemptAt;
}
