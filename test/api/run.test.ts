import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { eventually, testApp, type TestApp } from '../helpers/app.js';

type Json = Record<string, any>;
type Auth = { authorization: string };

const PUBLIC_URL = 'http://genjobs.test';
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function run(app: TestApp, auth: Auth, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({
    method: 'POST', url: '/api/v1/models/run',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() as Json };
}

async function get(app: TestApp, auth: Auth, url: string): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({ method: 'GET', url, headers: auth });
  return { status: res.statusCode, body: res.json() as Json };
}

async function balance(app: TestApp, auth: Auth): Promise<number> {
  const res = await get(app, auth, '/api/v1/account');
  assert.equal(res.status, 200);
  return res.body.credits as number;
}

async function jobCount(app: TestApp, auth: Auth): Promise<number> {
  const res = await get(app, auth, '/api/v1/jobs?limit=100');
  assert.equal(res.status, 200);
  return (res.body.data as unknown[]).length;
}

/** Polls GET /jobs/:id until the job has `status`. */
async function waitForStatus(app: TestApp, auth: Auth, id: string, status: string, ms = 10_000): Promise<Json> {
  return eventually(async () => {
    const res = await get(app, auth, `/api/v1/jobs/${id}`);
    assert.equal(res.status, 200);
    return res.body.status === status ? res.body : undefined;
  }, ms, `job ${id} to be ${status}`);
}

/** Whether `message` names `field` itself (`input` is not named by a message about `input.prompt`). */
function namesField(message: string, field: string): boolean {
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w.])${escaped}($|[^\\w.])`).test(message);
}

/** Downloads an output file the way a client would, through its public URL's path. */
async function download(app: TestApp, url: string) {
  assert.ok(url.startsWith(`${PUBLIC_URL}/files/`), `output URL ${url} is under PUBLIC_URL/files/`);
  return app.server.inject({ method: 'GET', url: url.slice(PUBLIC_URL.length) });
}

describe('POST /api/v1/models/run: synchronous and asynchronous models', () => {
  let app: TestApp;
  let auth: Auth;
  before(async () => {
    app = await testApp();
    ({ auth } = await app.account({ credits: 1000 }));
  });
  after(() => app.dispose());

  it('answers an image run with 200, the completed job and a PNG of the requested aspect ratio', async () => {
    const res = await run(app, auth, { model: 'local/image', input: { prompt: 'a red fox', aspect_ratio: '16:9' } });
    assert.equal(res.status, 200);
    const job = res.body;
    assert.equal(job.status, 'completed');
    assert.equal(job.object, 'job');
    assert.equal(job.model, 'local/image');
    assert.equal(job.model_id, 'local/image');
    assert.equal(job.credits_charged, 10);
    assert.match(job.completed_at, ISO_MS);
    assert.equal(typeof job.output.outputImage, 'string');
    assert.deepEqual(job.output, job.output_data);
    assert.equal('queue_position' in job, false);

    const file = await download(app, job.output.outputImage as string);
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'image/png');
    const bytes = file.rawPayload;
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
    const png = PNG.sync.read(bytes);
    assert.equal(png.width, 640);
    assert.equal(png.height, 360);
  });

  it('answers a video run with 202 and a queued job that polling sees completed with a GIF', async () => {
    const res = await run(app, auth, { model: 'local/video', input: { prompt: 'waves', duration_seconds: 1 } });
    assert.equal(res.status, 202);
    const job = res.body;
    assert.ok(job.status === 'pending' || job.status === 'processing', `status ${job.status} is pending or processing`);
    if (job.status === 'pending') {
      assert.ok(Number.isInteger(job.queue_position) && job.queue_position >= 0, `queue_position ${job.queue_position}`);
    }
    assert.equal(job.model, 'local/video');
    assert.equal(job.output, null);
    assert.equal(job.credits_charged, 50);

    const done = await waitForStatus(app, auth, job.id as string, 'completed');
    assert.equal('queue_position' in done, false);
    assert.equal(done.error_message, null);
    const url = done.output_data.outputVideo as string;
    const file = await download(app, url);
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'image/gif');
    assert.equal(file.rawPayload.subarray(0, 6).toString('ascii'), 'GIF89a');
  });

  it('answers a text run with 200 and the text as outputText', async () => {
    const res = await run(app, auth, { model: 'local/text', input: { prompt: 'the sea', max_words: 12 } });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'completed');
    assert.equal(res.body.model, 'local/text');
    assert.equal(res.body.credits_charged, 2);
    assert.equal(typeof res.body.output.outputText, 'string');
    assert.ok((res.body.output.outputText as string).length > 0);
    assert.deepEqual(res.body.output, res.body.output_data);
  });

  it('charges the cost of each accepted run', async () => {
    // 10 (image) + 50 (video) + 2 (text) from the runs above.
    assert.equal(await balance(app, auth), 1000 - 10 - 50 - 2);
  });
});

describe('POST /api/v1/models/run: bad requests', () => {
  let app: TestApp;
  let auth: Auth;
  before(async () => {
    app = await testApp();
    ({ auth } = await app.account({ credits: 1000 }));
  });
  after(() => app.dispose());

  const cases: { name: string; body: unknown; field: string }[] = [
    { name: 'a missing model', body: { input: { prompt: 'x' } }, field: 'model' },
    { name: 'an unknown model', body: { model: 'nobody/nothing', input: { prompt: 'x' } }, field: 'model' },
    { name: 'an input that is not an object', body: { model: 'local/image', input: 'a cat' }, field: 'input' },
    { name: 'an input that is an array', body: { model: 'local/image', input: ['a cat'] }, field: 'input' },
    { name: 'a missing required prompt', body: { model: 'local/image', input: { aspect_ratio: '1:1' } }, field: 'input.prompt' },
    { name: 'a blank required prompt', body: { model: 'local/image', input: { prompt: '   ' } }, field: 'input.prompt' },
    { name: 'an aspect_ratio not in its options', body: { model: 'local/image', input: { prompt: 'x', aspect_ratio: '2:1' } }, field: 'input.aspect_ratio' },
    { name: 'a duration_ms of the wrong type', body: { model: 'local/test', input: { duration_ms: '100' } }, field: 'input.duration_ms' },
    { name: 'a duration_ms above its maximum', body: { model: 'local/test', input: { duration_ms: 600_001 } }, field: 'input.duration_ms' },
    { name: 'a negative duration_ms', body: { model: 'local/test', input: { duration_ms: -1 } }, field: 'input.duration_ms' },
    { name: 'a fractional duration_ms', body: { model: 'local/test', input: { duration_ms: 1.5 } }, field: 'input.duration_ms' },
    { name: 'an unknown input key', body: { model: 'local/test', input: { colour: 'blue' } }, field: 'input.colour' },
    { name: 'a webhook_url that is not a URL', body: { model: 'local/test', webhook_url: 'not a url' }, field: 'webhook_url' },
    { name: 'a webhook_url that is not http(s)', body: { model: 'local/test', webhook_url: 'ftp://example.com/hook' }, field: 'webhook_url' },
    { name: 'a body that is a JSON array', body: [{ model: 'local/test' }], field: 'body' },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with a 400 naming ${c.field}`, async () => {
      const res = await run(app, auth, c.body);
      assert.equal(res.status, 400);
      assert.equal(typeof res.body.error, 'string');
      assert.ok(namesField(res.body.error as string, c.field), `error "${res.body.error}" names ${c.field}`);
    });
  }

  it('names the unknown model in its 400', async () => {
    const res = await run(app, auth, { model: 'nobody/nothing' });
    assert.equal(res.status, 400);
    assert.ok((res.body.error as string).includes('nobody/nothing'), res.body.error);
  });

  it('charged nothing and created no job for any refused run', async () => {
    assert.equal(await balance(app, auth), 1000);
    assert.equal(await jobCount(app, auth), 0);
    const ledger = await get(app, auth, '/api/v1/account/ledger');
    assert.deepEqual((ledger.body.data as Json[]).map((e) => e.kind), ['grant']);
  });
});

describe('POST /api/v1/models/run: credits', () => {
  let app: TestApp;
  afterEach(() => app.dispose());

  it('answers 402 with the exact message, creating no job and charging nothing, when credits are short', async () => {
    app = await testApp();
    const { auth } = await app.account({ credits: 5 });
    const res = await run(app, auth, { model: 'local/image', input: { prompt: 'a cat' } });
    assert.equal(res.status, 402);
    assert.equal(res.body.error, 'Insufficient credits. Required 10, available 5');
    assert.equal(await balance(app, auth), 5);
    assert.equal(await jobCount(app, auth), 0);
  });

  it('accepts exactly as many of 50 concurrent runs as the balance pays for', async () => {
    app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 10 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => run(app, auth, { model: 'local/test', input: { duration_ms: 0 } })),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 402);
    assert.equal(accepted.length, 10);
    assert.equal(refused.length, 40);
    for (const r of refused) assert.equal(r.body.error, 'Insufficient credits. Required 1, available 0');
    assert.equal(new Set(accepted.map((r) => r.body.id)).size, 10);
    assert.equal(await balance(app, auth), 0);
    assert.equal(await jobCount(app, auth), 10);
    const account = await get(app, auth, '/api/v1/account');
    assert.equal(account.body.usage.total_jobs, 10);
  });

  it('refunds a failed job in full and records its error_message', async () => {
    app = await testApp();
    const { auth } = await app.account({ credits: 100 });
    const res = await run(app, auth, { model: 'local/test', input: { outcome: 'failed', error_message: 'bad luck' } });
    assert.equal(res.status, 202);
    assert.equal(res.body.credits_charged, 1);
    const failed = await waitForStatus(app, auth, res.body.id as string, 'failed');
    assert.equal(failed.error_message, 'bad luck');
    assert.equal(failed.output_data, null);
    assert.equal(failed.credits_charged, 1);
    assert.equal(failed.credits_refunded, 1);
    assert.match(failed.completed_at, ISO_MS);
    assert.equal(await balance(app, auth), 100);
  });

  it('lists the charge and the refund of a failed job in the ledger, newest first', async () => {
    app = await testApp();
    const { auth } = await app.account({ credits: 100 });
    const res = await run(app, auth, { model: 'local/test', input: { outcome: 'failed', error_message: 'bad luck' } });
    const id = res.body.id as string;
    await waitForStatus(app, auth, id, 'failed');
    const ledger = await get(app, auth, '/api/v1/account/ledger');
    assert.equal(ledger.status, 200);
    assert.equal(ledger.body.object, 'list');
    const entries = (ledger.body.data as Json[]).map((e) => ({ kind: e.kind, amount: e.amount, balance_after: e.balance_after, job_id: e.job_id }));
    assert.deepEqual(entries, [
      { kind: 'refund', amount: 1, balance_after: 100, job_id: id },
      { kind: 'charge', amount: -1, balance_after: 99, job_id: id },
      { kind: 'grant', amount: 100, balance_after: 100, job_id: null },
    ]);
    for (const e of ledger.body.data as Json[]) assert.match(e.created_at, ISO_MS);
  });

  it('shows the balance, the job count and the active keys on GET /account', async () => {
    app = await testApp();
    const { auth, userId } = await app.account({ credits: 100 });
    const first = await run(app, auth, { model: 'local/image', input: { prompt: 'one' } });
    const second = await run(app, auth, { model: 'local/text', input: { prompt: 'two' } });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const res = await get(app, auth, '/api/v1/account');
    assert.equal(res.status, 200);
    assert.equal(res.body.object, 'account');
    assert.equal(res.body.user_id, userId);
    assert.equal(res.body.credits, 100 - 10 - 2);
    assert.equal(res.body.usage.total_jobs, 2);
    assert.equal(res.body.usage.credits_used_last_30d, 12);
    assert.equal(res.body.api_keys.active, 1);
  });
});

describe('POST /api/v1/models/run: another account', () => {
  let app: TestApp;
  beforeEach(async () => { app = await testApp({ GENJOBS_EXECUTOR: 'false' }); });
  afterEach(() => app.dispose());

  it('charges only the caller, whose jobs only it lists', async () => {
    const a = await app.account({ credits: 100 });
    const b = await app.account({ credits: 100 });
    const res = await run(app, a.auth, { model: 'local/test' });
    assert.equal(res.status, 202);
    assert.equal(await balance(app, a.auth), 99);
    assert.equal(await balance(app, b.auth), 100);
    assert.equal(await jobCount(app, a.auth), 1);
    assert.equal(await jobCount(app, b.auth), 0);
  });
});
