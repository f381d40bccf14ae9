import { hashApiKey } from '../accounts/api-keys.js';
import { outputField } from '../catalog/model.js';
import { apiError, invalid } from '../errors/api-error.js';
import type { Readable } from 'node:stream';
import { FileSizeError, FileTypeError, type FileStorage } from '../files/storage.js';
import { extensionFor } from '../files/content-type.js';
import { RecentUploads, storedWorkerOutput } from './outputs.js';
import type { JobsDeps } from '../jobs/deps.js';
import type { JobRecord, WorkerRecord } from '../store/store.js';
import { modelRunInput } from '../runs/spec.js';

/**
 * The worker protocol's use cases: a remote worker claims a job of a model it serves, renews
 * its lease with heartbeats (which also tell it when the job was cancelled), reports progress
 * and log lines, uploads output files, and completes or fails the job. Every report carries the
 * lease token of its claim; a worker that lost the job (cancelled, or taken over after it went
 * silent) is refused with 409 `lease_lost`.
 */
export interface WorkerDeps {
  jobs: JobsDeps;
  files: FileStorage;
  /** This process's address: an upload answers with the file's URL here (`PUBLIC_URL/files/<key>`). */
  publicUrl: string;
  /** Uploads taken here, for the completions that name them. */
  uploads: RecentUploads;
  /** Lease of a claimed job; heartbeats renew it. (Default: 30000 ms) */
  leaseMs: number;
  /** Claims a job may get before it is failed as abandoned. */
  maxAttempts: number;
  /** The running-jobs limits of accounts without their own (fair scheduler). (Default: none) */
  defaultMaxRunning?: number | null;
  defaultMaxRunningPerModel?: number | null;
}

const owner = (w: WorkerRecord) => `worker:${w.id}`;

/** Whether this worker's claim `leaseToken` is the job's current lease. */
const holds = (job: JobRecord, worker: WorkerRecord, leaseToken: unknown) =>
  job.status === 'processing' && job.leaseOwner === owner(worker) && job.leaseToken === leaseToken;

export async function authenticateWorker(deps: WorkerDeps, authorization: string | undefined): Promise<WorkerRecord> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw apiError('missing_token');
  const worker = await deps.jobs.store.workerAuthenticate({ tokenHash: hashApiKey(match[1] as string), now: Date.now() });
  if (!worker) throw apiError('invalid_worker_token');
  return worker;
}

/** What a worker gets with a claimed job. */
function presentClaim(deps: WorkerDeps, job: JobRecord): Record<string, unknown> {
  const model = deps.jobs.catalog.get(job.modelId ?? '');
  return {
    id: job.id,
    model: job.modelId,
    // As fixed at acceptance; a job of a model gone from the catalog goes as it was given.
    input: modelRunInput(job, deps.jobs.catalog) ?? (job.inputData as { input?: unknown }).input,
    output_field: model ? outputField(model.outputType) : 'output',
    lease_token: job.leaseToken,
    lease_expires_at: new Date(job.leaseExpiresAt ?? Date.now()).toISOString(),
    heartbeat_interval_ms: Math.floor(deps.leaseMs / 3),
    attempt: job.attempts,
  };
}

/**
 * Claims one job of the worker's models, waiting up to `wait_ms` (at most 30 s) for one to
 * arrive. Resolves null when none came.
 */
export async function claimJob(deps: WorkerDeps, worker: WorkerRecord, body: { models?: unknown; wait_ms?: unknown }, signal?: AbortSignal): Promise<Record<string, unknown> | null> {
  let models = worker.models;
  if (body.models !== undefined) {
    if (!Array.isArray(body.models) || !body.models.every((m) => typeof m === 'string')) throw invalid('models', 'must be an array of model ids');
    for (const m of body.models as string[]) {
      if (!worker.models.includes(m)) throw apiError('worker_model_forbidden', { model: m, models: worker.models.join(', ') });
    }
    models = body.models as string[];
  }
  const wait = body.wait_ms ?? 0;
  if (!Number.isInteger(wait) || (wait as number) < 0 || (wait as number) > 30_000) throw invalid('wait_ms', 'must be a whole number from 0 to 30000');
  const { store, events } = deps.jobs;
  const deadline = Date.now() + (wait as number);
  for (;;) {
    const now = Date.now();
    const [job] = await store.jobClaim({
      owner: owner(worker), limit: 1, leaseMs: deps.leaseMs, now, onlyModels: models, maxAttempts: deps.maxAttempts,
      defaultMaxRunning: deps.defaultMaxRunning ?? null, defaultMaxRunningPerModel: deps.defaultMaxRunningPerModel ?? null,
    });
    if (job) {
      events.changed(job);
      return presentClaim(deps, job);
    }
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return null;
    // Woken by a new job (in this process, or announced by the shared store), or after a second.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 1_000));
      const off = events.onCreated(done);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
}

/**
 * Refuses a report from a worker that does not hold the job under this lease: the token must be
 * the current claim's, and the claim this worker's (tokens are small numbers, so the owner is
 * checked too: one worker cannot report on another's job).
 */
async function assertHolds(deps: WorkerDeps, worker: WorkerRecord, jobId: string, leaseToken: unknown): Promise<number> {
  if (!Number.isSafeInteger(leaseToken)) throw invalid('lease_token', 'is required: the lease_token the claim returned');
  const job = await deps.jobs.store.jobGetById({ id: jobId });
  if (!job) throw apiError('job_not_found');
  if (!holds(job, worker, leaseToken)) {
    const reason = job.status === 'processing' ? ' under another lease (this one ran out and the job was claimed again)' : '';
    throw apiError('lease_lost', { status: job.status, reason });
  }
  return leaseToken as number;
}

/** The 409 for a guarded write the store refused: the job moved on meanwhile. */
async function leaseLost(deps: WorkerDeps, jobId: string) {
  const job = await deps.jobs.store.jobGetById({ id: jobId });
  return apiError('lease_lost', { status: job?.status ?? 'gone', reason: '' });
}

/**
 * Renews the lease and records progress and log lines. The answer's `continue: false` tells the
 * worker to stop: the job was cancelled (`reason: "cancelled"`) or is no longer its own.
 */
export async function heartbeat(deps: WorkerDeps, worker: WorkerRecord, jobId: string, body: { lease_token?: unknown; progress?: unknown; logs?: unknown }): Promise<Record<string, unknown>> {
  if (!Number.isSafeInteger(body.lease_token)) throw invalid('lease_token', 'is required: the lease_token the claim returned');
  const progress = body.progress ?? null;
  if (progress !== null && (typeof progress !== 'number' || progress < 0 || progress > 1)) throw invalid('progress', 'must be a number from 0 to 1');
  const logs = body.logs ?? [];
  if (!Array.isArray(logs) || logs.length > 100 || !logs.every((l) => typeof l === 'string' && l.length <= 10_000)) {
    throw invalid('logs', 'must be an array of at most 100 strings of at most 10000 characters');
  }
  const { store } = deps.jobs;
  const job = await store.jobGetById({ id: jobId });
  if (!job) throw apiError('job_not_found');
  const now = Date.now();
  if (holds(job, worker, body.lease_token)) {
    const held = await store.jobReportProgress({ id: jobId, leaseToken: job.leaseToken, progress: progress as number | null, logs: logs as string[], now });
    if (held && (await store.jobLeaseExtend({ owner: owner(worker), ids: [jobId], leaseMs: deps.leaseMs, now })).length === 1) {
      return { continue: true, status: 'processing', lease_expires_at: new Date(now + deps.leaseMs).toISOString() };
    }
  }
  const latest = (await store.jobGetById({ id: jobId })) ?? job;
  return { continue: false, status: latest.status, reason: latest.status === 'cancelled' ? 'cancelled' : 'lease_lost' };
}

/** An output file as it arrives: the request's body stream (absent without a body) and its declared length. */
export interface Upload {
  body: Readable | undefined;
  /** The Content-Length header, when the worker sent one. */
  declaredLength: number | null;
  /** Largest file accepted. (GENJOBS_WORKER_UPLOAD_LIMIT) */
  limit: number;
  /** The Content-Type header, when sent: a type that contradicts the name's extension is refused. */
  contentType?: string;
}

/**
 * Stores one output file of a job this worker holds, streamed to storage as it arrives (memory
 * stays bounded whatever the file's size); returns its URL for the output. The completion turns
 * that URL back into a reference to the stored file (workers/outputs.ts), whichever process takes it. A declared length
 * over the limit is refused before a byte is read.
 */
export async function uploadFile(deps: WorkerDeps, worker: WorkerRecord, jobId: string, query: { lease_token?: string; name?: string }, upload: Upload): Promise<{ url: string }> {
  if (upload.declaredLength !== null && upload.declaredLength > upload.limit) throw apiError('upload_too_large', { limit: upload.limit });
  await assertHolds(deps, worker, jobId, query.lease_token === undefined ? undefined : Number(query.lease_token));
  if (!upload.body || upload.declaredLength === 0) throw apiError('empty_upload');
  // The name's extension; without one, the Content-Type's (`image/png` -> png); else `bin`.
  const extension = /\.(\w{1,10})$/.exec(query.name ?? '')?.[1]?.toLowerCase() ?? extensionFor(upload.contentType) ?? 'bin';
  try {
    const file = await deps.files.put({ jobId, extension, source: upload.body, limit: upload.limit, ...(upload.contentType ? { contentType: upload.contentType } : {}) });
    deps.uploads.add(file);
    return { url: `${deps.publicUrl}/files/${file.key}` };
  } catch (err) {
    if (err instanceof FileSizeError) throw err.reason === 'empty' ? apiError('empty_upload') : apiError('upload_too_large', { limit: upload.limit });
    if (err instanceof FileTypeError) throw apiError('upload_type_mismatch', { type: err.contentType, extension: err.extension });
    throw err;
  }
}

export async function completeJob(deps: WorkerDeps, worker: WorkerRecord, jobId: string, body: { lease_token?: unknown; output?: unknown }): Promise<JobRecord> {
  const leaseToken = await assertHolds(deps, worker, jobId, body.lease_token);
  if (typeof body.output !== 'object' || body.output === null || Array.isArray(body.output)) throw invalid('output', 'must be an object such as {"outputImage": "<url>"}');
  const outputData = await storedWorkerOutput(deps.files, deps.uploads, jobId, body.output as Record<string, unknown>);
  const job = await deps.jobs.store.jobComplete({ id: jobId, leaseToken, outputData, now: Date.now() });
  if (!job) throw await leaseLost(deps, jobId);
  deps.jobs.events.changed(job);
  return job;
}

export async function failJob(deps: WorkerDeps, worker: WorkerRecord, jobId: string, body: { lease_token?: unknown; error?: unknown }): Promise<JobRecord> {
  const leaseToken = await assertHolds(deps, worker, jobId, body.lease_token);
  if (typeof body.error !== 'string' || body.error.trim() === '') throw invalid('error', 'must say what went wrong');
  const job = await deps.jobs.store.jobFail({ id: jobId, leaseToken, errorMessage: body.error.slice(0, 5_000), now: Date.now() });
  if (!job) throw await leaseLost(deps, jobId);
  deps.jobs.events.changed(job);
  return job;
}

/** Gives the job back (a worker shutting down): the next claim takes it, the attempt not counted. */
export async function releaseJob(deps: WorkerDeps, worker: WorkerRecord, jobId: string, body: { lease_token?: unknown }): Promise<void> {
  const leaseToken = await assertHolds(deps, worker, jobId, body.lease_token);
  if (!(await deps.jobs.store.jobRelease({ id: jobId, leaseToken, now: Date.now() }))) throw await leaseLost(deps, jobId);
}
