import type { DeliveryStatus, JobPriority, JobStatus, LedgerKind, Millis, RunType } from './vocabulary.js';

/** The rows of the store as the layers above see them, one interface per noun. */

export interface UserRecord {
  id: string;
  name: string | null;
  /** The balance in credits; always the sum of the account's ledger entries, never below zero. */
  credits: number;
  /** Whether the account's API keys may call `/api/v1` at all. */
  apiAccess: boolean;
  subscription: string | null;
  createdAt: Millis;
  /** The account's share of the executors against other accounts with work (fair scheduler). */
  weight: number;
  /** The most jobs it may have running at once; null: the configured default (GENJOBS_DEFAULT_MAX_RUNNING). */
  maxRunning: number | null;
  /** The most jobs of one model it may have running at once; null: the configured default. */
  maxRunningPerModel: number | null;
  /** The highest priority its runs may ask for. */
  maxPriority: JobPriority;
}

/** The queue at a glance: unfinished jobs counted by status and by what they run. */
export interface QueueSummaryRecord {
  groups: { status: 'pending' | 'processing'; runType: RunType; modelId: string | null; appId: string | null; count: number }[];
  /** When the oldest pending job was created; null when nothing is pending. */
  oldestPendingCreatedAt: Millis | null;
}

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string | null;
  /** The first characters of the key, safe to show. */
  keyPrefix: string;
  /** SHA-256 of the full key, hex. The key itself is never stored. */
  keyHash: string;
  expiresAt: Millis | null;
  rateLimitPerMinute: number;
  isActive: boolean;
  createdAt: Millis;
}

export interface JobRecord {
  id: string;
  userId: string;
  runType: RunType;
  modelId: string | null;
  appId: string | null;
  status: JobStatus;
  inputData: unknown;
  outputData: unknown;
  errorMessage: string | null;
  creditsCharged: number;
  creditsRefunded: number;
  webhookUrl: string | null;
  webhookDelivered: boolean;
  createdAt: Millis;
  startedAt: Millis | null;
  completedAt: Millis | null;
  cancelledAt: Millis | null;
  /** How many times an executor has claimed the job. */
  attempts: number;
  leaseOwner: string | null;
  /** Bumped at every claim; the fencing token of the current lease. */
  leaseToken: number;
  leaseExpiresAt: Millis | null;
  /** How far the work is, 0 to 1, when its worker reports it. */
  progress: number | null;
  /** The deadline a run set with Cancel-After: unfinished then, it is cancelled. */
  cancelAfterAt: Millis | null;
  /** The job this one retries (POST /jobs/:id/retry). */
  retryOf: string | null;
  /**
   * What the job runs, fixed at acceptance (src/runs/spec.ts): stored and returned as given,
   * never shown to clients. Null for jobs accepted before it was kept.
   */
  runSpec: unknown;
  /** Orders the job within its account's own queue. */
  priority: JobPriority;
}

/** A private app of one account; its definition is checked against the catalog when read. */
export interface AppRecord {
  id: string;
  userId: string;
  definition: unknown;
  isActive: boolean;
  createdAt: Millis;
  updatedAt: Millis;
}

/** A self-hosted worker: it may claim jobs of its models only. */
export interface WorkerRecord {
  id: string;
  name: string | null;
  tokenHash: string;
  models: string[];
  isActive: boolean;
  createdAt: Millis;
  lastSeenAt: Millis | null;
}

export interface JobLogLine {
  seq: number;
  line: string;
  createdAt: Millis;
}

/** The current and, for a grace period after a rotation, the previous webhook secret of an account. */
export interface WebhookSecrets {
  current: string | null;
  previous: string | null;
  previousUntil: Millis | null;
}

export interface WebhookAttemptRecord {
  n: number;
  at: Millis;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One webhook event for one job's terminal status: the outbox row and its attempts. */
export interface WebhookDeliveryRecord {
  id: string;
  jobId: string;
  userId: string;
  url: string;
  event: string;
  /** The body as first sent (every retry sends the same bytes); null before the first attempt. */
  payload: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Millis;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Millis;
  deliveredAt: Millis | null;
}

export interface LedgerEntryRecord {
  id: string;
  userId: string;
  jobId: string | null;
  kind: LedgerKind;
  /** Signed: charges are negative, refunds positive, grants either (an operator may deduct). */
  amount: number;
  balanceAfter: number;
  reason: string | null;
  createdAt: Millis;
}

/** One admin change as the audit log keeps it. */
export interface AuditEntryRecord {
  id: string;
  at: Millis;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  /** The account the change concerns: the account itself, or the key's or app's owner; null for workers. */
  userId: string | null;
  details: Record<string, unknown>;
  requestId: string | null;
  clientAddress: string | null;
}
