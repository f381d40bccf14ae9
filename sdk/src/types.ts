/**
 * The shapes of the genjobs API, in one place. Everything else in the SDK names these types
 * only, so they can be swapped for types generated from the server's `/openapi.json` without
 * touching the client code.
 */

/** Where a job is: `pending` (queued), `processing` (claimed), then one terminal status. */
export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

/** A job's output: `outputImage`, `outputVideo`, `outputAudio`, `outputText`, ... (URLs or text). */
export type ModelOutput = Record<string, unknown>;

/** An app job's output, filled node by node while it runs. */
export interface AppOutput {
  app_id: string;
  app_name: string;
  node_outputs: Record<string, ModelOutput>;
}

/** A job as `GET /api/v1/jobs/:id` answers it. */
export interface Job {
  id: string;
  object: 'job';
  run_type: 'model' | 'app';
  model_id: string | null;
  app_id: string | null;
  status: JobStatus;
  input_data: Record<string, unknown>;
  output_data: ModelOutput | AppOutput | null;
  error_message: string | null;
  credits_charged: number;
  created_at: string;
  completed_at: string | null;
  webhook_delivered: boolean;
  started_at: string | null;
  cancelled_at: string | null;
  credits_refunded: number;
  progress: number | null;
  retry_of: string | null;
  /** Only when the run sent `Cancel-After`. */
  cancel_after_at?: string | null;
  /** Only while pending: how many pending jobs are ahead. */
  queue_position?: number;
}

/** The answer to a run: the job, plus `model` and `output` as the platform names them there (and `app_name` for apps). */
export interface RunResult extends Job {
  model?: string | null;
  output: ModelOutput | AppOutput | null;
  app_name?: string;
}

/** One page of a list. */
export interface ListResponse<T> {
  object: 'list';
  data: T[];
  has_more?: boolean;
}

export interface ModelSetting {
  key: string;
  label: string;
  inputType: string;
  defaultValue: unknown;
  options?: unknown[];
  min?: number;
  max?: number;
  required?: boolean;
}

/** A model of the catalog, as `GET /api/v1/models` lists it. */
export interface Model {
  id: string;
  name: string;
  modality: string;
  cost: number;
  inputTypes: string[];
  promptRequired: boolean;
  outputType: string;
  description: string;
  settings: ModelSetting[];
  sync: boolean;
}

export interface AppInput {
  id: string;
  type: string;
  label: string;
  required: boolean;
  targetHandle: string;
  allowMultiple: boolean;
}

/** An app (a workflow of model nodes) the account may run, as `GET /api/v1/apps` lists it. */
export interface App {
  id: string;
  object: 'app';
  name: string;
  description: string;
  icon: string | null;
  thumbnail_url: string | null;
  is_template: boolean;
  tags: string[];
  inputs: AppInput[];
  cost: number;
  /** How many model nodes a run of it goes through. */
  node_count: number;
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
  object: 'ledger_entry';
  kind: 'grant' | 'charge' | 'refund';
  amount: number;
  balance_after: number;
  job_id: string | null;
  reason: string | null;
  created_at: string;
}

/** The answer to `POST /api/v1/jobs/:id/cancel`. */
export interface CancelResult {
  id: string;
  object: 'job';
  status: JobStatus;
  cancelled_at: string;
  credits_refunded: number;
}

/** The answer to `POST /api/v1/jobs/cancel`. */
export interface BulkCancelResult {
  object: 'bulk_cancel';
  cancelled: number;
  ids: string[];
  credits_refunded: number;
}

/** The filter of `POST /api/v1/jobs/cancel`: `{}` cancels every cancellable job. */
export interface CancelManyFilter {
  status?: 'pending' | 'processing';
  model_id?: string;
  app_id?: string;
}

/** The query of `GET /api/v1/jobs`. */
export interface JobListQuery {
  limit?: number;
  starting_after?: string;
  status?: JobStatus;
  run_type?: 'model' | 'app';
  model_id?: string;
  app_id?: string;
  created_after?: string;
  created_before?: string;
}

/** The body of every error answer. */
export interface ErrorBody {
  error: string;
  code?: string;
}

/** A webhook delivery's body. */
export interface WebhookEvent {
  event: 'job.completed' | 'job.failed' | 'job.cancelled';
  job: Job & { output?: unknown };
}

/** One event of `GET /api/v1/jobs/:id/events`. */
export type JobEvent =
  | { event: 'status'; id: string | undefined; data: Job }
  | { event: 'progress'; id: string | undefined; data: { id: string; progress: number } }
  | { event: 'log'; id: string | undefined; data: { id: string; seq: number; line: string } }
  | { event: 'node'; id: string | undefined; data: { id: string; node_id: string; output: ModelOutput } };
