import { JOB_PRIORITIES, JOB_STATUSES } from '../../jobs/status.js';
import { ref } from './components.js';
import {
  API_KEY_ERRORS, BODY_ERRORS, IDEMPOTENT_REPLAYED, PREFER_HEADER, PREFERENCE_APPLIED, RATE_LIMIT_HEADERS, RUN_REQUEST_HEADERS, errorResponses,
} from './responses.js';
import type { RouteSchema } from './route-schema.js';

/** The schemas of the public API under `/api/v1` (and of the routes beside it: health, files). */

const security = [{ apiKey: [] }];
const idParams = { type: 'object', properties: { id: { type: 'string', description: 'A job id.' } }, required: ['id'] };

/** A success answer of an authenticated route: its body and the rate-limit headers. */
const ok = (description: string, body: Record<string, unknown>, headers: Record<string, unknown> = {}) =>
  ({ description, ...body, headers: { ...RATE_LIMIT_HEADERS, ...headers } });
const RUN_HEADERS = { ...PREFERENCE_APPLIED, ...IDEMPOTENT_REPLAYED };

const runBodyExtras = {
  webhook_url: { type: 'string', format: 'uri', pattern: '^[hH][tT][tT][pP][sS]?://', description: 'An http(s) URL called when the job ends (docs/webhooks.md).' },
  priority: {
    type: 'string', enum: [...JOB_PRIORITIES], default: 'normal',
    description: 'Extension: orders the run within the account\'s own queue (accounts still take turns). Above the account\'s `max_priority`: 400 `priority_not_allowed`.',
  },
};

const runModelBody = {
  type: 'object',
  properties: {
    model: { type: 'string', description: '`owner/name` of a catalog model.' },
    input: { type: 'object', additionalProperties: true, description: 'The model\'s settings (GET /api/v1/models lists them).' },
    ...runBodyExtras,
  },
  required: ['model'],
  examples: [{ model: 'local/image', input: { prompt: 'a red fox', aspect_ratio: '16:9' }, webhook_url: 'https://example.com/hook' }],
};

const runAppBody = {
  type: 'object',
  properties: {
    app_id: { type: 'string' },
    inputs: { type: 'object', additionalProperties: true, description: 'By `inputs[].id` of the app; an `allowMultiple` input takes an array.' },
    ...runBodyExtras,
  },
  required: ['app_id'],
  examples: [{ app_id: '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22', inputs: { prompt: 'a fox in the snow' } }],
};

const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: '1 to 100.' },
    starting_after: { type: 'string', description: 'Extension: a job id from the previous page; the page continues after it.' },
    status: { type: 'string', enum: [...JOB_STATUSES], description: 'Extension: a filter.' },
    run_type: { type: 'string', enum: ['model', 'app'], description: 'Extension: a filter.' },
    model_id: { type: 'string', description: 'Extension: a filter.' },
    app_id: { type: 'string', description: 'Extension: a filter.' },
    created_after: { type: 'string', format: 'date-time', description: 'Extension: exclusive.' },
    created_before: { type: 'string', format: 'date-time', description: 'Extension: exclusive.' },
  },
};

const bulkCancelBody = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['pending', 'processing'] },
    model_id: { type: 'string', minLength: 1 },
    app_id: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
  description: 'The filter, required: `{}` cancels every cancellable job; any other field is refused.',
  examples: [{ status: 'pending', model_id: 'local/video' }],
};

const eventStream = (description: string) => ({
  description, headers: RATE_LIMIT_HEADERS,
  content: { 'text/event-stream': { schema: { type: 'string', description: 'Server-sent events: `status`, `progress`, `log` and `node` (docs/api.md).' } } },
});

const RUN_ERRORS = [...API_KEY_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'insufficient_credits', 'idempotency_conflict', 'priority_not_allowed'] as const;

export const PUBLIC_SCHEMAS: Record<string, RouteSchema> = {
  'GET /healthz': {
    tags: ['Health'], summary: 'Liveness', description: 'No key needed.', operationId: 'health',
    response: {
      200: { description: 'The process serves requests.', type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] },
      ...errorResponses(['internal_error', 'unavailable']),
    },
  },
  'GET /readyz': {
    tags: ['Health'], summary: 'Readiness', operationId: 'ready',
    description: 'Whether the process should get traffic: 503 `not_ready` naming the first failing check (shutdown, store, migrations, executor). No key needed.',
    response: {
      200: {
        description: 'Ready; each check with its detail.', type: 'object',
        properties: { status: { const: 'ready' }, checks: { type: 'object', additionalProperties: { type: 'string' } } }, required: ['status', 'checks'],
      },
      ...errorResponses(['not_ready', 'internal_error']),
    },
  },
  'GET /metrics': {
    tags: ['Health'], summary: 'Prometheus metrics', operationId: 'metrics', security: [{ metricsToken: [] }, {}],
    description: 'The Prometheus text format. Open while GENJOBS_METRICS_TOKEN is unset (keep the port private then); otherwise the token is required.',
    response: {
      200: { description: 'The metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...errorResponses(['missing_token', 'invalid_metrics_token', 'internal_error']),
    },
  },
  'GET /openapi.json': {
    tags: ['Reference'], summary: 'This document', operationId: 'getOpenApi',
    description: 'The OpenAPI 3.1 document of every route, generated from the schemas the routes are registered with. /docs renders it.',
    response: { 200: { description: 'The document.', type: 'object', additionalProperties: true }, ...errorResponses(['internal_error', 'unavailable']) },
  },
  'GET /files/*': {
    tags: ['Files'], summary: 'An output file', operationId: 'getFile',
    description: 'The files models and workers write, at the links found in `output_data`, streamed from the configured storage (local folder or S3). No key is needed: the names are random. One byte range per request (`Range: bytes=0-1023`, `bytes=1024-`, `bytes=-500`, with `If-Range`), `If-None-Match`, `If-Modified-Since` and HEAD are answered; files never change, so they are cached for a year (`immutable`).',
    params: { type: 'object', properties: { '*': { type: 'string', description: '`<job id>/<name>`' } } },
    response: {
      200: { description: 'The file.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      206: { description: 'The byte range asked for; `Content-Range` says which.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      304: { description: 'Not modified: the `If-None-Match` tag is the current one (or, without it, the file is no newer than `If-Modified-Since`).' },
      ...errorResponses(['file_not_found', 'range_not_satisfiable', 'internal_error']),
    },
  },
  'GET /api/v1/models': {
    tags: ['Models'], summary: 'List the models', security, operationId: 'listModels',
    response: { 200: ok('The catalog.', ref('ModelList')), ...errorResponses(API_KEY_ERRORS, { rateLimited: true }) },
  },
  'POST /api/v1/models/run': {
    tags: ['Models'], summary: 'Run a model', security, operationId: 'runModel',
    description: 'Charges the model\'s cost when accepted, in the transaction that creates the job. 200 when the job finished within the synchronous window (models with `sync`, or `Prefer: wait`), 202 while it is pending or processing.',
    headers: RUN_REQUEST_HEADERS, body: runModelBody,
    response: {
      200: ok('The job finished (whatever its final status).', ref('ModelRun'), RUN_HEADERS),
      202: ok('The job is pending or processing: poll GET /api/v1/jobs/{id}, stream its events or wait for the webhook.', ref('ModelRun'), RUN_HEADERS),
      ...errorResponses([...RUN_ERRORS, 'unknown_model', 'invalid_input'], { rateLimited: true }),
    },
  },
  'GET /api/v1/jobs': {
    tags: ['Jobs'], summary: 'List jobs', security, operationId: 'listJobs', description: 'The account\'s jobs, newest first.',
    querystring: listQuery,
    response: { 200: ok('A page of jobs.', ref('JobList')), ...errorResponses([...API_KEY_ERRORS, 'invalid_parameter'], { rateLimited: true }) },
  },
  'POST /api/v1/jobs/cancel': {
    tags: ['Jobs'], summary: 'Cancel jobs by filter', security, operationId: 'cancelJobs',
    description: 'Extension: cancels every pending or processing job of the account that matches the filter, each refunded as a single cancel is.',
    body: bulkCancelBody,
    response: { 200: ok('What was cancelled.', ref('BulkCancel')), ...errorResponses([...API_KEY_ERRORS, ...BODY_ERRORS, 'invalid_parameter'], { rateLimited: true }) },
  },
  'GET /api/v1/jobs/events': {
    tags: ['Jobs'], summary: 'Stream the account\'s jobs', security, operationId: 'streamAccountEvents',
    description: 'Extension: a `status` event for each unfinished job, then one whenever a job of the account changes status. Stays open; a comment heartbeat every 15 s.',
    response: { 200: eventStream('A server-sent event stream.'), ...errorResponses([...API_KEY_ERRORS, 'too_many_streams'], { rateLimited: true }) },
  },
  'GET /api/v1/jobs/:id': {
    tags: ['Jobs'], summary: 'Get a job', security, operationId: 'getJob',
    description: 'Another account\'s job is a 404 too: existence is never revealed.',
    params: idParams, headers: PREFER_HEADER,
    response: { 200: ok('The job.', ref('Job'), PREFERENCE_APPLIED), ...errorResponses([...API_KEY_ERRORS, 'job_not_found'], { rateLimited: true }) },
  },
  'GET /api/v1/jobs/:id/events': {
    tags: ['Jobs'], summary: 'Stream a job', security, operationId: 'streamJobEvents',
    description: 'Extension: the job\'s `status`, `progress`, `log` and `node` events as server-sent events; the terminal `status` event has id `end` and closes the stream.',
    params: idParams,
    headers: { type: 'object', properties: { 'Last-Event-ID': { type: 'string', description: '`end` (an EventSource reconnecting after the terminal event) is answered 204.' } } },
    response: {
      200: eventStream('A server-sent event stream.'),
      204: { description: 'The reconnect came after the terminal event: stop.', type: 'null', headers: RATE_LIMIT_HEADERS },
      ...errorResponses([...API_KEY_ERRORS, 'job_not_found', 'too_many_streams'], { rateLimited: true }),
    },
  },
  'POST /api/v1/jobs/:id/cancel': {
    tags: ['Jobs'], summary: 'Cancel a job', security, operationId: 'cancelJob',
    description: 'A pending job is refunded in full, a processing one per GENJOBS_CANCEL_REFUND_PERCENT, and its work is stopped. No body is needed.',
    params: idParams,
    response: {
      200: ok('The job, now cancelled.', ref('CancelledJob')),
      ...errorResponses([...API_KEY_ERRORS, ...BODY_ERRORS, 'job_not_found', 'job_not_cancellable'], { rateLimited: true }),
    },
  },
  'POST /api/v1/jobs/:id/retry': {
    tags: ['Jobs'], summary: 'Retry a job', security, operationId: 'retryJob',
    description: 'Extension: runs the job\'s model or app again as a new job with `retry_of` set, checked and charged like a new run. Answers as the run routes do: a model job as POST /api/v1/models/run, an app job as POST /api/v1/apps/run.',
    params: idParams, headers: RUN_REQUEST_HEADERS,
    response: {
      200: ok('A model job that finished within the synchronous window.', ref('ModelRun'), RUN_HEADERS),
      202: ok('The new job, pending or processing.', { anyOf: [ref('ModelRun'), ref('AppRun')] }, RUN_HEADERS),
      ...errorResponses([...RUN_ERRORS, 'job_not_found', 'app_not_found', 'unknown_model', 'invalid_input', 'missing_inputs'], { rateLimited: true }),
    },
  },
  'GET /api/v1/jobs/:id/webhook_deliveries': {
    tags: ['Webhooks'], summary: 'A job\'s webhook deliveries', security, operationId: 'listWebhookDeliveries',
    description: 'Extension: every delivery of the job\'s webhook, with every attempt.',
    params: idParams,
    response: { 200: ok('The deliveries.', ref('WebhookDeliveryList')), ...errorResponses([...API_KEY_ERRORS, 'job_not_found'], { rateLimited: true }) },
  },
  'GET /api/v1/account': {
    tags: ['Account'], summary: 'The account', security, operationId: 'getAccount',
    response: { 200: ok('Balance and usage.', ref('Account')), ...errorResponses([...API_KEY_ERRORS, 'user_not_found'], { rateLimited: true }) },
  },
  'GET /api/v1/account/ledger': {
    tags: ['Account'], summary: 'The account\'s ledger', security, operationId: 'getLedger',
    description: 'Extension: the last 100 entries, newest first; charges are negative, refunds positive.',
    response: { 200: ok('Ledger entries.', ref('LedgerList')), ...errorResponses(API_KEY_ERRORS, { rateLimited: true }) },
  },
  'GET /api/v1/apps': {
    tags: ['Apps'], summary: 'List the apps', security, operationId: 'listApps',
    response: { 200: ok('Every template app, then the account\'s active private apps.', ref('AppList')), ...errorResponses(API_KEY_ERRORS, { rateLimited: true }) },
  },
  'POST /api/v1/apps/run': {
    tags: ['Apps'], summary: 'Run an app', security, operationId: 'runApp',
    description: 'Always 202. Charges the app\'s cost when accepted.',
    headers: RUN_REQUEST_HEADERS, body: runAppBody,
    response: {
      202: ok('The job.', ref('AppRun'), RUN_HEADERS),
      ...errorResponses([...RUN_ERRORS, 'app_not_found', 'missing_inputs', 'invalid_input'], { rateLimited: true }),
    },
  },
  'GET /api/v1/webhooks/secret': {
    tags: ['Webhooks'], summary: 'The webhook secret', security, operationId: 'getWebhookSecret',
    description: 'Extension: the secret that signs the account\'s deliveries, made on first use.',
    response: { 200: ok('The secret.', ref('WebhookSecret')), ...errorResponses(API_KEY_ERRORS, { rateLimited: true }) },
  },
  'POST /api/v1/webhooks/secret/rotate': {
    tags: ['Webhooks'], summary: 'Rotate the webhook secret', security, operationId: 'rotateWebhookSecret',
    description: 'Extension: a new secret; the previous one keeps signing for the grace period.',
    response: { 200: ok('The new secret.', ref('WebhookSecret')), ...errorResponses([...API_KEY_ERRORS, ...BODY_ERRORS], { rateLimited: true }) },
  },
};
