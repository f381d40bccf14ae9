import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/paths.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors/codes.js';
import { registeredRoutes, UNDOCUMENTED } from '../../src/api/schemas/index.js';
import { BEFORE_ROUTING } from '../../src/api/schemas/responses.js';
import { RequestChecker, ResponseChecker } from '../helpers/openapi.js';
import { presentModel } from '../../src/catalog/present.js';
import { presentApp, presentAppForAdmin } from '../../src/apps/present.js';
import { presentLedgerEntry } from '../../src/credits/present.js';
import { getAccount } from '../../src/accounts/account.js';

/* /openapi.json: a valid OpenAPI 3.1 document that covers every route, header and error code, and response schemas that drop nothing. */

type Json = Record<string, any>;
type Operation = Json & { responses: Record<string, Json> };

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** A Fastify URL as the document writes it: `:id` as `{id}`; the output-file wildcard by its two parts. */
function documentPath(url: string): string {
  if (url === '/files/*') return '/files/{job_id}/{name}';
  return url.replace(/:(\w+)/g, '{$1}');
}

function operations(doc: Json): { path: string; method: string; op: Operation }[] {
  const out: { path: string; method: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) out.push({ path, method, op: item[method] as Operation });
  }
  return out;
}

const parameterNames = (op: Operation, where: string): string[] =>
  ((op.parameters ?? []) as Json[]).filter((p) => p.in === where).map((p) => (p.name as string).toLowerCase());

describe('GET /openapi.json', () => {
  let app: TestApp;
  let doc: Json;
  before(async () => {
    app = await testApp();
    const res = await app.server.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    doc = res.json() as Json;
  });
  after(() => app.dispose());

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.1');
    assert.equal(doc.openapi, '3.1.0');
  });

  it('documents every route the server registers, and no route it does not', () => {
    const routes = registeredRoutes(app.server);
    assert.ok(routes.length > 30, `only ${routes.length} routes were seen`);
    const documented = new Set(operations(doc).map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    const expected = new Set<string>();
    for (const route of routes) {
      if (route.hidden) {
        // A route opts out with `schema.hide` (the reference's own pages, a web page's assets); under the
        // API prefixes only the routes listed in UNDOCUMENTED, each with its reason, may.
        const api = /^\/(api|admin|worker)\//.test(route.url);
        assert.ok(!api || UNDOCUMENTED[route.url] !== undefined, `${route.method} ${route.url} is hidden from /openapi.json`);
        continue;
      }
      const key = `${route.method} ${documentPath(route.url)}`;
      expected.add(key);
      assert.ok(documented.has(key), `${route.method} ${route.url} is registered but not in /openapi.json`);
    }
    for (const key of documented) assert.ok(expected.has(key), `/openapi.json has ${key}, which the server does not register`);
  });

  it('gives every operation an id, a tag, its path parameters, a success answer and its errors', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.equal(typeof op.operationId, 'string', where);
      assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is used twice`);
      ids.add(op.operationId);
      assert.ok(op.tags?.length === 1, `${where} has one tag`);
      assert.ok(typeof op.summary === 'string' && op.summary.length > 0, `${where} has a summary`);
      for (const [, name] of path.matchAll(/\{(\w+)\}/g)) assert.ok(parameterNames(op, 'path').includes(name!.toLowerCase()), `${where} documents {${name}}`);
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.some((s) => /^2\d\d$/.test(s)), `${where} has a 2xx answer`);
      assert.ok(statuses.includes('500'), `${where} documents its 500`);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        assert.equal(op.responses[status]!.content?.['application/json']?.schema?.$ref, '#/components/schemas/Error', `${where} ${status} is an Error`);
      }
    }
  });

  it('names every error code of src/errors/codes.ts, each in an example of an answer with its status', () => {
    const error = doc.components.schemas.Error as Json;
    assert.deepEqual([...error.properties.code.enum].sort(), Object.keys(ERROR_CODES).sort());
    assert.deepEqual((error.examples as Json[]).map((e) => e.code).sort(), Object.keys(ERROR_CODES).sort());
    const seen = new Map<string, Set<string>>();
    for (const { op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const example of Object.values((response.content?.['application/json']?.examples ?? {}) as Record<string, Json>)) {
          const code = example.value.code as string;
          seen.set(code, (seen.get(code) ?? new Set()).add(status));
          assert.equal(typeof example.value.error, 'string');
        }
      }
    }
    for (const [code, { status }] of Object.entries(ERROR_CODES) as [ErrorCode, { status: number }][]) {
      // Answered before a route is found: the Error schema's examples show them.
      if (BEFORE_ROUTING.includes(code)) continue;
      assert.ok(seen.has(code), `no answer in /openapi.json shows ${code}`);
      assert.deepEqual([...seen.get(code)!], [String(status)], `${code} is shown under its status ${status}`);
    }
  });

  it('documents the run headers, Prefer, the rate-limit headers and Retry-After where they apply', () => {
    const op = (method: string, path: string) => (doc.paths[path] as Json)[method] as Operation;
    for (const [method, path] of [['post', '/api/v1/models/run'], ['post', '/api/v1/apps/run'], ['post', '/api/v1/jobs/{id}/retry']] as const) {
      const names = parameterNames(op(method, path), 'header');
      for (const header of ['idempotency-key', 'cancel-after', 'prefer']) assert.ok(names.includes(header), `${path} takes ${header}`);
      for (const [status, response] of Object.entries(op(method, path).responses)) {
        if (!/^2/.test(status)) continue;
        for (const header of ['Preference-Applied', 'Idempotent-Replayed']) assert.ok(response.headers?.[header], `${path} ${status} sends ${header}`);
      }
    }
    assert.ok(parameterNames(op('get', '/api/v1/jobs/{id}'), 'header').includes('prefer'));
    assert.ok(parameterNames(op('get', '/api/v1/jobs/{id}/events'), 'header').includes('last-event-id'));
    assert.deepEqual(parameterNames(op('get', '/api/v1/jobs'), 'query').sort(),
      ['app_id', 'created_after', 'created_before', 'limit', 'model_id', 'run_type', 'starting_after', 'status']);
    for (const { path, method, op: o } of operations(doc)) {
      for (const [status, response] of Object.entries(o.responses)) {
        const where = `${method.toUpperCase()} ${path} ${status}`;
        if (status === '429' || status === '503') assert.ok(response.headers?.['Retry-After'], `${where} sends Retry-After`);
        if (path.startsWith('/api/v1/') && status !== '401' && status !== '403') {
          for (const header of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) assert.ok(response.headers?.[header], `${where} sends ${header}`);
        }
      }
    }
  });

  it('puts the public, admin and worker APIs under their own tags and security schemes', () => {
    const schemes = doc.components.securitySchemes as Json;
    for (const name of ['apiKey', 'adminToken', 'workerToken']) assert.deepEqual({ type: schemes[name].type, scheme: schemes[name].scheme }, { type: 'http', scheme: 'bearer' });
    for (const { path, op } of operations(doc)) {
      const security = (op.security ?? []).flatMap((s: Json) => Object.keys(s));
      if (path.startsWith('/admin/v1/')) {
        assert.deepEqual([op.tags, security], [['Admin'], ['adminToken']], path);
      } else if (path.startsWith('/worker/v1/')) {
        assert.deepEqual([op.tags, security], [['Worker'], ['workerToken']], path);
      } else if (path.startsWith('/api/v1/')) {
        assert.deepEqual(security, ['apiKey'], path);
        assert.ok(!['Admin', 'Worker'].includes(op.tags[0]), path);
      } else if (path === '/metrics') {
        assert.deepEqual(security, ['metricsToken'], 'GET /metrics takes the metrics token when one is set');
      } else {
        assert.deepEqual(security, [], `${path} needs no key`);
      }
    }
  });

  it('holds the examples of the contract, each valid against its schema', () => {
    const checker = new ResponseChecker(doc);
    const schemas = doc.components.schemas as Record<string, Json>;
    for (const [name, schema] of Object.entries(schemas)) {
      for (const example of (schema.examples ?? []) as unknown[]) checker.assertValid(name, example);
    }
    const account = schemas.Account!.examples[0] as Json;
    assert.deepEqual(Object.keys(account.usage as Json).sort(), ['credits_used_last_30d', 'total_jobs', 'total_requests_last_30d']);
    const insufficient = (schemas.Error!.examples as Json[]).find((e) => e.code === 'insufficient_credits');
    assert.equal(insufficient!.error, 'Insufficient credits. Required 1000, available 200');
    const missing = (schemas.Error!.examples as Json[]).find((e) => e.code === 'missing_inputs');
    assert.equal(missing!.error, 'Missing required inputs: Prompt');
  });
});

describe('response schemas', () => {
  let app: TestApp;
  let checker: ResponseChecker;
  let auth: { authorization: string };
  let userId: string;
  before(async () => {
    app = await testApp();
    checker = new ResponseChecker((await app.server.inject({ method: 'GET', url: '/openapi.json' })).json() as Json);
    ({ auth, userId } = await app.account({ credits: 1000 }));
  });
  after(() => app.dispose());

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, body?: unknown) => {
    const res = await app.server.inject({
      method, url, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.json() as Json };
  };
  /** What a presenter returns, as it reads once sent. */
  const asSent = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

  it('list every field of a job: the finished-job text, the serialised list entry and the run answer agree', async () => {
    const run = await call('POST', '/api/v1/models/run', auth, { model: 'local/image', input: { prompt: 'a red fox in snow' } });
    assert.equal(run.status, 200);
    checker.assertValid('ModelRun', run.body);
    assert.equal(run.body.status, 'completed');
    // GET /jobs/:id sends pre-written text (the finished-job cache), which no schema filters.
    const one = await call('GET', `/api/v1/jobs/${run.body.id}`, auth);
    checker.assertValid('Job', one.body);
    const again = await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${run.body.id}`, headers: auth });
    assert.deepEqual(again.json(), one.body);
    // GET /jobs is serialised through the Job schema: a field missing from it would be dropped.
    const list = await call('GET', '/api/v1/jobs?limit=1', auth);
    checker.assertValid('JobList', list.body);
    assert.deepEqual(list.body.data[0], one.body);
    const { model, output, ...job } = run.body;
    assert.deepEqual(job, one.body);
    assert.equal(model, 'local/image');
    assert.deepEqual(output, one.body.output_data);
  });

  it('list every field of a pending job with its extensions (queue_position, cancel_after_at) and of a cancel', async () => {
    const run = await call('POST', '/api/v1/models/run', { ...auth, 'cancel-after': '1h' }, { model: 'local/test', input: { duration_ms: 60_000 } });
    assert.equal(run.status, 202);
    checker.assertValid('ModelRun', run.body);
    assert.equal(typeof run.body.cancel_after_at, 'string');
    assert.equal(typeof run.body.queue_position, 'number');
    const one = await call('GET', `/api/v1/jobs/${run.body.id}`, auth);
    checker.assertValid('Job', one.body);
    const cancelled = await call('POST', `/api/v1/jobs/${run.body.id}/cancel`, auth);
    assert.equal(cancelled.status, 200);
    checker.assertValid('CancelledJob', cancelled.body);
    assert.equal(cancelled.body.credits_refunded, run.body.credits_charged);
  });

  it('list every field of an app run and of its retry', async () => {
    const apps = await call('GET', '/api/v1/apps', auth);
    checker.assertValid('AppList', apps.body);
    const resolved = await app.runs.apps.listFor(userId);
    assert.deepEqual(apps.body.data, asSent(resolved.map((a) => presentApp(a, app.catalog))));
    const storyboard = '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22';
    const run = await call('POST', '/api/v1/apps/run', auth, { app_id: storyboard, inputs: { prompt: 'a fox in the snow' } });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    checker.assertValid('AppRun', run.body);
    const done = await eventually(async () => {
      const res = await call('GET', `/api/v1/jobs/${run.body.id}`, auth);
      return ['completed', 'failed'].includes(res.body.status) ? res.body : undefined;
    }, 20_000, 'the app job to finish');
    checker.assertValid('Job', done);
    const retry = await call('POST', `/api/v1/jobs/${run.body.id}/retry`, auth);
    assert.equal(retry.status, 202);
    // The retry of an app job answers as an app run does: `app_name` survives serialisation.
    checker.assertValid('AppRun', retry.body);
    assert.equal(retry.body.app_name, run.body.app_name);
    assert.equal(retry.body.retry_of, run.body.id);
  });

  it('list every field of the catalog, the account and the ledger', async () => {
    const models = await call('GET', '/api/v1/models', auth);
    checker.assertValid('ModelList', models.body);
    assert.deepEqual(models.body.data, asSent(app.catalog.models.map(presentModel)));
    const account = await call('GET', '/api/v1/account', auth);
    checker.assertValid('Account', account.body);
    assert.deepEqual(account.body, asSent(await getAccount(app.store, userId)));
    const ledger = await call('GET', '/api/v1/account/ledger', auth);
    checker.assertValid('LedgerList', ledger.body);
    assert.deepEqual(ledger.body.data, asSent((await app.store.ledgerList({ userId, limit: 100 })).map(presentLedgerEntry)));
    const secret = await call('GET', '/api/v1/webhooks/secret', auth);
    checker.assertValid('WebhookSecret', secret.body);
    const rotated = await call('POST', '/api/v1/webhooks/secret/rotate', auth);
    checker.assertValid('WebhookSecret', rotated.body);
    assert.equal(typeof rotated.body.previous_secret_expires_at, 'string');
  });

  it('list every field of the admin API\'s users, keys and workers', async () => {
    const user = await call('POST', '/admin/v1/users', ADMIN, { name: 'schema', credits: 5 });
    assert.equal(user.status, 201);
    checker.assertValid('User', user.body);
    assert.deepEqual(Object.keys(user.body).sort(), ['api_access', 'created_at', 'credits', 'id', 'max_priority', 'max_running', 'max_running_per_model', 'name', 'object', 'subscription', 'weight']);
    const key = await call('POST', `/admin/v1/users/${user.body.id}/keys`, ADMIN, { name: 'k', expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    assert.equal(key.status, 201);
    checker.assertValid('ApiKey', key.body);
    assert.match(key.body.key as string, /^sk_live_/);
    const keys = await call('GET', `/admin/v1/users/${user.body.id}/keys`, ADMIN);
    checker.assertValid('ApiKeyList', keys.body);
    const { key: secret, ...listed } = key.body;
    assert.equal(typeof secret, 'string');
    assert.deepEqual(keys.body.data, [listed]);
    const credits = await call('POST', `/admin/v1/users/${user.body.id}/credits`, ADMIN, { amount: 7 });
    assert.deepEqual(credits.body, { user_id: user.body.id, credits: 12 });
    const workers = await call('GET', '/admin/v1/workers', ADMIN);
    checker.assertValid('WorkerList', workers.body);
    const definition = { name: 'Schema check', description: 'one node', nodes: [{ id: 'a', model: 'local/test', settings: {} }] };
    const created = await call('POST', `/admin/v1/users/${user.body.id}/apps`, ADMIN, definition);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    checker.assertValid('AdminApp', created.body);
    const stored = (await app.runs.apps.listFor(user.body.id as string)).find((a) => a.definition.id === created.body.id);
    assert.deepEqual(created.body, asSent(presentAppForAdmin(stored!, app.catalog)));
    const apps = await call('GET', `/admin/v1/users/${user.body.id}/apps`, ADMIN);
    checker.assertValid('AdminAppList', apps.body);
  });

  it('describe a webhook delivery as it is sent: the WebhookEvent body and the signature headers', async (t) => {
    const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { got.push({ headers: req.headers, body }); res.end('ok'); });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const run = await call('POST', '/api/v1/models/run', auth, { model: 'local/image', input: { prompt: 'a hook' }, webhook_url: url });
    assert.equal(run.status, 200);
    const delivery = await eventually(() => got[0], 10_000, 'the webhook delivery');
    checker.assertValid('WebhookEvent', JSON.parse(delivery.body));
    const doc = (await app.server.inject({ method: 'GET', url: '/openapi.json' })).json() as Json;
    const documented = (doc.webhooks['job.finished'].post.parameters as Json[]).filter((p) => p.required).map((p) => (p.name as string).toLowerCase());
    for (const header of documented) assert.equal(typeof delivery.headers[header], 'string', `the delivery carries ${header}`);
  });

  it('answer errors in the shape of the Error schema', async () => {
    const missing = await call('GET', '/api/v1/jobs/00000000-0000-7000-8000-000000000000', auth);
    assert.equal(missing.status, 404);
    checker.assertValid('Error', missing.body);
    const bad = await call('GET', '/api/v1/jobs?limit=0', auth);
    assert.equal(bad.status, 400);
    checker.assertValid('Error', bad.body);
    assert.deepEqual(bad.body, { error: 'limit: must be a whole number from 1 to 100', code: 'invalid_parameter' });
  });
});

describe('/docs', () => {
  let app: TestApp;
  before(async () => { app = await testApp(); });
  after(() => app.dispose());

  const get = (url: string) => app.server.inject({ method: 'GET', url });
  /** An address that leaves this server: a scheme (other than data:) or a protocol-relative `//`. */
  const external = (ref: string) => /^(\/\/|[a-z][a-z0-9+.-]*:)/i.test(ref.trim()) && !/^data:/i.test(ref.trim());
  const CDNS = /(unpkg\.com|jsdelivr|cdnjs|googleapis|gstatic|cloudflare|fontawesome|bootstrapcdn)/i;

  it('serves the reference from the installed package, loading nothing from another origin', async () => {
    const page = await get('/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /https?:|\*/, 'the policy allows no other origin');
    const refs = [...page.body.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    assert.ok(refs.length >= 5, `the page loads its assets: ${refs.join(', ')}`);
    for (const ref of refs) {
      assert.ok(!external(ref), `/docs/ loads ${ref}`);
      const asset = await get(new URL(ref, 'http://self/docs/').pathname);
      assert.equal(asset.statusCode, 200, ref);
      const text = asset.body;
      if (/\.css$/.test(ref)) {
        for (const m of text.matchAll(/url\(\s*["']?([^"')]+)/gi)) assert.ok(!external(m[1]!), `${ref} loads ${m[1]}`);
        assert.doesNotMatch(text, /@import/i, `${ref} imports no stylesheet`);
      }
      if (/\.js$/.test(ref)) {
        assert.doesNotMatch(text, /\b(?:src|href)\s*=\s*["']https?:\/\//i, `${ref} sets no element source to another origin`);
        assert.doesNotMatch(text, CDNS, `${ref} names no CDN`);
      }
    }
    const init = (await get('/docs/static/swagger-initializer.js')).body;
    assert.match(init, /validatorUrl: null/, 'no validator badge is fetched from validator.swagger.io');
    assert.match(init, /url: resolveUrl\('\.\/json'\)/, 'the document comes from this server');
  });

  it('renders the same document as /openapi.json', async () => {
    const served = (await get('/docs/json')).json() as Json;
    const doc = (await get('/openapi.json')).json() as Json;
    assert.deepEqual(served, doc);
  });
});

describe('scripts/openapi.ts', () => {
  it('writes the document GET /openapi.json serves, without a server', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-openapi-test-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'openapi.json');
    await promisify(execFile)(process.execPath, [path.join(packageRoot, 'dist', 'scripts', 'openapi.js'), file], {
      env: { ...process.env, PUBLIC_URL: 'http://genjobs.test' },
    });
    const app = await testApp();
    t.after(() => app.dispose());
    const served = (await app.server.inject({ method: 'GET', url: '/openapi.json' })).json() as Json;
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), served);
  });
});

describe('request schemas', () => {
  let app: TestApp;
  let checker: RequestChecker;
  let auth: { authorization: string };
  let userId: string;
  before(async () => {
    app = await testApp();
    checker = new RequestChecker((await app.server.inject({ method: 'GET', url: '/openapi.json' })).json() as Json);
    ({ auth } = await app.account({ credits: 100_000 }));
    userId = (await app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: ADMIN })).json().id as string;
  });
  after(() => app.dispose());

  const STORYBOARD = '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22';
  type Case = [body: unknown, accepted: boolean];
  /** Each body in `cases` is accepted by the server exactly when it fits the documented body schema. */
  async function agree(method: 'POST' | 'PATCH', url: string, path: string, headers: Record<string, string>, cases: Case[]) {
    for (const [body, accepted] of cases) {
      const errors = checker.bodyErrors(method, path, body);
      assert.equal(errors === null, accepted, `${method} ${path} ${JSON.stringify(body)}: the schema says ${errors ?? 'valid'}`);
      const res = await app.server.inject({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      if (accepted) assert.ok(res.statusCode < 300, `${method} ${url} ${JSON.stringify(body)}: ${res.statusCode} ${res.body}`);
      else assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`);
    }
  }

  it('agree with the run routes on what a body may be', async () => {
    await agree('POST', '/api/v1/models/run', '/api/v1/models/run', auth, [
      [{ model: 'local/test' }, true],
      [{ model: 'local/image', input: { prompt: 'a red fox', aspect_ratio: '16:9' }, webhook_url: 'https://example.com/hook' }, true],
      [{}, false], [{ model: 5 }, false], [{ model: 'local/test', input: 'a cat' }, false], [{ model: 'local/test', input: ['a cat'] }, false],
      [{ model: 'local/test', webhook_url: 'not a url' }, false], [{ model: 'local/test', webhook_url: 'ftp://example.com/hook' }, false],
      [{ model: 'local/test', priority: 'low' }, true], [{ model: 'local/test', priority: 'urgent' }, false], [{ model: 'local/test', priority: 2 }, false],
      [[{ model: 'local/test' }], false], ['a string', false],
    ]);
    await agree('POST', '/api/v1/apps/run', '/api/v1/apps/run', auth, [
      [{ app_id: STORYBOARD, inputs: { prompt: 'a fox in the snow' } }, true],
      [{ inputs: {} }, false], [{ app_id: 5 }, false], [{ app_id: STORYBOARD, inputs: 'a fox' }, false],
    ]);
    await agree('POST', '/api/v1/jobs/cancel', '/api/v1/jobs/cancel', auth, [
      [{}, true], [{ status: 'pending', model_id: 'local/test' }, true],
      [{ status: 'done' }, false], [{ status: 'completed' }, false], [{ colour: 'blue' }, false], [{ model_id: '' }, false],
    ]);
  });

  it('agree with the admin routes on what a body may be', async () => {
    await agree('POST', '/admin/v1/users', '/admin/v1/users', ADMIN, [
      [{}, true], [{ name: 'x', credits: 5, api_access: false }, true],
      [{ credits: -5 }, false], [{ credits: 1.5 }, false], [{ credits: '10' }, false], [{ api_access: 'yes' }, false],
    ]);
    await agree('POST', `/admin/v1/users/${userId}/credits`, '/admin/v1/users/{id}/credits', ADMIN, [
      [{ amount: 5, reason: 'top-up' }, true], [{}, false], [{ amount: 1.5 }, false], [{ amount: '5' }, false],
    ]);
    await agree('POST', `/admin/v1/users/${userId}/keys`, '/admin/v1/users/{id}/keys', ADMIN, [
      [{ name: 'k', rate_limit_per_minute: 10, expires_at: new Date(Date.now() + 86_400_000).toISOString() }, true],
      [{ rate_limit_per_minute: 0 }, false], [{ rate_limit_per_minute: 2.5 }, false], [{ rate_limit_per_minute: '10' }, false],
      [{ name: 12 }, false], [{ expires_at: 'garbage' }, false], [{ expires_at: 1_900_000_000_000 }, false],
    ]);
    await agree('PATCH', `/admin/v1/users/${userId}`, '/admin/v1/users/{id}', ADMIN, [
      [{ api_access: true }, true], [{}, false], [{ api_access: 'no' }, false],
      [{ weight: 3, max_running: 10, max_running_per_model: null, max_priority: 'normal' }, true], [{ max_running: null }, true],
      [{ weight: 0 }, false], [{ weight: 1.5 }, false], [{ weight: 1001 }, false], [{ max_running: -1 }, false], [{ max_priority: 'urgent' }, false],
    ]);
  });

  it('agree with GET /api/v1/jobs on its query and with the run routes on their headers', async () => {
    const query: [Record<string, string>, boolean][] = [
      [{ limit: '5' }, true], [{ status: 'pending', run_type: 'model', created_after: '2026-01-01T00:00:00.000Z' }, true],
      [{ limit: '0' }, false], [{ limit: '101' }, false], [{ limit: 'abc' }, false], [{ limit: '1.5' }, false],
      [{ status: 'done' }, false], [{ run_type: 'workflow' }, false], [{ created_after: 'yesterday' }, false],
    ];
    for (const [values, accepted] of query) {
      const errors = checker.parameterErrors('GET', '/api/v1/jobs', 'query', values);
      assert.equal(errors === null, accepted, `${JSON.stringify(values)}: the schema says ${errors ?? 'valid'}`);
      const res = await app.server.inject({ method: 'GET', url: `/api/v1/jobs?${new URLSearchParams(values)}`, headers: auth });
      assert.equal(res.statusCode, accepted ? 200 : 400, `${JSON.stringify(values)}: ${res.body}`);
    }
    const headers: [Record<string, string>, boolean][] = [
      [{ 'Idempotency-Key': 'order-1234', 'Cancel-After': '1m30s' }, true], [{ 'Cancel-After': '600' }, true],
      [{ 'Idempotency-Key': 'has a space' }, false], [{ 'Idempotency-Key': 'x'.repeat(256) }, false], [{ 'Cancel-After': 'soon' }, false],
    ];
    for (const [values, accepted] of headers) {
      const errors = checker.parameterErrors('POST', '/api/v1/models/run', 'header', values);
      assert.equal(errors === null, accepted, `${JSON.stringify(values)}: the schema says ${errors ?? 'valid'}`);
      const res = await app.server.inject({
        method: 'POST', url: '/api/v1/models/run', headers: { ...auth, ...values, 'content-type': 'application/json' }, payload: '{"model":"local/test"}',
      });
      assert.equal(res.statusCode, accepted ? 202 : 400, `${JSON.stringify(values)}: ${res.body}`);
    }
  });
});
