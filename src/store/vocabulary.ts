/**
 * The words genjobs uses, each said once. They live here, at the bottom of the layers, because
 * the store is the first to need them: every layer above imports them from the store.
 *
 * - account (user): who owns keys, jobs and a credit balance.
 * - API key: a bearer secret (`sk_live_...`) that acts for one account; only its hash is stored.
 * - model: an entry of the catalog; it names its provider, its cost and its settings.
 * - app: a workflow of model nodes whose outputs feed each other; run as one job.
 * - run: one accepted request to run a model (or an app); every run becomes one job.
 * - job: the durable record of a run, moving through the statuses below.
 * - provider: the code that actually produces a model's output (built-in, HTTP service, worker).
 * - executor: the loop that claims jobs, runs them through their provider and records the result.
 * - worker: a self-hosted process that claims the jobs of its models over HTTP.
 * - lease: an executor's time-limited claim on a processing job. It is renewed while the work
 *   runs; a lease that runs out means its holder died, and another executor may take the job.
 * - lease token: a number bumped at every claim; completing, failing or releasing a job requires
 *   the token of the current claim, so a holder that lost its lease can change nothing.
 * - ledger entry: one movement of credits (grant, charge, refund). The balance is their sum.
 * - delivery: one webhook event owed for one job's terminal status, with its attempts.
 * - notice: what the store says about a job change to the processes that share it.
 */

/** Times are milliseconds since the epoch throughout the store; the API presents them as ISO 8601. */
export type Millis = number;

/** What a job runs: one catalog model, or an app (several model nodes). */
export type RunType = 'model' | 'app';

/** The statuses of a job. The store refuses every move that `ALLOWED_MOVES` does not list. */
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

/**
 * The statuses each status may move to. Nothing moves a job back to `pending`: a job whose
 * executor died stays `processing` until its lease runs out and another executor claims it.
 */
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

/** Whether the store may move a job from `from` to `to`. */
export function canMove(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED_MOVES[from].includes(to);
}

/**
 * What the store says about a job change (a new job, a new status): enough for a listener to
 * decide whether to look closer. PostgreSQL sends one per change to every process; in one
 * process, the job events carry the same shape.
 */
export interface JobNotice {
  id: string;
  status: JobStatus;
  modelId: string | null;
  /** The job's account, where the teller knows it (notices from the store's notifications do not carry it). */
  userId?: string;
}

/** How a ledger entry moved credits: granted by an operator, charged for a run, refunded. */
export type LedgerKind = 'grant' | 'charge' | 'refund';

/** Where a webhook delivery stands: still being tried, done, or given up. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * How urgent a run is within its account's own queue (the fair scheduler orders accounts by
 * weight, then each account's jobs by priority, then first-come). Stored as its index here.
 */
export const JOB_PRIORITIES = ['low', 'normal', 'high'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

export function isJobPriority(value: unknown): value is JobPriority {
  return typeof value === 'string' && (JOB_PRIORITIES as readonly string[]).includes(value);
}

/** The stored rank of a priority (0 low, 1 normal, 2 high), and back. */
export const priorityRank = (p: JobPriority): number => JOB_PRIORITIES.indexOf(p);
export const priorityOfRank = (rank: number): JobPriority => JOB_PRIORITIES[rank] ?? 'normal';
