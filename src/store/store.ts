import type { JobStatus } from '../jobs/status.js';
import type { JobNotice } from '../jobs/events.js';
import type { RateDecision } from '../ratelimit/sliding-window.js';
import type {
  ApiKeyRecord, AppRecord, JobLogLine, JobRecord, WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSecrets, WorkerRecord, LedgerEntryRecord, Millis, QueueSummaryRecord, RunType, UserRecord,
} from './records.js';

export * from './records.js';

/** Queue positions are counted up to this many jobs ahead: beyond it the exact number costs a scan and tells nobody more. */
export const QUEUE_POSITION_CAP = 10_000;

/**
 * The storage port. Every query genjobs makes goes through this interface; each database has
 * one adapter (`store/sqlite/`, later `store/postgres/`) and both must pass the conformance
 * suite in `test/store/conformance.ts`.
 *
 * Every state change is a guarded update: a method that moves a job names the statuses (and, for
 * executors, the lease token) it may move from, and returns `null` when the database refused.
 * Credits move only inside the same transaction as the job change they belong to.
 */
export interface Store {
  /** Which adapter this is, for logs and `/metrics`. */
  readonly dialect: 'sqlite' | 'postgres';

  // ---- users and credits ----
  /** Creates an account; a positive `credits` is written as a grant ledger entry. */
  userCreate(p: { name: string | null; credits: number; apiAccess?: boolean; now: Millis }): Promise<UserRecord>;
  userGetById(p: { id: string }): Promise<UserRecord | null>;
  /**
   * Accounts in creation order (ids are time-ordered), or newest first with `order: 'desc'`;
   * `limit` of them after `afterId` (in that order) when given.
   */
  userList(p: { limit: number; afterId?: string; order?: 'asc' | 'desc' }): Promise<UserRecord[]>;
  /**
   * Adds (or, with a negative amount, removes) credits as a grant ledger entry. Refuses to take
   * the balance below zero: returns `insufficient` with what is available.
   */
  userGrantCredits(p: { userId: string; amount: number; reason: string | null; now: Millis }): Promise<
    { ok: true; user: UserRecord } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'insufficient'; available: number }
  >;
  userSetApiAccess(p: { userId: string; apiAccess: boolean }): Promise<UserRecord | null>;

  // ---- API keys ----
  apiKeyCreate(p: {
    userId: string; name: string | null; keyPrefix: string; keyHash: string;
    expiresAt: Millis | null; rateLimitPerMinute: number; now: Millis;
  }): Promise<ApiKeyRecord>;
  /** The key with this hash and its account, whatever its state: the caller decides what is valid. */
  apiKeyGetByHash(p: { keyHash: string }): Promise<{ key: ApiKeyRecord; user: UserRecord } | null>;
  apiKeyListByUser(p: { userId: string }): Promise<ApiKeyRecord[]>;
  /** Sets `is_active` false. Returns null when the key does not exist or belongs to another account. */
  apiKeyRevoke(p: { userId: string; keyId: string }): Promise<ApiKeyRecord | null>;

  // ---- private apps ----
  appCreate(p: { id: string; userId: string; definition: unknown; now: Millis }): Promise<AppRecord>;
  /** Replaces the definition; null when there is no such app. */
  appUpdate(p: { id: string; definition: unknown; now: Millis }): Promise<AppRecord | null>;
  appSetActive(p: { id: string; isActive: boolean; now: Millis }): Promise<AppRecord | null>;
  appGetById(p: { id: string }): Promise<AppRecord | null>;
  /** The account's apps, active or not, oldest first. */
  appListByUser(p: { userId: string }): Promise<AppRecord[]>;

  // ---- jobs: creation and reads ----
  /**
   * Debits `cost` and inserts the job in one transaction. When the balance is short, nothing is
   * written and the available balance is returned. With `idempotency`, a key the account used
   * in the last 24 hours returns that key's job (`replayed`) and charges nothing, or, when the
   * request differs, a conflict.
   */
  jobCreateCharged(p: {
    id: string; userId: string; runType: RunType; modelId: string | null; appId: string | null;
    inputData: unknown; webhookUrl: string | null; cost: number; now: Millis;
    cancelAfterAt?: Millis | null; retryOf?: string | null; idempotency?: { key: string; requestHash: string };
  }): Promise<
    | { ok: true; job: JobRecord; balance: number; replayed: boolean }
    | { ok: false; reason: 'insufficient'; available: number }
    | { ok: false; reason: 'idempotency_conflict'; jobId: string }
  >;
  /** With `userId`, only that account's job is found. */
  jobGetById(p: { id: string; userId?: string }): Promise<JobRecord | null>;
  /** The account's jobs, newest first (created_at, then id, descending). */
  jobList(p: JobListFilter & { userId: string; limit: number; startingAfter?: { createdAt: Millis; id: string } }): Promise<JobRecord[]>;
  /** How many pending jobs (of every account) were created before this one, counted up to QUEUE_POSITION_CAP. */
  jobQueuePosition(p: { id: string; createdAt: Millis }): Promise<number>;
  /** Pending and processing jobs of every account, counted by status and model (or app), and the oldest pending job's age. */
  jobQueueSummary(): Promise<QueueSummaryRecord>;

  // ---- jobs: moves ----
  /**
   * pending|processing -> cancelled, refunding `refund(job)` credits in the same transaction.
   * A terminal job is left alone and returned with `changed: false`.
   */
  jobCancel(p: { id: string; userId: string; now: Millis; refundFor: (job: JobRecord) => number }): Promise<
    { changed: true; job: JobRecord; previousStatus: JobStatus } | { changed: false; job: JobRecord } | null
  >;
  /**
   * Claims up to `limit` jobs, oldest first: pending ones, and processing ones whose lease ran
   * out (their holder died). Each claim bumps `attempts` and the lease token. `excludeModels`
   * skips models (at their concurrency limit here, or served by workers); `onlyModels` takes
   * jobs of those models only (a worker's).
   */
  jobClaim(p: { owner: string; limit: number; leaseMs: number; now: Millis; excludeModels?: string[]; onlyModels?: string[]; maxAttempts: number }): Promise<JobRecord[]>;
  /** Renews leases still held by `owner`; returns the ids it still holds (the others were lost or cancelled). */
  jobLeaseExtend(p: { owner: string; ids: string[]; leaseMs: number; now: Millis }): Promise<string[]>;
  /** processing -> completed, only for the current lease. */
  jobComplete(p: { id: string; leaseToken: number; outputData: unknown; now: Millis }): Promise<JobRecord | null>;
  /** processing -> failed with a full refund in the same transaction, only for the current lease. */
  jobFail(p: { id: string; leaseToken: number; errorMessage: string; now: Millis }): Promise<JobRecord | null>;
  /** Stores partial output of a processing job (app node outputs, progress), only for the current lease. */
  jobSetOutput(p: { id: string; leaseToken: number; outputData: unknown }): Promise<boolean>;
  /**
   * Gives a processing job back without counting the attempt: its lease ends now, so the next
   * claim takes it. Used at shutdown.
   */
  jobRelease(p: { id: string; leaseToken: number; now: Millis }): Promise<boolean>;
  /**
   * Fails and refunds every processing job whose lease ran out after `maxAttempts` claims:
   * its executors keep dying on it, so it is not run again.
   */
  jobFailAbandoned(p: { now: Millis; maxAttempts: number }): Promise<JobRecord[]>;

  /** Unfinished jobs whose Cancel-After deadline has passed (each is then cancelled with `jobCancel`). */
  jobListPastDeadline(p: { now: Millis; limit: number }): Promise<{ id: string; userId: string }[]>;
  /** Records a lease holder's progress (0 to 1) and log lines; false when the lease is no longer held. */
  jobReportProgress(p: { id: string; leaseToken: number; progress: number | null; logs: string[]; now: Millis }): Promise<boolean>;
  /** A job's log lines, oldest first. */
  jobLogList(p: { id: string; limit: number }): Promise<JobLogLine[]>;

  // ---- workers ----
  workerCreate(p: { id: string; name: string | null; tokenHash: string; models: string[]; now: Millis }): Promise<WorkerRecord>;
  /** The active worker with this token hash; records that it was seen. */
  workerAuthenticate(p: { tokenHash: string; now: Millis }): Promise<WorkerRecord | null>;
  workerList(): Promise<WorkerRecord[]>;
  workerRevoke(p: { id: string }): Promise<WorkerRecord | null>;

  // ---- webhooks ----
  // Terminal moves (complete, fail, cancel) of a job with a webhook_url write its delivery row
  // in their own transaction: event job.completed, job.failed or job.cancelled.
  /** Leases up to `limit` deliveries that are due. */
  webhookClaimDue(p: { owner: string; now: Millis; limit: number; leaseMs: number }): Promise<WebhookDeliveryRecord[]>;
  /**
   * Records one attempt of a leased delivery and what follows: `delivered` (the job's
   * webhook_delivered turns true), `retry` at `nextAttemptAt`, or `failed` for good.
   * `payload` is stored at the first attempt. False when the lease was lost.
   */
  webhookRecordAttempt(p: {
    id: string; owner: string; attempt: WebhookAttemptRecord; result: 'delivered' | 'retry' | 'failed';
    nextAttemptAt: Millis; payload: string;
  }): Promise<boolean>;
  /** Stops every pending delivery of the account to `url` (it answered 410 Gone); returns how many. */
  webhookFailEndpoint(p: { userId: string; url: string; reason: string; now: Millis }): Promise<number>;
  /** A job's deliveries, oldest first, each with its attempts. */
  webhookListByJob(p: { jobId: string }): Promise<(WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] })[]>;
  userWebhookSecrets(p: { userId: string }): Promise<WebhookSecrets | null>;
  /**
   * Sets the account's webhook secret. `previousUntil`: the current one keeps signing until then
   * (a rotation); null drops it. `onlyIfUnset`: leaves an existing secret alone (first use).
   */
  userSetWebhookSecret(p: { userId: string; secret: string; previousUntil: Millis | null; onlyIfUnset: boolean }): Promise<WebhookSecrets | null>;

  // ---- ledger and usage ----
  ledgerList(p: { userId: string; limit: number; jobId?: string }): Promise<LedgerEntryRecord[]>;
  accountUsage(p: { userId: string; since: Millis; now: Millis }): Promise<{ creditsUsed: number; jobsSince: number; totalJobs: number; activeKeys: number }>;

  // ---- across processes ----
  /**
   * Counts one request of an API key against its rolling 60-second window, for every process
   * that shares this store. (The SQLite adapter serves one process and counts in memory.)
   */
  rateLimitConsume(p: { keyId: string; limit: number; now: Millis }): Promise<RateDecision>;
  /**
   * Hears of job changes made by any process: `onNotice(notice)` for each new job and status
   * change, `onNotice(null)` when notices may have been missed (after a reconnect). Returns the
   * function that stops listening. A store that serves one process may never call it.
   */
  subscribe(onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>>;

  close(): Promise<void>;
}

export interface JobListFilter {
  status?: JobStatus;
  runType?: RunType;
  modelId?: string;
  appId?: string;
  createdAfter?: Millis;
  createdBefore?: Millis;
}
