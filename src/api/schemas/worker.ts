import { JOB_STATUSES } from '../../jobs/status.js';
import { BODY_ERRORS, WORKER_ERRORS, errorResponses } from './responses.js';
import type { RouteSchema } from './route-schema.js';

/** The schemas of the worker protocol under `/worker/v1` (docs/workers.md), guarded by worker tokens. */

const tags = ['Worker'];
const security = [{ workerToken: [] }];
const jobParams = { type: 'object', properties: { id: { type: 'string', description: 'The claimed job\'s id.' } }, required: ['id'] };
const leaseToken = { type: 'integer', description: 'The `lease_token` of the claim.' };
const status = { type: 'string', enum: [...JOB_STATUSES] };

/** What a report about a held job may get besides success. */
const REPORT_ERRORS = [...WORKER_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'job_not_found', 'lease_lost'] as const;

const claimed = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    model: { type: 'string' },
    input: { type: 'object', additionalProperties: true, description: 'The run\'s input with the model\'s defaults filled in.' },
    output_field: { type: 'string', description: 'Where the output goes in `complete`\'s `output`, such as `outputImage`.' },
    lease_token: leaseToken,
    lease_expires_at: { type: 'string', format: 'date-time' },
    heartbeat_interval_ms: { type: 'integer', description: 'Send a heartbeat at least this often to keep the lease.' },
    attempt: { type: 'integer', description: 'How many times the job has been claimed, this claim included.' },
  },
  required: ['id', 'model', 'input', 'output_field', 'lease_token', 'lease_expires_at', 'heartbeat_interval_ms', 'attempt'],
};

export const WORKER_SCHEMAS: Record<string, RouteSchema> = {
  'POST /worker/v1/jobs/claim': {
    tags, security, summary: 'Claim a job', operationId: 'workerClaim', 'x-body-optional': true,
    description: 'Claims one pending job of the worker\'s models, waiting up to `wait_ms` for one to arrive.',
    body: {
      type: 'object',
      properties: {
        models: { type: 'array', items: { type: 'string' }, description: 'A subset of the worker\'s models. (Default: all of them)' },
        wait_ms: { type: 'integer', minimum: 0, maximum: 30_000, description: 'Long-poll for up to this long. (Default: 0)' },
      },
      examples: [{ wait_ms: 25_000 }],
    },
    response: {
      200: { description: 'A claimed job: the lease is the worker\'s now.', type: 'object', properties: { job: claimed }, required: ['job'] },
      204: { description: 'No job came within `wait_ms`.', type: 'null' },
      ...errorResponses([...WORKER_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'worker_model_forbidden']),
    },
  },
  'POST /worker/v1/jobs/:id/heartbeat': {
    tags, security, summary: 'Renew the lease, report progress and log lines', operationId: 'workerHeartbeat', params: jobParams,
    body: {
      type: 'object',
      properties: {
        lease_token: leaseToken,
        progress: { type: ['number', 'null'], minimum: 0, maximum: 1 },
        logs: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 10_000 } },
      },
      required: ['lease_token'],
    },
    response: {
      200: {
        description: '`continue: false` tells the worker to stop: the job was cancelled or is no longer its own.',
        type: 'object',
        properties: {
          continue: { type: 'boolean' }, status,
          lease_expires_at: { type: 'string', format: 'date-time', description: 'When `continue` is true.' },
          reason: { type: 'string', enum: ['cancelled', 'lease_lost'], description: 'When `continue` is false.' },
        },
        required: ['continue', 'status'],
      },
      ...errorResponses([...WORKER_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'job_not_found']),
    },
  },
  'POST /worker/v1/jobs/:id/files': {
    tags, security, summary: 'Upload an output file', operationId: 'workerUpload', params: jobParams,
    description: 'The body is the file\'s bytes, up to GENJOBS_WORKER_UPLOAD_LIMIT, with a Content-Type that does not name another kind of file than the name\'s extension (application/octet-stream always fits; a JSON file is a file here too).',
    querystring: {
      type: 'object',
      properties: {
        lease_token: { type: 'integer', description: 'The `lease_token` of the claim.' },
        name: { type: 'string', description: 'A file name; its extension is kept (`out.png`). Without one, the Content-Type\'s usual extension, else `.bin`.' },
      },
      required: ['lease_token'],
    },
    consumes: ['application/octet-stream', 'image/*', 'audio/*', 'video/*', 'text/*'],
    body: { type: 'string', format: 'binary' },
    response: {
      201: { description: 'Where the file is served: put it in the output.', type: 'object', properties: { url: { type: 'string', format: 'uri' } }, required: ['url'] },
      ...errorResponses([...REPORT_ERRORS, 'empty_upload', 'upload_too_large', 'upload_type_mismatch']),
    },
  },
  'POST /worker/v1/jobs/:id/complete': {
    tags, security, summary: 'Complete a job', operationId: 'workerComplete', params: jobParams,
    body: {
      type: 'object',
      properties: { lease_token: leaseToken, output: { type: 'object', additionalProperties: true, examples: [{ outputImage: 'http://localhost:8080/files/…/a.png' }] } },
      required: ['lease_token', 'output'],
    },
    response: {
      200: { description: 'The job, completed.', type: 'object', properties: { id: { type: 'string' }, status }, required: ['id', 'status'] },
      ...errorResponses(REPORT_ERRORS),
    },
  },
  'POST /worker/v1/jobs/:id/fail': {
    tags, security, summary: 'Fail a job', operationId: 'workerFail', params: jobParams,
    body: {
      type: 'object', properties: { lease_token: leaseToken, error: { type: 'string', minLength: 1, description: 'What went wrong; the job\'s error_message.' } },
      required: ['lease_token', 'error'],
    },
    response: {
      200: {
        description: 'The job, failed and refunded.', type: 'object',
        properties: { id: { type: 'string' }, status, credits_refunded: { type: 'integer' } }, required: ['id', 'status', 'credits_refunded'],
      },
      ...errorResponses(REPORT_ERRORS),
    },
  },
  'POST /worker/v1/jobs/:id/release': {
    tags, security, summary: 'Give a job back', operationId: 'workerRelease', params: jobParams,
    description: 'A worker shutting down: the next claim takes the job, and this attempt is not counted.',
    body: { type: 'object', properties: { lease_token: leaseToken }, required: ['lease_token'] },
    response: {
      200: { description: 'Released.', type: 'object', properties: { id: { type: 'string' }, released: { const: true } }, required: ['id', 'released'] },
      ...errorResponses(REPORT_ERRORS),
    },
  },
};
