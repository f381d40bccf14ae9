import type { RateDecision } from '../ratelimit/sliding-window.js';
import type {
  ApiKeyRecord, AppRecord, AuditEntryRecord, JobLogLine, JobRecord, WebhookDeliveryRecord, WebhookSecrets,
  WorkerRecord, LedgerEntryRecord, QueueSummaryRecord, UserRecord, } from './records.js'; import type {
  UserCreateParams, UserGetByIdParams, UserListParams, UserGrantCreditsParams, UserGrantCreditsResult,
  UserSetApiAccessParams, ApiKeyCreateParams, ApiKeyGetByHashParams, ApiKeyWithUser, ApiKeyListByUserParams,
  ApiKeyRevokeParams, AppCreateParams, AppUpdateParams, AppSetActiveParams, AppGetByIdParams,
  AppListByUserParams, JobCreateChargedParams, JobCreateChargedResult, JobGetByIdParams, JobListParams,
  JobQueuePositionParams, JobCancelParams, JobCancelResult, JobClaimParams, JobLeaseExtendParams,
  JobCompleteParams, JobFailParams, JobSetOutputParams, JobReleaseParams, JobFailAbandonedParams,
  JobListPastDeadlineParams, JobPastDeadline, JobReportProgressParams, JobLogListParams, WorkerCreateParams,
  WorkerAuthenticateParams, WorkerRevokeParams, WebhookClaimDueParams, WebhookRecordAttemptParams,
  WebhookFailEndpointParams, WebhookListByJobParams, WebhookDeliveryWithAttempts, UserWebhookSecretsParams,
  UserSetWebhookSecretParams, LedgerListParams, AccountUsageParams, AccountUsage, RateLimitConsumeParams,
  RateLimitPruneParams, LeaderParams, JobOutputRewritesNextParams, JobOutputRewrite, JobOutputRewriteParams,
  UserSetSchedulingParams, AuditListParams, RetentionDeleteJobsParams, RetentionDeleted,
} from './params.js';
import type { JobNotice } from './vocabulary.js';

export * from './vocabulary.js';
export * from './records.js';
export * from './params.js';

/** Queue positions are counted up to this many jobs ahead: beyond it the exact number costs a scan and tells nobody more. */
export const QUEUE_POSITION_CAP = 10_000;

/**
 * The storage port. Every query genjobs makes goes through this interface; each database has
 * one adapter (`store/sqlite/`, `store/postgres/`) and both must pass the conformance suite in
 * `test/store/conformance.ts`. Each call takes one parameter object, whose type is named in
 * `params.ts` and shared by both adapters.
 *
 * Every state change is a guarded update: a method that moves a job names the statuses (and, for
 * executors, the lease token) it may move from, and returns `null` when the database refused.
 * Credits move only inside the same transaction as the job change they belong to.
 */
export interface Store {
  /** Which adapter this is, for logs and `/metrics`. */
  readonly dialect: 'sqlite' | 'postgres';

  // ---- users and credits ----
  /** Creates an account; a positive `credits` (at most MAX_BALANCE) is written as a grant ledger entry. */
  userCreate(p: UserCreateParams): Promise<UserRecord>;
  userGetById(p: UserGetByIdParams): Promise<UserRecord | null>;
  /**
   * Accounts in creation order (ids are time-ordered), or newest first with `order: 'desc'`;
   * `limit` of them after `afterId` (in that order) when given.
   */
  userList(p: UserListParams): Promise<UserRecord[]>;
  /**
   * Adds (or, with a negative amount, removes) credits as a grant ledger entry. Refuses to take
   * the balance below zero (`insufficient`, with what is available) or the balance plus the
   * credits the account's unfinished jobs hold past MAX_BALANCE (`balance_limit`, with that sum
   * now): see limits.ts. An amount that is not a safe integer throws a RangeError.
   */
  userGrantCredits(p: UserGrantCreditsParams): Promise<UserGrantCreditsResult>;
  userSetApiAccess(p: UserSetApiAccessParams): Promise<UserRecord | null>;

  // ---- API keys ----
  apiKeyCreate(p: ApiKeyCreateParams): Promise<ApiKeyRecord>;
  /** The key with this hash and its account, whatever its state: the caller decides what is valid. */
  apiKeyGetByHash(p: ApiKeyGetByHashParams): Promise<ApiKeyWithUser | null>;
  apiKeyListByUser(p: ApiKeyListByUserParams): Promise<ApiKeyRecord[]>;
  /** Sets `is_active` false. Returns null when the key does not exist or belongs to another account. */
  apiKeyRevoke(p: ApiKeyRevokeParams): Promise<ApiKeyRecord | null>;

  // ---- private apps ----
  appCreate(p: AppCreateParams): Promise<AppRecord>;
  /** Replaces the definition; null when there is no such app. */
  appUpdate(p: AppUpdateParams): Promise<AppRecord | null>;
  appSetActive(p: AppSetActiveParams): Promise<AppRecord | null>;
  appGetById(p: AppGetByIdParams): Promise<AppRecord | null>;
  /** The account's apps, active or not, oldest first. */
  appListByUser(p: AppListByUserParams): Promise<AppRecord[]>;

  // ---- jobs: creation and reads ----
  /**
   * Debits `cost` and inserts the job in one transaction. When the balance is short, nothing is
   * written and the available balance is returned. With `idempotency`, a key the account used
   * in the last 24 hours returns that key's job (`replayed`) and charges nothing, or, when the
   * request differs, a conflict.
   */
  jobCreateCharged(p: JobCreateChargedParams): Promise<JobCreateChargedResult>;
  /** With `userId`, only that account's job is found. */
  jobGetById(p: JobGetByIdParams): Promise<JobRecord | null>;
  /** The account's jobs, newest first (created_at, then id, descending). */
  jobList(p: JobListParams): Promise<JobRecord[]>;
  /**
   * An estimate of how many pending jobs (of every account) start before this one under the fair
   * order (see `jobClaim`), counted up to QUEUE_POSITION_CAP. Exact for an account alone in the queue.
   */
  jobQueuePosition(p: JobQueuePositionParams): Promise<number>;
  /** Pending and processing jobs of every account, counted by status and model (or app), and the oldest pending job's age. */
  jobQueueSummary(): Promise<QueueSummaryRecord>;

  // ---- jobs: moves ----
  /**
   * pending|processing -> cancelled, refunding `refundFor(job)` credits (see `refundOnCancel`) in
   * the same transaction. A terminal job is left alone and returned with `changed: false`.
   */
  jobCancel(p: JobCancelParams): Promise<JobCancelResult | null>;
  /**
   * Claims up to `limit` jobs: processing ones whose lease ran out (their holder died) first,
   * then pending ones in the fair order: weighted round-robin across the accounts with work
   * (stride scheduling: the account with the lowest virtual time goes next, and each job it
   * starts advances it by 1/weight), each account's own jobs by priority, then oldest first.
   * An account at its limit of running jobs (overall, or for the job's model) is passed over
   * without holding up the others. Each claim bumps `attempts` and the lease token.
   */
  jobClaim(p: JobClaimParams): Promise<JobRecord[]>;
  /** Renews leases still held by `owner`; returns the ids it still holds (the others were lost or cancelled). */
  jobLeaseExtend(p: JobLeaseExtendParams): Promise<string[]>;
  /** processing -> completed, only for the current lease. */
  jobComplete(p: JobCompleteParams): Promise<JobRecord | null>;
  /** processing -> failed with a full refund in the same transaction, only for the current lease. */
  jobFail(p: JobFailParams): Promise<JobRecord | null>;
  /** Stores partial output of a processing job (app node outputs, progress), only for the current lease. */
  jobSetOutput(p: JobSetOutputParams): Promise<boolean>;
  /**
   * Gives a processing job back without counting the attempt: its lease ends now, so the next
   * claim takes it. Used at shutdown. The job stays `processing`: nothing moves it back to pending.
   */
  jobRelease(p: JobReleaseParams): Promise<boolean>;
  /**
   * Fails and refunds every processing job whose lease ran out after `maxAttempts` claims:
   * its executors keep dying on it, so it is not run again.
   */
  jobFailAbandoned(p: JobFailAbandonedParams): Promise<JobRecord[]>;
  /** Unfinished jobs whose Cancel-After deadline has passed (each is then cancelled with `jobCancel`). */
  jobListPastDeadline(p: JobListPastDeadlineParams): Promise<JobPastDeadline[]>;
  /** Records a lease holder's progress (0 to 1) and log lines; false when the lease is no longer held. */
  jobReportProgress(p: JobReportProgressParams): Promise<boolean>;
  /** A job's log lines, oldest first. */
  jobLogList(p: JobLogListParams): Promise<JobLogLine[]>;

  // ---- workers ----
  workerCreate(p: WorkerCreateParams): Promise<WorkerRecord>;
  /** The active worker with this token hash; records that it was seen. */
  workerAuthenticate(p: WorkerAuthenticateParams): Promise<WorkerRecord | null>;
  workerList(): Promise<WorkerRecord[]>;
  workerRevoke(p: WorkerRevokeParams): Promise<WorkerRecord | null>;

  // ---- webhooks ----
  // Terminal moves (complete, fail, cancel) of a job with a webhook_url write its delivery row
  // in their own transaction: event job.completed, job.failed or job.cancelled.
  /** Leases up to `limit` deliveries that are due. */
  webhookClaimDue(p: WebhookClaimDueParams): Promise<WebhookDeliveryRecord[]>;
  /**
   * Records one attempt of a leased delivery and what follows: `delivered` (the job's
   * webhook_delivered turns true), `retry` at `nextAttemptAt`, or `failed` for good.
   * `payload` is stored at the first attempt. False when the lease was lost.
   */
  webhookRecordAttempt(p: WebhookRecordAttemptParams): Promise<boolean>;
  /** Stops every pending delivery of the account to `url` (it answered 410 Gone); returns how many. */
  webhookFailEndpoint(p: WebhookFailEndpointParams): Promise<number>;
  /** A job's deliveries, oldest first, each with its attempts. */
  webhookListByJob(p: WebhookListByJobParams): Promise<WebhookDeliveryWithAttempts[]>;
  userWebhookSecrets(p: UserWebhookSecretsParams): Promise<WebhookSecrets | null>;
  /** Sets the account's webhook secret: a first use, or a rotation. */
  userSetWebhookSecret(p: UserSetWebhookSecretParams): Promise<WebhookSecrets | null>;

  // ---- ledger and usage ----
  /** The account's ledger entries, newest first. */
  ledgerList(p: LedgerListParams): Promise<LedgerEntryRecord[]>;
  accountUsage(p: AccountUsageParams): Promise<AccountUsage>;

  // ---- across processes ----
  /**
   * Counts one request of an API key against its rolling 60-second window, for every process
   * that shares this store. (The SQLite adapter serves one process and counts in memory.)
   */
  rateLimitConsume(p: RateLimitConsumeParams): Promise<RateDecision>;
  /** Forgets rate-limit counts of seconds before `before`; returns how many rows went. (SQLite: its counts live in memory and trim themselves.) */
  rateLimitPrune(p: RateLimitPruneParams): Promise<number>;
  /**
   * True while this process leads for `name` among the processes sharing the store: the first to
   * ask takes it, and keeps it until it releases it, closes, or loses its connection. Call it
   * before each round of work a single process should do. (SQLite: one process, always true.)
   */
  leaderTryAcquire(p: LeaderParams): Promise<boolean>;
  /** Gives up leading for `name`, so another process can take over at once. */
  leaderRelease(p: LeaderParams): Promise<void>;
  /**
   * Hears of job changes made by any process: `onNotice(notice)` for each new job and status
   * change, `onNotice(null)` when notices may have been missed (after a reconnect). Returns the
   * function that stops listening. A store that serves one process may never call it.
   */
  subscribe(onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>>;

  // ---- outputs: rows written before file references (sqlite 0009, postgres 0010) ----
  /**
   * Up to `limit` jobs listed for the rewrite of their output (stored with file URLs before
   * references existed) that are finished, oldest id first, each with its output as stored. A
   * listed job that no longer exists comes with `exists: false`. Unfinished jobs wait their turn.
   */
  jobOutputRewritesNext(p: JobOutputRewritesNextParams): Promise<JobOutputRewrite[]>;
  /**
   * Stores a finished job's rewritten output (when `outputData` is given) and strikes the job off
   * the list, in one transaction. False when the job was not finished (nothing written).
   */
  jobOutputRewrite(p: JobOutputRewriteParams): Promise<boolean>;
  /** How many jobs are still listed for the rewrite. */
  jobOutputRewritesLeft(): Promise<number>;

  // ---- audit log ----
  // The admin writes (userCreate, userGrantCredits, userSetApiAccess, apiKeyCreate, apiKeyRevoke,
  // appCreate, appUpdate, appSetActive, workerCreate, workerRevoke) take an optional `audit`: when
  // given, its row is written in the change's own transaction, and only when the change was made
  // (a refusal or a miss writes nothing).
  /** Audit entries, newest first, `limit` of them before `beforeId` when given, optionally of one action, one target or one account. */
  auditList(p: AuditListParams): Promise<AuditEntryRecord[]>;

  // ---- retention ----
  /**
   * Deletes up to `limit` finished jobs whose final status is older than the time given for that
   * status (a status without one is kept), oldest first within a status, in one short
   * transaction, with their log lines, webhook deliveries and attempts, and idempotency records.
   * Their ledger entries stay with their amounts and lose only the job reference (`job_id`
   * becomes null), so every balance still equals the sum of its entries. Pending and processing
   * jobs are never deleted, nor a job whose webhook delivery is still pending. Returns the ids
   * deleted (their files go next) and counts.
   */
  retentionDeleteJobs(p: RetentionDeleteJobsParams): Promise<RetentionDeleted>;

  /** Pending jobs per model (null: app runs) with the creation time of the oldest: the queue gauges. */
  jobQueueStats(): Promise<{ modelId: string | null; pending: number; oldestCreatedAt: number }[]>;
  /** When the oldest delivery still owed (pending) was created, or null when none is. */
  webhookOldestPendingAt(): Promise<number | null>;
  // ---- fair scheduler ----
  /**
   * Sets an account's scheduling settings: each field given is written (null clears a limit back
   * to the configured default), the others are kept. Null when there is no such account.
   */
  userSetScheduling(p: UserSetSchedulingParams): Promise<UserRecord | null>;

  /** The highest migration applied to the database: readiness compares it with the migrations shipped. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
