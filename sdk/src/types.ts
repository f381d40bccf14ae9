/**
 * The shapes of the genjobs API, in one place. They come from the server's own OpenAPI document:
 * the root build writes `/openapi.json` (the schemas the server validates and serialises with)
 * to `generated/openapi.json` and turns it into `generated/openapi.ts` with openapi-typescript
 * before this package compiles. A field the server drops or renames therefore fails this
 * package's compilation, and the code built on it, instead of drifting.
 */
import type { components, operations } from './generated/openapi.js';

type Schemas = components['schemas'];
type JsonBody<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** A job as `GET /api/v1/jobs/:id` answers it. */
export type Job = Schemas['Job'];
/** Where a job is: `pending` (queued), `processing` (claimed), then one terminal status. */
export type JobStatus = Job['status'];
/** The answer to a model run: the job, plus `model` and `output` as the platform names them there. */
export type ModelRun = Schemas['ModelRun'];
/** The answer to an app run: the job, plus `app_name` and `output`. */
export type AppRun = Schemas['AppRun'];
/** The answer to any run (a retry answers as the run it repeats). */
export type RunResult = ModelRun | AppRun;
export type JobList = Schemas['JobList'];
/** The answer to `POST /api/v1/jobs/:id/cancel`. */
export type CancelResult = Schemas['CancelledJob'];
/** The answer to `POST /api/v1/jobs/cancel`. */
export type BulkCancelResult = Schemas['BulkCancel'];
/** The filter of `POST /api/v1/jobs/cancel`: `{}` cancels every cancellable job. */
export type CancelManyFilter = JsonBody<operations['cancelJobs']['requestBody']>;
/** The query of `GET /api/v1/jobs`. */
export type JobListQuery = NonNullable<operations['listJobs']['parameters']['query']>;
/** The body of `POST /api/v1/models/run`. */
export type RunModelBody = JsonBody<operations['runModel']['requestBody']>;
/** The body of `POST /api/v1/apps/run`. */
export type RunAppBody = JsonBody<operations['runApp']['requestBody']>;
/** The request headers the run routes take (`Idempotency-Key`, `Cancel-After`, `Prefer`). */
export type RunHeaders = NonNullable<operations['runModel']['parameters']['header']>;

export type Model = Schemas['Model'];
export type ModelSetting = Model['settings'][number];
export type ModelList = Schemas['ModelList'];
/** An app (a workflow of model nodes) the account may run. */
export type App = Schemas['App'];
export type AppInput = App['inputs'][number];
export type AppList = Schemas['AppList'];
export type Account = Schemas['Account'];
export type LedgerEntry = Schemas['LedgerEntry'];
export type LedgerList = Schemas['LedgerList'];
export type WebhookSecret = Schemas['WebhookSecret'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type WebhookDeliveryList = Schemas['WebhookDeliveryList'];
/** The body of every error answer. */
export type ErrorBody = Schemas['Error'];

/** One page of a list. */
export interface ListResponse<T> {
  object: 'list';
  data: T[];
  has_more?: boolean;
}

/** A job's output: `outputImage`, `outputVideo`, `outputAudio`, `outputText`, ... (URLs or text). */
export type ModelOutput = Record<string, unknown>;

/** An app job's `output_data`, filled node by node while it runs. */
export interface AppOutput {
  app_id: string;
  app_name: string;
  node_outputs: Record<string, ModelOutput>;
}

/** A webhook delivery's body. */
export interface WebhookEvent {
  event: 'job.completed' | 'job.failed' | 'job.cancelled';
  job: Job & { output?: unknown };
}

/** One event of `GET /api/v1/jobs/:id/events` (a text/event-stream the document does not type). */
export type JobEvent =
  | { event: 'status'; id: string | undefined; data: Job }
  | { event: 'progress'; id: string | undefined; data: { id: string; progress: number } }
  | { event: 'log'; id: string | undefined; data: { id: string; seq: number; line: string } }
  | { event: 'node'; id: string | undefined; data: { id: string; node_id: string; output: ModelOutput } };
