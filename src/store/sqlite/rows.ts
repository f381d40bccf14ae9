import type { ApiKeyRecord, AppRecord, JobRecord, WebhookDeliveryRecord, WorkerRecord, LedgerEntryRecord, UserRecord } from '../records.js';
import { priorityOfRank, type DeliveryStatus, type JobPriority, type JobStatus, type LedgerKind, type RunType } from '../vocabulary.js';

/** Raw rows as SQLite returns them, and their mapping to the store's records. */

export interface UserRow {
  id: string; name: string | null; credits: number; api_access: number; subscription: string | null; created_at: number;
  weight: number; max_running: number | null; max_running_per_model: number | null; max_priority: number;
}
export interface ApiKeyRow {
  id: string; user_id: string; name: string | null; key_prefix: string; key_hash: string;
  expires_at: number | null; rate_limit_per_minute: number; is_active: number; created_at: number;
}
export interface JobRow {
  id: string; user_id: string; run_type: RunType; model_id: string | null; app_id: string | null;
  status: JobStatus; input_data: string; output_data: string | null; error_message: string | null;
  credits_charged: number; credits_refunded: number; webhook_url: string | null; webhook_delivered: number;
  created_at: number; started_at: number | null; completed_at: number | null; cancelled_at: number | null;
  attempts: number; lease_owner: string | null; lease_token: number; lease_expires_at: number | null; progress: number | null;
  cancel_after_at: number | null; retry_of: string | null; run_spec: string | null; priority: number;
}
export interface LedgerRow {
  id: string; user_id: string; job_id: string | null; kind: LedgerKind;
  amount: number; balance_after: number; reason: string | null; created_at: number;
}

export const toUser = (r: UserRow): UserRecord => ({
  id: r.id, name: r.name, credits: r.credits, apiAccess: r.api_access === 1, subscription: r.subscription, createdAt: r.created_at,
  weight: r.weight, maxRunning: r.max_running, maxRunningPerModel: r.max_running_per_model, maxPriority: priorityOfRank(r.max_priority),
});

export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id, userId: r.user_id, name: r.name, keyPrefix: r.key_prefix, keyHash: r.key_hash, expiresAt: r.expires_at,
  rateLimitPerMinute: r.rate_limit_per_minute, isActive: r.is_active === 1, createdAt: r.created_at,
});

export const toJob = (r: JobRow): JobRecord => ({
  id: r.id, userId: r.user_id, runType: r.run_type, modelId: r.model_id, appId: r.app_id, status: r.status,
  inputData: JSON.parse(r.input_data), outputData: r.output_data === null ? null : JSON.parse(r.output_data),
  errorMessage: r.error_message, creditsCharged: r.credits_charged, creditsRefunded: r.credits_refunded,
  webhookUrl: r.webhook_url, webhookDelivered: r.webhook_delivered === 1,
  createdAt: r.created_at, startedAt: r.started_at, completedAt: r.completed_at, cancelledAt: r.cancelled_at,
  attempts: r.attempts, leaseOwner: r.lease_owner, leaseToken: r.lease_token, leaseExpiresAt: r.lease_expires_at,
  progress: r.progress ?? null, cancelAfterAt: r.cancel_after_at ?? null, retryOf: r.retry_of ?? null,
  runSpec: r.run_spec === null || r.run_spec === undefined ? null : JSON.parse(r.run_spec),
  priority: priorityOfRank(r.priority ?? 1),
});

/** The record of a job just inserted as pending: what `toJob` would read back, from the inserted values and the column defaults. */
export const newJobRecord = (p: {
  id: string; userId: string; runType: RunType; modelId: string | null; appId: string | null; inputJson: string;
  cost: number; webhookUrl: string | null; now: number; cancelAfterAt: number | null; retryOf: string | null; runSpec: unknown;
  priority: JobPriority;
}): JobRecord => ({
  id: p.id, userId: p.userId, runType: p.runType, modelId: p.modelId, appId: p.appId, status: 'pending',
  inputData: JSON.parse(p.inputJson), outputData: null,
  errorMessage: null, creditsCharged: p.cost, creditsRefunded: 0,
  webhookUrl: p.webhookUrl, webhookDelivered: false,
  createdAt: p.now, startedAt: null, completedAt: null, cancelledAt: null,
  attempts: 0, leaseOwner: null, leaseToken: 0, leaseExpiresAt: null,
  progress: null, cancelAfterAt: p.cancelAfterAt, retryOf: p.retryOf, runSpec: p.runSpec, priority: p.priority,
});

export const toLedger = (r: LedgerRow): LedgerEntryRecord => ({
  id: r.id, userId: r.user_id, jobId: r.job_id, kind: r.kind, amount: r.amount, balanceAfter: r.balance_after,
  reason: r.reason, createdAt: r.created_at,
});

export interface AppRow {
  id: string; user_id: string; definition: string; is_active: number; created_at: number; updated_at: number;
}

export const toApp = (r: AppRow): AppRecord => ({
  id: r.id, userId: r.user_id, definition: JSON.parse(r.definition), isActive: r.is_active === 1, createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface WorkerRow {
  id: string; name: string | null; token_hash: string; models: string; is_active: number; created_at: number; last_seen_at: number | null;
}

export const toWorker = (r: WorkerRow): WorkerRecord => ({
  id: r.id, name: r.name, tokenHash: r.token_hash, models: JSON.parse(r.models) as string[], isActive: r.is_active === 1,
  createdAt: r.created_at, lastSeenAt: r.last_seen_at,
});

export interface DeliveryRow {
  id: string; job_id: string; user_id: string; url: string; event: string; payload: string | null;
  status: DeliveryStatus; attempts: number; next_attempt_at: number; last_status_code: number | null;
  last_error: string | null; created_at: number; delivered_at: number | null;
}

export const toDelivery = (r: DeliveryRow): WebhookDeliveryRecord => ({
  id: r.id, jobId: r.job_id, userId: r.user_id, url: r.url, event: r.event, payload: r.payload, status: r.status,
  attempts: r.attempts, nextAttemptAt: r.next_attempt_at, lastStatusCode: r.last_status_code, lastError: r.last_error,
  createdAt: r.created_at, deliveredAt: r.delivered_at,
});
