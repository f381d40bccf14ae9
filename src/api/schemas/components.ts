import { JOB_PRIORITIES, JOB_STATUSES } from '../../jobs/status.js';
import { MODALITIES, SETTING_TYPES } from '../../catalog/model.js';
import { APP_INPUT_TYPES } from '../../apps/definition.js';
import { ERROR_CODES, type ErrorCode } from '../../errors/codes.js';
import { exampleMessage } from './examples.js';

/**
 * The shared objects of the API as JSON Schemas, registered once with `app.addSchema` and
 * referenced by id (`{ $ref: 'Job#' }`) from the route schemas. The same schemas serialise the
 * answers (Fastify drops a property a response schema does not list, so every object here lists
 * every field its presenter sends) and become `components.schemas` of /openapi.json.
 */

type Schema = Record<string, unknown>;

/** A reference to a shared schema by its id. */
export const ref = (id: string): Schema => ({ $ref: `${id}#` });

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const nullable = (type: string, description?: string, extra: Schema = {}): Schema =>
  ({ type: [type, 'null'], ...extra, ...(description ? { description } : {}) });
const time = (description?: string): Schema => ({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
const nullableTime = (description?: string): Schema => nullable('string', description, { format: 'date-time' });
const int = (description?: string, extra: Schema = {}): Schema => ({ type: 'integer', ...extra, ...(description ? { description } : {}) });
/** An object whose keys are open: the caller's input, a provider's output, a node's settings. */
const openObject = (description: string): Schema => ({ type: 'object', additionalProperties: true, description });
const object = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema =>
  ({ type: 'object', properties, required, ...extra });
/** A list answer `{"object": "list", "data": [...]}`. */
const list = (id: string, item: string, description: string, extra: Record<string, Schema> = {}): Schema => ({
  $id: id, description, ...object({ object: { const: 'list' }, data: { type: 'array', items: ref(item) }, ...extra }),
});

export const ErrorBody: Schema = {
  $id: 'Error',
  description: 'Every error answer. `code` is stable (docs/errors.md lists each with its status); `error` is for people.',
  ...object({
    error: str('What went wrong and what to do about it. A 400 names the field first (`limit: ...`).'),
    code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'The stable machine code.' },
  }),
  // One example per code, as `apiError` words it.
  examples: (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => ({ error: exampleMessage(code), code })),
};

const jobProperties: Record<string, Schema> = {
  id: str('The job id, a time-ordered UUID (v7).'),
  object: { const: 'job' },
  run_type: { type: 'string', enum: ['model', 'app'] },
  model_id: nullable('string', 'The model a model run runs (`owner/name`); null for an app run.'),
  app_id: nullable('string', 'The app an app run runs; null for a model run.'),
  status: { type: 'string', enum: [...JOB_STATUSES], description: 'pending -> processing -> completed | failed; pending | processing -> cancelled. The last three are terminal.' },
  input_data: openObject('Model run: `{"input": {...}}` as sent; app run: `{"app_id", "inputs": {...}}`.'),
  output_data: nullable('object', 'Model run: `{"outputImage": url}` (or outputVideo, outputAudio, outputText, ...), null until completed; app run: `{"app_id", "app_name", "node_outputs": {nodeId: {...}}}`, filled node by node.', { additionalProperties: true }),
  error_message: nullable('string', 'Why it failed; null otherwise.'),
  credits_charged: int('Charged when the run was accepted.'),
  created_at: time(),
  completed_at: nullableTime('Set when the job reaches any terminal status.'),
  webhook_delivered: { type: 'boolean', description: 'True once its webhook got a 2xx answer.' },
  started_at: nullableTime('Extension: when an executor or worker first claimed it.'),
  cancelled_at: nullableTime('Extension.'),
  credits_refunded: int('Extension: refunded on failure or cancellation.'),
  progress: nullable('number', 'Extension: how far the work is, 0 to 1, when its worker reports it.', { minimum: 0, maximum: 1 }),
  retry_of: nullable('string', 'Extension: the job this one retries (POST /api/v1/jobs/{id}/retry).'),
  priority: { type: 'string', enum: [...JOB_PRIORITIES], description: 'Extension: orders the job within its account\'s own queue (high first, then first-come); accounts take turns whatever their jobs\' priorities.' },
  cancel_after_at: time('Extension, only when the run sent `Cancel-After`: the deadline at which it is cancelled if unfinished.'),
  queue_position: int('Extension, only while pending: an estimate of how many pending jobs (of every account) start before this one in the fair order, counted up to 10,000 (docs/api.md).', { minimum: 0 }),
};
const jobRequired = Object.keys(jobProperties).filter((k) => k !== 'cancel_after_at' && k !== 'queue_position');

const jobExample = {
  id: '0192f0c4-5b1e-7c3a-9d2f-6a8b4c1e2f30', object: 'job', run_type: 'model', model_id: 'local/image', app_id: null,
  status: 'completed', input_data: { input: { prompt: 'a red fox in snow' } },
  output_data: { outputImage: 'http://localhost:8080/files/0192f0c4-5b1e-7c3a-9d2f-6a8b4c1e2f30/Rq8dT2.png' },
  error_message: null, credits_charged: 10, created_at: '2026-03-26T12:30:00.000Z', completed_at: '2026-03-26T12:30:03.000Z',
  webhook_delivered: false, started_at: '2026-03-26T12:30:00.120Z', cancelled_at: null, credits_refunded: 0, progress: null, retry_of: null,
  priority: 'normal',
};

/** The platform's app-job example, in genjobs' time format and with its extensions. */
const appJobExample = {
  id: '0fefb57b-a89a-46f3-b7f6-da24841722f4', object: 'job', run_type: 'app', model_id: null, app_id: 'cb2bbd2d-b538-4d34-a54e-a9158c2e0dbb',
  status: 'completed',
  input_data: {
    app_id: 'cb2bbd2d-b538-4d34-a54e-a9158c2e0dbb',
    inputs: { '93197f6b-0180-4da1-ad4a-87890d2c7d4a': ['https://example.com/reference-image.jpg'], 'ced4aa7b-a2a8-4b53-b9ea-1b3e7d9194b5': 'auto' },
  },
  output_data: {
    app_id: 'cb2bbd2d-b538-4d34-a54e-a9158c2e0dbb', app_name: 'Sketch to Render',
    node_outputs: { '6fa95504-bf6c-44e6-bdda-c418903abc8c': { outputImage: 'https://example.com/files/render.jpeg' } },
  },
  error_message: null, credits_charged: 200, created_at: '2026-04-06T11:15:14.964Z', completed_at: '2026-04-06T11:17:14.985Z',
  webhook_delivered: false, started_at: '2026-04-06T11:15:15.020Z', cancelled_at: null, credits_refunded: 0, progress: null, retry_of: null,
  priority: 'normal',
};

export const Job: Schema = {
  $id: 'Job',
  description: 'A job: one run of a model or an app. The platform\'s fields first, then genjobs\' extensions.',
  ...object(jobProperties, jobRequired),
  examples: [jobExample, appJobExample],
};

export const ModelRun: Schema = {
  $id: 'ModelRun',
  description: 'The answer to a model run: the job, plus `model` (= model_id) and `output` (= output_data) as the platform names them there.',
  ...object({ ...jobProperties, model: nullable('string'), output: nullable('object', undefined, { additionalProperties: true }) }, [...jobRequired, 'model', 'output']),
  examples: [{ ...jobExample, model: 'local/image', output: jobExample.output_data }],
};

export const AppRun: Schema = {
  $id: 'AppRun',
  description: 'The answer to an app run: the job, plus `app_name` and `output` (= output_data).',
  ...object({ ...jobProperties, app_name: str(), output: nullable('object', undefined, { additionalProperties: true }) }, [...jobRequired, 'app_name', 'output']),
};

export const JobList: Schema = {
  ...list('JobList', 'Job', 'A page of jobs, newest first.', {
    has_more: { type: 'boolean', description: 'Extension: another page follows; pass the last id as `starting_after`.' },
  }),
  examples: [{ object: 'list', data: [jobExample], has_more: false }],
};

export const CancelledJob: Schema = {
  $id: 'CancelledJob',
  ...object({
    id: str(), object: { const: 'job' }, status: { type: 'string', enum: [...JOB_STATUSES] }, cancelled_at: time(),
    credits_refunded: int('Extension: what the cancellation refunded.'),
  }),
  examples: [{ id: '0192f0c4-5b1e-7c3a-9d2f-6a8b4c1e2f30', object: 'job', status: 'cancelled', cancelled_at: '2026-03-26T12:35:00.000Z', credits_refunded: 10 }],
};

export const BulkCancel: Schema = {
  $id: 'BulkCancel',
  ...object({
    object: { const: 'bulk_cancel' }, cancelled: int('How many jobs were cancelled.'), ids: { type: 'array', items: str() },
    credits_refunded: int('The refunds of all of them together.'),
  }),
};

const setting: Schema = object({
  key: str('The key in a run\'s `input`.'), label: str(), inputType: { type: 'string', enum: [...SETTING_TYPES] },
  defaultValue: { description: 'Used when a run leaves the setting out; null when it has none.' },
  options: { type: 'array', items: { type: ['string', 'number'] }, description: 'The allowed values of a `select`.' },
  min: { type: 'number' }, max: { type: 'number' }, required: { type: 'boolean' },
  maxLength: int('Extension: the longest value of a `text` setting, when the catalog sets one.'),
  multiple: { type: 'boolean', description: 'Extension: the value is a list of such values.' },
  maxItems: int('Extension: the most values of a `multiple` setting.'),
  accepts: str('Extension: what a `url` setting points at (`image`, `video`, `audio`).'),
}, ['key', 'label', 'inputType', 'defaultValue']);

export const Model: Schema = {
  $id: 'Model',
  ...object({
    id: str('`owner/name`.'), name: str(), modality: { type: 'string', enum: [...MODALITIES] }, cost: int('Credits per run.'),
    inputTypes: { type: 'array', items: str() }, promptRequired: { type: 'boolean' }, outputType: str('`image` gives `outputImage`, and so on.'),
    description: str(), settings: { type: 'array', items: setting },
    sync: { type: 'boolean', description: 'Extension: a run waits for the result (200) instead of answering 202 at once.' },
  }),
};
export const ModelList = list('ModelList', 'Model', 'The catalog.');

const appInput: Schema = object({
  id: str('The key a run sends in `inputs`.'), type: { type: 'string', enum: [...APP_INPUT_TYPES] }, label: str(), required: { type: 'boolean' },
  targetHandle: str('`<node id>:<setting key>`: the node setting it feeds.'), allowMultiple: { type: 'boolean', description: 'The value is an array.' },
});

const appProperties: Record<string, Schema> = {
  id: str(), object: { const: 'app' }, name: str(), description: str(), icon: nullable('string'), thumbnail_url: nullable('string'),
  is_template: { type: 'boolean' }, tags: { type: 'array', items: str() }, inputs: { type: 'array', items: appInput },
  cost: int('Extension: credits per run.'),
  node_count: int('Extension: how many model nodes a run goes through.'),
};

/** Every app field is always sent but `node_count`, which only newer presenters send. */
const appRequired = Object.keys(appProperties).filter((k) => k !== 'node_count');
export const App: Schema = { $id: 'App', ...object(appProperties, appRequired) };
export const AppList = list('AppList', 'App', 'The template apps, then the account\'s active private apps.');

export const AppDefinition: Schema = {
  $id: 'AppDefinition',
  description: 'An app definition (docs/apps.md): model nodes, the edges between them, and the inputs a run fills.',
  ...object({
    name: str(), description: str(), icon: nullable('string'), thumbnail_url: nullable('string'), tags: { type: 'array', items: str() },
    cost: nullable('integer', 'Credits per run; null: the sum of its nodes.'), timeout_ms: nullable('integer'),
    nodes: { type: 'array', items: object({ id: str(), model: str(), settings: openObject('Fixed values of the model\'s settings.') }) },
    edges: { type: 'array', items: object({ from: str(), output: str(), to: str(), input: str() }) },
    inputs: { type: 'array', items: appInput },
  }, ['name', 'nodes']),
};

export const AdminApp: Schema = {
  $id: 'AdminApp',
  description: 'A private app as the admin API shows it: the listing\'s fields, its owner and state, and its whole definition.',
  ...object({ ...appProperties, owner_id: nullable('string'), is_active: { type: 'boolean' }, definition: ref('AppDefinition') }, [...appRequired, 'owner_id', 'is_active', 'definition']),
};
export const AdminAppList = list('AdminAppList', 'AdminApp', 'An account\'s private apps, active or not.');

export const Account: Schema = {
  $id: 'Account',
  ...object({
    object: { const: 'account' }, user_id: str(), credits: int('The balance.'), subscription: nullable('string'),
    usage: object({
      credits_used_last_30d: int('Charges less refunds in the last 30 days.'), total_requests_last_30d: int('Runs accepted in the last 30 days.'),
      total_jobs: int(),
    }),
    api_keys: object({ active: int() }),
  }),
  examples: [{ object: 'account', user_id: '0192f0c4-0000-7000-8000-000000000001', credits: 940, subscription: null, usage: { credits_used_last_30d: 60, total_requests_last_30d: 4, total_jobs: 4 }, api_keys: { active: 1 } }],
};

export const LedgerEntry: Schema = {
  $id: 'LedgerEntry',
  ...object({
    id: str(), object: { const: 'ledger_entry' }, kind: { type: 'string', enum: ['grant', 'charge', 'refund'] },
    amount: int('Signed: charges are negative, refunds positive.'), balance_after: int(), job_id: nullable('string'), reason: nullable('string'),
    created_at: time(),
  }),
};
export const LedgerList = list('LedgerList', 'LedgerEntry', 'The last 100 ledger entries, newest first.');

export const User: Schema = {
  $id: 'User',
  ...object({
    id: str(), object: { const: 'user' }, name: nullable('string'), credits: int(), api_access: { type: 'boolean' },
    subscription: nullable('string'), created_at: time(),
    weight: int('Its share of the executors against other accounts with work (fair scheduler): an account of weight 2 starts twice as many jobs as one of weight 1.', { minimum: 1 }),
    max_running: nullable('integer', 'The most jobs it may have running at once; null: the server default (GENJOBS_DEFAULT_MAX_RUNNING, unlimited unless set).', { minimum: 0 }),
    max_running_per_model: nullable('integer', 'The most jobs of one model it may have running at once; null: the server default (GENJOBS_DEFAULT_MAX_RUNNING_PER_MODEL).', { minimum: 0 }),
    max_priority: { type: 'string', enum: [...JOB_PRIORITIES], description: 'The highest `priority` its runs may ask for.' },
  }),
};

export const UserList = list('UserList', 'User', 'The accounts, newest first.', {
  has_more: { type: 'boolean', description: 'Another page follows: pass the last id as `starting_after`.' },
});

export const QueueSummary: Schema = {
  $id: 'QueueSummary',
  description: 'The pending and processing jobs of every account, counted by status and model (or app).',
  ...object({
    object: { const: 'queue_summary' }, pending: int(), processing: int(),
    oldest_pending_created_at: nullableTime('When the oldest pending job was created; null when none is pending.'),
    oldest_pending_age_seconds: nullable('integer', 'How long the oldest pending job has waited.'),
    by_model: {
      type: 'array',
      items: object({
        status: { type: 'string', enum: ['pending', 'processing'] }, run_type: { type: 'string', enum: ['model', 'app'] },
        model_id: nullable('string'), app_id: nullable('string'), count: int(),
      }),
    },
  }),
};

export const ApiKey: Schema = {
  $id: 'ApiKey',
  ...object({
    id: str(), object: { const: 'api_key' }, key: str('The full key: only in the answer that creates it.'), key_prefix: str('The first characters, safe to show.'),
    name: nullable('string'), rate_limit_per_minute: int(), expires_at: nullableTime(), is_active: { type: 'boolean' }, created_at: time(),
  }, ['id', 'object', 'key_prefix', 'name', 'rate_limit_per_minute', 'expires_at', 'is_active', 'created_at']),
};
export const ApiKeyList = list('ApiKeyList', 'ApiKey', 'An account\'s keys, without secrets.');

export const Worker: Schema = {
  $id: 'Worker',
  ...object({
    id: str(), object: { const: 'worker' }, token: str('The worker token: only in the answer that issues it.'), name: nullable('string'),
    models: { type: 'array', items: str() }, is_active: { type: 'boolean' }, created_at: time(), last_seen_at: nullableTime(),
  }, ['id', 'object', 'name', 'models', 'is_active', 'created_at', 'last_seen_at']),
};
export const WorkerList = list('WorkerList', 'Worker', 'The workers, without tokens.');

export const WebhookSecret: Schema = {
  $id: 'WebhookSecret',
  ...object({
    object: { const: 'webhook_secret' }, secret: str('`whsec_...`: signs the account\'s deliveries.'),
    previous_secret_expires_at: nullableTime('After a rotation: until when the previous secret signs too.'),
  }),
};

export const WebhookDelivery: Schema = {
  $id: 'WebhookDelivery',
  ...object({
    id: str(), object: { const: 'webhook_delivery' }, event: { type: 'string', enum: ['job.completed', 'job.failed', 'job.cancelled'] }, url: str(),
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, attempts: int(), next_attempt_at: nullableTime('Set while pending.'),
    last_status_code: nullable('integer'), last_error: nullable('string'), created_at: time(), delivered_at: nullableTime(),
    attempt_log: {
      type: 'array',
      items: object({ n: int(), at: time(), status_code: nullable('integer'), error: nullable('string'), duration_ms: int() }),
    },
  }),
};
export const WebhookEvent: Schema = {
  $id: 'WebhookEvent',
  description: 'The body of a webhook delivery: the event and the job as GET /api/v1/jobs/{id} shows it, plus `output` (= output_data).',
  ...object({
    event: { type: 'string', enum: ['job.completed', 'job.failed', 'job.cancelled'] },
    job: object({ ...jobProperties, output: nullable('object', undefined, { additionalProperties: true }) }, [...jobRequired, 'output']),
  }),
};

export const WebhookDeliveryList = list('WebhookDeliveryList', 'WebhookDelivery', 'A job\'s webhook deliveries with every attempt.');

export const AuditEntry: Schema = {
  $id: 'AuditEntry',
  description: 'One change an operator made (docs/operations.md, "Audit log"). Never holds a key, token or secret.',
  ...object({
    id: str(), object: { const: 'audit_entry' }, at: time('When the change was made.'),
    actor: str('Who made it: `admin-token:` and the first 8 hex characters of the token\'s SHA-256, or `cli:` and the operating-system user.'),
    action: str('What was done: `user.create`, `user.update`, `user.credits.grant`, `user.credits.deduct`, `api_key.create`, `api_key.revoke`, `app.create`, `app.replace`, `app.update`, `worker.register`, `worker.revoke`.'),
    target_type: { type: 'string', enum: ['user', 'api_key', 'app', 'worker'] }, target_id: str('The id of what was changed.'),
    user_id: nullable('string', 'The account the change concerns: the account itself, or the owner of the key or app; null for workers.'),
    details: openObject('The changed fields.'),
    request_id: nullable('string', 'The request\'s X-Request-Id (as in the request log); null from the CLI.'),
    client_address: nullable('string', 'The address the request came from; null from the CLI.'),
  }),
  examples: [{
    id: '0192f0c4-0000-7000-8000-00000000a0d1', object: 'audit_entry', at: '2026-12-01T09:30:00.000Z', actor: 'admin-token:3f9a1c2e',
    action: 'user.credits.grant', target_type: 'user', target_id: '0192f0c4-0000-7000-8000-000000000001', user_id: '0192f0c4-0000-7000-8000-000000000001', details: { amount: 500, reason: 'monthly top-up' },
    request_id: 'req-42', client_address: '10.0.0.7',
  }],
};
export const AuditList = list('AuditList', 'AuditEntry', 'Audit entries, newest first.', {
  has_more: { type: 'boolean', description: 'Another page follows: pass the last id as `starting_after`.' },
});

/** Every shared schema, in the order they are registered. */
export const COMPONENTS: Schema[] = [
  ErrorBody, Job, ModelRun, AppRun, JobList, CancelledJob, BulkCancel, Model, ModelList, App, AppList, AppDefinition, AdminApp,
  AdminAppList, Account, LedgerEntry, LedgerList, User, UserList, QueueSummary, ApiKey, ApiKeyList, Worker, WorkerList, WebhookSecret, WebhookDelivery,
  WebhookDeliveryList, WebhookEvent, AuditEntry, AuditList,
];
