import { ref } from './components.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses } from './responses.js';
import type { RouteSchema } from './route-schema.js';

/** The schemas of the operator's API under `/admin/v1`, guarded by GENJOBS_ADMIN_TOKEN. */

const tags = ['Admin'];
const security = [{ adminToken: [] }];
const userParams = { type: 'object', properties: { id: { type: 'string', description: 'A user (account) id.' } }, required: ['id'] };
const appParams = { type: 'object', properties: { appId: { type: 'string', description: 'A private app id.' } }, required: ['appId'] };

const USER = [...ADMIN_ERRORS, 'user_not_found'] as const;
/** A write with a JSON body about one user: its body may be refused, or name a bad field. */
const USER_WRITE = [...USER, ...BODY_ERRORS, 'invalid_parameter'] as const;

const appDefinitionBody = {
  ...ref('AppDefinition'),
  description: 'An app definition (docs/apps.md).',
};

export const ADMIN_SCHEMAS: Record<string, RouteSchema> = {
  'POST /admin/v1/users': {
    tags, security, summary: 'Create a user', operationId: 'adminCreateUser', 'x-body-optional': true,
    body: {
      type: 'object',
      properties: {
        name: { type: 'string' }, credits: { type: 'integer', minimum: 0, description: 'Granted at creation. (Default: 0)' },
        api_access: { type: 'boolean', description: 'Whether its keys may call /api/v1. (Default: true)' },
      },
      examples: [{ name: 'demo', credits: 1000 }],
    },
    response: { 201: { description: 'The user.', ...ref('User') }, ...errorResponses([...ADMIN_ERRORS, ...BODY_ERRORS, 'invalid_parameter']) },
  },
  'GET /admin/v1/users': {
    tags, security, summary: 'List the users', operationId: 'adminListUsers',
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 100, description: '(Default: 20)' },
        starting_after: { type: 'string', description: 'The last user id of the previous page.' },
      },
    },
    response: { 200: { description: 'The users, newest first.', ...ref('UserList') }, ...errorResponses([...ADMIN_ERRORS, 'invalid_parameter']) },
  },
  'GET /admin/v1/users/:id': {
    tags, security, summary: 'Get a user', operationId: 'adminGetUser', params: userParams,
    response: { 200: { description: 'The user.', ...ref('User') }, ...errorResponses(USER) },
  },
  'PATCH /admin/v1/users/:id': {
    tags, security, summary: 'Change a user\'s API access and scheduling settings', operationId: 'adminSetApiAccess', params: userParams,
    description: 'Changes the fields sent, at least one; the others are kept. `weight`, `max_running`, `max_running_per_model` and `max_priority` are the fair scheduler\'s (docs/architecture.md); null sets a limit back to the server default.',
    body: {
      type: 'object',
      minProperties: 1,
      properties: {
        api_access: { type: 'boolean' },
        weight: { type: 'integer', minimum: 1, maximum: 1000 },
        max_running: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000 },
        max_running_per_model: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000 },
        max_priority: { type: 'string', enum: ['low', 'normal', 'high'] },
      },
      examples: [{ weight: 3, max_running: 20 }, { api_access: false }],
    },
    response: { 200: { description: 'The user.', ...ref('User') }, ...errorResponses(USER_WRITE) },
  },
  'POST /admin/v1/users/:id/credits': {
    tags, security, summary: 'Grant or remove credits', operationId: 'adminGrantCredits', params: userParams,
    description: 'A negative amount removes credits, never below zero. Every grant is a ledger entry.',
    body: {
      type: 'object', properties: { amount: { type: 'integer' }, reason: { type: 'string' } }, required: ['amount'],
      examples: [{ amount: 500, reason: 'monthly top-up' }],
    },
    response: {
      200: { description: 'The new balance.', type: 'object', properties: { user_id: { type: 'string' }, credits: { type: 'integer' } }, required: ['user_id', 'credits'] },
      ...errorResponses([...USER_WRITE, 'balance_limit']),
    },
  },
  'GET /admin/v1/users/:id/ledger': {
    tags, security, summary: 'A user\'s ledger', operationId: 'adminGetLedger', params: userParams,
    response: { 200: { description: 'The last 100 entries, newest first.', ...ref('LedgerList') }, ...errorResponses(USER) },
  },
  'POST /admin/v1/users/:id/keys': {
    tags, security, summary: 'Create an API key', operationId: 'adminCreateKey', params: userParams, 'x-body-optional': true,
    description: 'The answer is the only one that holds the full key; only its SHA-256 is stored.',
    body: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        rate_limit_per_minute: { type: 'integer', minimum: 1, description: '(Default: GENJOBS_DEFAULT_RATE_LIMIT, 60)' },
        expires_at: { type: 'string', format: 'date-time', description: 'A time in the future; absent: never.' },
      },
      examples: [{ name: 'ci', rate_limit_per_minute: 600 }],
    },
    response: { 201: { description: 'The key, with `key`.', ...ref('ApiKey') }, ...errorResponses(USER_WRITE) },
  },
  'GET /admin/v1/users/:id/keys': {
    tags, security, summary: 'List a user\'s API keys', operationId: 'adminListKeys', params: userParams,
    response: { 200: { description: 'The keys, without secrets.', ...ref('ApiKeyList') }, ...errorResponses(USER) },
  },
  'DELETE /admin/v1/users/:id/keys/:keyId': {
    tags, security, summary: 'Revoke an API key', operationId: 'adminRevokeKey',
    params: { type: 'object', properties: { id: { type: 'string' }, keyId: { type: 'string' } }, required: ['id', 'keyId'] },
    response: { 200: { description: 'The key, now `is_active: false`.', ...ref('ApiKey') }, ...errorResponses([...USER, 'api_key_not_found']) },
  },
  'POST /admin/v1/users/:id/apps': {
    tags, security, summary: 'Create a private app', operationId: 'adminCreateApp', params: userParams, body: appDefinitionBody,
    response: { 201: { description: 'The app.', ...ref('AdminApp') }, ...errorResponses([...USER_WRITE, 'invalid_app_definition']) },
  },
  'GET /admin/v1/users/:id/apps': {
    tags, security, summary: 'List a user\'s private apps', operationId: 'adminListApps', params: userParams,
    response: { 200: { description: 'Its private apps, active or not.', ...ref('AdminAppList') }, ...errorResponses(USER) },
  },
  'PUT /admin/v1/apps/:appId': {
    tags, security, summary: 'Replace a private app\'s definition', operationId: 'adminUpdateApp', params: appParams, body: appDefinitionBody,
    response: {
      200: { description: 'The app, definition replaced.', ...ref('AdminApp') },
      ...errorResponses([...ADMIN_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'invalid_app_definition', 'app_not_found', 'app_is_template']),
    },
  },
  'PATCH /admin/v1/apps/:appId': {
    tags, security, summary: 'Activate or deactivate a private app', operationId: 'adminSetAppActive', params: appParams,
    body: { type: 'object', properties: { is_active: { type: 'boolean' } }, required: ['is_active'] },
    response: {
      200: { description: 'The app.', ...ref('AdminApp') },
      ...errorResponses([...ADMIN_ERRORS, ...BODY_ERRORS, 'invalid_parameter', 'app_not_found', 'app_is_template']),
    },
  },
  'GET /admin/v1/queue': {
    tags, security, summary: 'The queue at a glance', operationId: 'adminQueueSummary',
    description: 'Pending and processing jobs by status and model (or app), largest first, and the oldest pending job\'s age.',
    response: { 200: { description: 'The queue.', ...ref('QueueSummary') }, ...errorResponses(ADMIN_ERRORS) },
  },
  'POST /admin/v1/workers': {
    tags, security, summary: 'Issue a worker token', operationId: 'adminCreateWorker',
    description: 'The answer is the only one that holds the token. The models must have provider `worker`.',
    body: {
      type: 'object',
      properties: { name: { type: 'string' }, models: { type: 'array', items: { type: 'string' }, minItems: 1 } },
      required: ['models'],
      examples: [{ name: 'gpu-box-1', models: ['acme/sdxl'] }],
    },
    response: { 201: { description: 'The worker, with `token`.', ...ref('Worker') }, ...errorResponses([...ADMIN_ERRORS, ...BODY_ERRORS, 'invalid_parameter']) },
  },
  'GET /admin/v1/workers': {
    tags, security, summary: 'List the workers', operationId: 'adminListWorkers',
    response: { 200: { description: 'The workers, without tokens.', ...ref('WorkerList') }, ...errorResponses(ADMIN_ERRORS) },
  },
  'DELETE /admin/v1/workers/:workerId': {
    tags, security, summary: 'Revoke a worker', operationId: 'adminRevokeWorker',
    params: { type: 'object', properties: { workerId: { type: 'string' } }, required: ['workerId'] },
    response: { 200: { description: 'The worker, now `is_active: false`.', ...ref('Worker') }, ...errorResponses([...ADMIN_ERRORS, 'worker_not_found']) },
  },
  'GET /admin/v1/audit': {
    tags, security, summary: 'The audit log', operationId: 'adminListAudit',
    description: 'Every change made through the admin API or the operator CLI, newest first, a page at a time.',
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 100, description: '(Default: 20)' },
        starting_after: { type: 'string', description: 'The last entry id of the previous page.' },
        action: { type: 'string', description: 'Only this action, such as `user.credits.grant`.' },
        target_id: { type: 'string', description: 'Only changes to this account, key, app or worker.' },
        user_id: { type: 'string', description: 'Only changes to this account, its API keys and its private apps.' },
      },
    },
    response: { 200: { description: 'The entries, newest first.', ...ref('AuditList') }, ...errorResponses([...ADMIN_ERRORS, 'invalid_parameter']) },
  },
};
