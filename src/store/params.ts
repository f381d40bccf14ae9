/**
 * The parameter and result types of the storage port's calls (`store.ts`), one named type per
 * call, shared by both adapters.
 */
import type { ApiKeyRecord, JobRecord, WebhookAttemptRecord, WebhookDeliveryRecord, UserRecord } from './records.js';
import type { JobPriority, JobStatus, Millis, RunType } from './vocabulary.js';

// ---- users and credits ----

export interface UserCreateParams extends Audited {
  name: string | null;
  /** Written as the account's first grant when positive. */
  credits: number;
  /** (Default: true) */
  apiAccess?: boolean;
  now: Millis;
}
export interface UserGetByIdParams { id: string }
export interface UserListParams {
  limit: number;
  /** The last id of the previous page. */
  afterId?: string;
  /** (Default: 'asc', creation order) */
  order?: 'asc' | 'desc';
}
export interface UserGrantCreditsParams extends Audited {
  userId: string;
  /** Signed: a negative amount deducts. */
  amount: number;
  reason: string | null;
  now: Millis;
}
export type UserGrantCreditsResult =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'insufficient'; available: number }
  /** `current`: the balance plus the credits held by the account's pending and processing jobs. */
  | { ok: false; reason: 'balance_limit'; max: number; current: number };
export interface UserSetApiAccessParams extends Audited { userId: string; apiAccess: boolean }

// ---- API keys ----

export interface ApiKeyCreateParams extends Audited {
  userId: string;
  name: string | null;
  keyPrefix: string;
  keyHash: string;
  expiresAt: Millis | null;
  rateLimitPerMinute: number;
  now: Millis;
}
export interface ApiKeyGetByHashParams { keyHash: string }
export interface ApiKeyWithUser { key: ApiKeyRecord; user: UserRecord }
export interface ApiKeyListByUserParams { userId: string }
export interface ApiKeyRevokeParams extends Audited { userId: string; keyId: string }

// ---- private apps ----

export interface AppCreateParams extends Audited { id: string; userId: string; definition: unknown; now: Millis }
export interface AppUpdateParams extends Audited { id: string; definition: unknown; now: Millis }
export interface AppSetActiveParams extends Audited { id: string; isActive: boolean; now: Millis }
export interface AppGetByIdParams { id: string }
export interface AppListByUserParams { userId: string }

// ---- jobs: creation and reads ----

export interface JobCreateChargedParams {
  id: string;
  userId: string;
  runType: RunType;
  /** Set for a model run. */
  modelId: string | null;
  /** Set for an app run. */
  appId: string | null;
  inputData: unknown;
  webhookUrl: string | null;
  /** Credits debited with the insert; 0 writes no ledger entry. */
  cost: number;
  now: Millis;
  /** The Cancel-After deadline. (Default: none) */
  cancelAfterAt?: Millis | null;
  /** The job this one retries. (Default: none) */
  retryOf?: string | null;
  /** The Idempotency-Key of the request and a hash of what it asked for. (Default: none) */
  idempotency?: { key: string; requestHash: string };
  /** What the job runs, kept as given (`JobRecord.runSpec`). (Default: null) */
  runSpec?: unknown;
  /** Orders the job within its account's queue; the caller checks it against the account's max_priority. (Default: 'normal') */
  priority?: JobPriority;
}
export type JobCreateChargedResult =
  | { ok: true; job: JobRecord; balance: number; replayed: boolean }
  | { ok: false; reason: 'insufficient'; available: number }
  | { ok: false; reason: 'idempotency_conflict'; jobId: string };
export interface JobGetByIdParams { id: string; userId?: string }
export interface JobListFilter {
  status?: JobStatus;
  runType?: RunType;
  modelId?: string;
  appId?: string;
  createdAfter?: Millis;
  createdBefore?: Millis;
}
export interface JobListParams extends JobListFilter {
  userId: string;
  limit: number;
  /** The last job of the previous page. */
  startingAfter?: { createdAt: Millis; id: string };
}
export interface JobQueuePositionParams {
  id: string;
  createdAt: Millis;
  /**
   * The job was just created, so it is most likely at the back of its account's queue: the
   * jobs behind it are counted first (a handful) instead of those ahead. Only a matter of cost:
   * the estimate is the same either way.
   */
  newest?: boolean;
}

// ---- jobs: moves ----

export interface JobCancelParams {
  id: string;
  userId: string;
  now: Millis;
  /** The refund the cancellation policy gives for the job as it stands (clamped by `refundOnCancel`). */
  refundFor: (job: JobRecord) => number;
}
export type JobCancelResult =
  | { changed: true; job: JobRecord; previousStatus: JobStatus }
  | { changed: false; job: JobRecord };
export interface JobClaimParams {
  owner: string;
  limit: number;
  leaseMs: number;
  now: Millis;
  /** Models not to take (at their concurrency limit here, or served by workers). (Default: none) */
  excludeModels?: string[];
  /** Take jobs of these models only (a worker's). (Default: every model) */
  onlyModels?: string[];
  /** A job claimed this many times already is left to `jobFailAbandoned`. */
  maxAttempts: number;
  /** The running-jobs limit of accounts whose own `maxRunning` is null. (Default: null, none) */
  defaultMaxRunning?: number | null;
  /** The per-model running-jobs limit of accounts whose own `maxRunningPerModel` is null. (Default: null, none) */
  defaultMaxRunningPerModel?: number | null;
  /** Called when an account with work was passed over because of a limit: a job ending may let it start. (Default: none) */
  onLimited?: () => void;
}
export interface JobLeaseExtendParams { owner: string; ids: string[]; leaseMs: number; now: Millis }
export interface JobCompleteParams { id: string; leaseToken: number; outputData: unknown; now: Millis }
export interface JobFailParams { id: string; leaseToken: number; errorMessage: string; now: Millis }
export interface JobSetOutputParams { id: string; leaseToken: number; outputData: unknown }
export interface JobReleaseParams { id: string; leaseToken: number; now: Millis }
export interface JobFailAbandonedParams { now: Millis; maxAttempts: number }
export interface JobListPastDeadlineParams { now: Millis; limit: number }
export interface JobPastDeadline { id: string; userId: string }
export interface JobReportProgressParams {
  id: string;
  leaseToken: number;
  /** 0 to 1; null keeps the last one. */
  progress: number | null;
  logs: string[];
  now: Millis;
}
export interface JobLogListParams { id: string; limit: number }

// ---- workers ----

export interface WorkerCreateParams extends Audited { id: string; name: string | null; tokenHash: string; models: string[]; now: Millis }
export interface WorkerAuthenticateParams { tokenHash: string; now: Millis }
export interface WorkerRevokeParams extends Audited { id: string }

// ---- webhooks ----

export interface WebhookClaimDueParams { owner: string; now: Millis; limit: number; leaseMs: number }
/** What an attempt of a delivery leads to. */
export type DeliveryResult = 'delivered' | 'retry' | 'failed';
export interface WebhookRecordAttemptParams {
  id: string;
  /** The lease holder: an attempt of a delivery leased to another dispatcher is not recorded. */
  owner: string;
  attempt: WebhookAttemptRecord;
  result: DeliveryResult;
  nextAttemptAt: Millis;
  payload: string;
}
export interface WebhookFailEndpointParams { userId: string; url: string; reason: string; now: Millis }
export interface WebhookListByJobParams { jobId: string }
export type WebhookDeliveryWithAttempts = WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] };
export interface UserWebhookSecretsParams { userId: string }
export interface UserSetWebhookSecretParams {
  userId: string;
  secret: string;
  /** The current secret keeps signing until then (a rotation); null drops it. */
  previousUntil: Millis | null;
  /** Leaves an existing secret alone (first use). */
  onlyIfUnset: boolean;
}

// ---- ledger and usage ----

export interface LedgerListParams { userId: string; limit: number; jobId?: string }
export interface AccountUsageParams { userId: string; since: Millis; now: Millis }
export interface AccountUsage { creditsUsed: number; jobsSince: number; totalJobs: number; activeKeys: number }

// ---- across processes ----

export interface RateLimitConsumeParams { keyId: string; limit: number; now: Millis }
export interface RateLimitPruneParams { before: Millis }
export interface LeaderParams { name: string }

// ---- outputs: rows written before file references ----

export interface JobOutputRewritesNextParams { limit: number }
export interface JobOutputRewrite { id: string; exists: boolean; outputData: unknown }
export interface JobOutputRewriteParams { id: string; outputData?: unknown }

// ---- fair scheduler ----

export interface UserSetSchedulingParams extends Audited {
  userId: string;
  /** An integer from 1 (the default) to MAX_WEIGHT. */
  weight?: number;
  /** Null: the configured default. */
  maxRunning?: number | null;
  /** Null: the configured default. */
  maxRunningPerModel?: number | null;
  maxPriority?: JobPriority;
}

// ---- audit log ----

/** Who made an admin change and through which request: what the caller knows before the change. */
export interface AuditContext {
  /** A non-secret name of the credential: `admin-token:<8 hex>` or `cli:<os user>`. */
  actor: string;
  /** The request's X-Request-Id; null from the CLI. */
  requestId: string | null;
  /** The client's address; null from the CLI. */
  clientAddress: string | null;
}
/** The audit row an admin write records with its change. */
export interface AuditWrite extends AuditContext {
  /** `user.credits.grant`, `api_key.revoke`, ... (docs/operations.md lists them). */
  action: string;
  targetType: string;
  /** (Default: the id of the record the write returns, for creations) */
  targetId?: string;
  /** The changed fields: never a key, token or secret. */
  details: Record<string, unknown>;
  at: Millis;
}
/** What an admin write changed, as its adapter reads it from the result: the record and its account (null: none, a worker). */
export interface AuditTarget { id: string; userId: string | null }
/** Mixed into the params of every admin write. */
export interface Audited {
  /** Recorded in the same transaction when the change is made. (Default: nothing recorded) */
  audit?: AuditWrite;
}
export interface AuditListParams {
  limit: number;
  /** The last id of the previous page: older entries follow. */
  beforeId?: string;
  action?: string;
  targetId?: string;
  /** Changes to this account, its keys and its apps. */
  userId?: string;
}

// ---- retention ----

/** The statuses retention may delete: the final ones. */
export type FinalStatus = 'completed' | 'failed' | 'cancelled';
export interface RetentionDeleteJobsParams {
  /** Per final status, jobs that reached it (`completed_at`) before this time may go; a missing status is kept. */
  finishedBefore: Partial<Record<FinalStatus, Millis>>;
  /** At most this many jobs in the one transaction. */
  limit: number;
}
/** What one retention batch removed. */
export interface RetentionDeleted {
  jobIds: string[];
  jobLogs: number;
  webhookDeliveries: number;
  webhookAttempts: number;
  idempotencyKeys: number;
  /** Ledger entries whose job reference was cleared (they stay, amounts unchanged). */
  ledgerUnlinked: number;
}
