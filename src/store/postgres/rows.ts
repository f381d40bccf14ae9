import type { ApiKeyRecord, AppRecord, JobRecord, WebhookDeliveryRecord, WorkerRecord, LedgerEntryRecord, UserRecord } from '../records.js';
import { priorityOfRank, type DeliveryStatus, type JobStatus, type LedgerKind, type RunType } from '../vocabulary.js';

/** Rows as node-postgres returns them (bigint read as number, jsonb parsed), mapped to records. */

export interface UserRow {
  id: string; name: string | null; credits: number; api_access: boolean; subscription: string | null; created_at: number;
  weight: number; max_running: number | null; max_running_per_model: number | null; max_priority: number;
}
export interface ApiKeyRow {
  id: string; user_id: string; name: string | null; key_prefix: string; key_hash: string;
  expires_at: number | null; rate_limit_per_minute: number; is_active: boolean; created_at: number;
}
export interface JobRow {
  id: string; user_id: string; run_type: RunType; model_id: string | null; app_id: string | null;
  status: JobStatus; input_data: unknown; output_data: unknown; error_message: string | null;
  credits_charged: number; credits_refunded: number; webhook_url: string | null; webhook_delivered: boolean;
  created_at: number; started_at: number | null; completed_at: number | null; cancelled_at: number | null;
  attempts: number; lease_owner: string | null; lease_token: number; lease_expires_at: number | null; progress: number | null;
  cancel_after_at: number | null; retry_of: string | null; run_spec: unknown; priority: number;
}
export interface LedgerRow {
  id: string; user_id: string; job_id: string | null; kind: LedgerKind;
  amount: number; balance_after: number; reason: string | null; created_at: number;
}

export const toUser = (r: UserRow): UserRecord => ({
  id: r.id, name: r.name, credits: r.credits, apiAccess: r.api_access, subscription: r.subscription, createdAt: r.created_at,
  weight: r.weight, maxRunning: r.max_running, maxRunningPerModel: r.max_running_per_model, maxPriority: priorityOfRank(r.max_priority),
});

export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id, userId: r.user_id, name: r.name, keyPrefix: r.key_prefix, keyHash: r.key_hash, expiresAt: r.expires_at,
  rateLimitPerMinute: r.rate_limit_per_minute, isActive: r.is_active, createdAt: r.created_at,
});

export const toJob = (r: JobRow): JobRecord => ({
  id: r.id, userId: r.user_id, runType: r.run_type, modelId: r.model_id, appId: r.app_id, status: r.status,
  inputData: r.input_data, outputData: r.output_data ?? null, errorMessage: r.error_message,
  creditsCharged: r.credits_charged, creditsRefunded: r.credits_refunded, webhookUrl: r.webhook_url, webhookDelivered: r.webhook_delivered,
  createdAt: r.created_at, startedAt: r.started_at, completedAt: r.completed_at, cancelledAt: r.cancelled_at,
  attempts: r.attempts, leaseOwner: r.lease_owner, leaseToken: r.lease_token, leaseExpiresAt: r.lease_expires_at,
  progress: r.progress ?? null, cancelAfterAt: r.cancel_after_at ?? null, retryOf: r.retry_of ?? null,
  runSpec: r.run_spec ?? null,
  priority: priorityOfRank(r.priority ?? 1),
});

export const toLedger = (r: LedgerRow): LedgerEntryRecord => ({
  id: r.id, userId: r.user_id, jobId: r.job_id, kind: r.kind, amount: r.amount, balanceAfter: r.balance_after,
  reason: r.reason, createdAt: r.created_at,
});

export interface AppRow {
  id: string; user_id: string; definition: unknown; is_active: boolean; created_at: number; updated_at: number;
}

export const toApp = (r: AppRow): AppRecord => ({
  id: r.id, userId: r.user_id, definition: r.definition, isActive: r.is_active, createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface WorkerRow {
  id: string; name: string | null; token_hash: string; models: string[]; is_active: boolean; created_at: number; last_seen_at: number | null;
}

export const toWorker = (r: WorkerRow): WorkerRecord => ({
  id: r.id, name: r.name, tokenHash: r.token_hash, models: r.models, isActive: r.is_active, createdAt: r.created_at, lastSeenAt: r.last_seen_at,
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
