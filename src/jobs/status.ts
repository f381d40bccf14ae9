/** The statuses of a job, and the only moves between them. */
export const JobStatus = {
  /** Accepted and paid for; waiting for an executor to claim it. */
  pending: 'pending',
  /** Claimed by an executor that holds a lease on it and is running its provider. */
  processing: 'processing',
  /** The provider produced its output. Terminal. */
  completed: 'completed',
  /** The provider failed, timed out or was abandoned; the charge was refunded. Terminal. */
  failed: 'failed',
  /** Stopped on the owner's request; refunded per the cancellation policy. Terminal. */
  cancelled: 'cancelled',
} as const;

export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** The statuses each status may move to. Everything else is refused by the store. */
export const ALLOWED_MOVES: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['processing', 'cancelled'],
  processing: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}
