/** The shapes of the API's answers the dashboard reads (docs/api.md). */

export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/**
 * Of two states of one job read at different moments (an answer and a stream event that crossed
 * on the wire), the one further along: statuses only move forward, so a pending state that
 * arrives after a processing one is the older. On a tie, `later` wins.
 */
export function newer(earlier: Job, later: Job): Job {
  const rank = (s: JobStatus) => (s === 'pending' ? 0 : s === 'processing' ? 1 : 2);
  return rank(earlier.status) > rank(later.status) ? earlier : { ...earlier, ...later };
}

export type Output = Record<string, unknown>;

export interface Job {
  id: string;
  object: 'job';
  run_type: 'model' | 'app';
  model_id: string | null;
  app_id: string | null;
  status: JobStatus;
  input_data: { input?: Record<string, unknown>; app_id?: string; inputs?: Record<string, unknown> } | null;
  output_data: (Output & { app_name?: string; node_outputs?: Record<string, Output> }) | null;
  error_message: string | null;
  credits_charged: number;
  credits_refunded: number;
  created_at: string;
  completed_at: string | null;
  started_at: string | null;
  cancelled_at: string | null;
  webhook_delivered: boolean;
  progress: number | null;
  retry_of: string | null;
  queue_position?: number;
  cancel_after_at?: string;
  app_name?: string;
}

export interface List<T> {
  object: 'list';
  data: T[];
  has_more?: boolean;
}

export interface Setting {
  key: string;
  label: string;
  inputType: 'text' | 'number' | 'integer' | 'boolean' | 'select' | 'url';
  defaultValue: unknown;
  options?: (string | number)[];
  min?: number;
  max?: number;
  required?: boolean;
  maxLength?: number;
  multiple?: boolean;
  maxItems?: number;
  accepts?: string;
}

export interface Model {
  id: string;
  name: string;
  modality: string;
  cost: number;
  inputTypes: string[];
  promptRequired: boolean;
  outputType: string;
  description: string;
  settings: Setting[];
  sync?: boolean;
}

export interface AppInput {
  id: string;
  type: 'text' | 'image' | 'video' | 'audio' | 'number' | 'integer' | 'boolean' | 'select';
  label: string;
  required: boolean;
  targetHandle: string;
  allowMultiple: boolean;
}

export interface App {
  id: string;
  object: 'app';
  name: string;
  description: string | null;
  icon: string | null;
  is_template: boolean;
  tags: string[];
  inputs: AppInput[];
  cost: number;
}

export interface Account {
  object: 'account';
  user_id: string;
  credits: number;
  subscription: string | null;
  usage: { credits_used_last_30d: number; total_requests_last_30d: number; total_jobs: number };
  api_keys: { active: number };
}

export interface LedgerEntry {
  id: string;
  kind: 'grant' | 'charge' | 'refund';
  amount: number;
  balance_after: number;
  job_id: string | null;
  reason: string | null;
  created_at: string;
}

export interface WebhookSecret {
  object: 'webhook_secret';
  secret: string;
  previous_secret_expires_at: string | null;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface User {
  id: string;
  object: 'user';
  name: string | null;
  credits: number;
  api_access: boolean;
  created_at: string;
}

export interface ApiKey {
  id: string;
  key?: string;
  key_prefix: string;
  name: string | null;
  rate_limit_per_minute: number;
  expires_at: string | null;
  is_active: boolean;
  created_at: string;
}

export interface Worker {
  id: string;
  token?: string;
  name: string | null;
  models: string[];
  is_active: boolean;
  last_seen_at: string | null;
  created_at: string;
}

export interface QueueSummary {
  pending: number;
  processing: number;
  oldest_pending_created_at: string | null;
  oldest_pending_age_seconds: number | null;
  by_model: { status: 'pending' | 'processing'; run_type: 'model' | 'app'; model_id: string | null; app_id: string | null; count: number }[];
}

/** One change in the audit log (GET /admin/v1/audit). */
export interface AuditEntry {
  id: string;
  object: 'audit_entry';
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  user_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
  client_address: string | null;
}

/** A job stream's events (GET /api/v1/jobs/:id/events and /jobs/events). */
export type JobEvent =
  | { event: 'status'; data: Job }
  | { event: 'progress'; data: { id: string; progress: number | null } }
  | { event: 'log'; data: { id: string; seq: number; line: string } }
  | { event: 'node'; data: { id: string; node_id: string; output: Output } };
