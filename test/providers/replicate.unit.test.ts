import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseCatalog } from '../../src/catalog/load.js';
import type { ModelDefinition } from '../../src/catalog/model.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { replicateProvider } from '../../src/providers/replicate/index.js';
import { served, storedFile, until } from '../helpers/provider-files.js';
import { fakeHttpServer, sendFile, sendJson, type FakeHttpServer, type RecordedCall } from '../helpers/fake-http.js';

const TOKEN = 'r8_test_secret_token_5f1c2e';

type Call = RecordedCall;
interface Plan {
  /** Status after create, then after each GET (the last one repeats). */
  steps: string[];
  output?: unknown;
  error?: string;
  logs?: string;
}
interface Stored { id: string; plan: Plan; at: number; canceled: boolean; input: unknown; version: string | null }

/**
 * A fake of Replicate's predictions API, as documented: Bearer auth, JSON bodies, predictions
 * created by model, version or deployment, polled by id, cancelled by POST .../cancel.
 * It answers 401/404/422 the way Replicate does when a call breaks the protocol.
 */
class FakeReplicate {
  calls: Call[] = [];
  readonly files = new Map<string, { type: string; data: Buffer }>();
  readonly predictions = new Map<string, Stored>();
  /** Plan of the next prediction created. */
  plan: Plan = { steps: ['starting', 'succeeded'] };
  /** Answers a call itself when it returns true (throttling, hanging, slowness). */
  override: ((call: Call, res: http.ServerResponse) => boolean) | null = null;
  base = '';
  private server: FakeHttpServer | null = null;
  private count = 0;

  async start(): Promise<void> {
    this.server = await fakeHttpServer((call, res) => {
      if (!this.override?.(call, res)) this.answer(call, res);
    });
    this.calls = this.server.calls;
    this.base = this.server.base;
    this.files.set('/files/out.png', { type: 'image/png', data: randomBytes(4096) });
    this.files.set('/files/second.png', { type: 'image/png', data: randomBytes(2048) });
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  reset(): void {
    this.calls.length = 0;
    this.predictions.clear();
    this.count = 0;
    this.plan = { steps: ['starting', 'succeeded'] };
    this.override = null;
  }

  url(file: string): string {
    return `${this.base}${file}`;
  }

  api(method?: string, pathPrefix?: string): Call[] {
    return this.calls.filter((c) => c.path.startsWith('/v1/') && (!method || c.method === method) && (!pathPrefix || c.path.startsWith(pathPrefix)));
  }

  private view(p: Stored): Record<string, unknown> {
    const i = Math.min(p.at, p.plan.steps.length - 1);
    const status = p.canceled ? 'canceled' : p.plan.steps[i]!;
    return {
      id: p.id, version: p.version, input: p.input, status, logs: p.plan.logs ?? '',
      output: status === 'succeeded' ? p.plan.output ?? null : null,
      error: status === 'failed' ? p.plan.error ?? null : null,
      urls: { get: `${this.base}/v1/predictions/${p.id}`, cancel: `${this.base}/v1/predictions/${p.id}/cancel` },
      created_at: new Date().toISOString(),
    };
  }

  /** Replicate's answers: what the adapter must cope with. */
  answer(call: Call, res: http.ServerResponse): void {
    const file = this.files.get(call.path);
    if (call.method === 'GET' && file) {
      return sendFile(res, file.type, file.data);
    }
    if (call.headers.authorization !== `Bearer ${TOKEN}`) return sendJson(res, 401, { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });
    let m: RegExpExecArray | null;
    if (call.method === 'POST' && (m = /^\/v1\/(?:models|deployments)\/[\w.-]+\/[\w.-]+\/predictions$|^\/v1\/predictions$/.exec(call.path))) {
      const byVersion = call.path === '/v1/predictions';
      const ok = call.headers['content-type']?.startsWith('application/json') && call.body && typeof call.body === 'object'
        && call.body.input && typeof call.body.input === 'object' && (byVersion ? typeof call.body.version === 'string' : call.body.version === undefined);
      if (!ok) return sendJson(res, 422, { title: 'Invalid input', detail: '- input: Invalid type. Expected: object', status: 422 });
      const id = `p${++this.count}`;
      const stored: Stored = { id, plan: this.plan, at: 0, canceled: false, input: call.body.input, version: byVersion ? call.body.version : null };
      this.predictions.set(id, stored);
      return sendJson(res, 201, this.view(stored));
    }
    if (call.method === 'GET' && (m = /^\/v1\/predictions\/([\w-]+)$/.exec(call.path))) {
      const p = this.predictions.get(m[1]!);
      if (!p) return sendJson(res, 404, { title: 'Not found', detail: 'Not found.', status: 404 });
      p.at++;
      return sendJson(res, 200, this.view(p));
    }
    if (call.method === 'POST' && (m = /^\/v1\/predictions\/([\w-]+)\/cancel$/.exec(call.path))) {
      const p = this.predictions.get(m[1]!);
      if (!p) return sendJson(res, 404, { title: 'Not found', detail: 'Not found.', status: 404 });
      p.canceled = true;
      return sendJson(res, 200, this.view(p));
    }
    sendJson(res, 404, { title: 'Not found', detail: 'Not found.', status: 404 });
  }
}

const fake = new FakeReplicate();
let dataDir = '';
let files: LocalFileStorage;
const savedEnv = process.env.REPLICATE_API_TOKEN;

function model(provider: Record<string, unknown>, extra: Record<string, unknown> = {}): ModelDefinition {
  return parseCatalog({
    models: [{
      id: 'test/replicate', name: 'Replicate test', modality: 'image', cost: 1,
      provider: { type: 'replicate', model: 'black-forest-labs/flux-schnell', base_url: `${fake.base}/v1`, poll_interval_ms: 20, backoff_ms: 20, ...provider },
      ...extra,
    }],
  }, 'test')[0]!;
}

function run(m: ModelDefinition, input: Record<string, unknown> = { prompt: 'a red fox' }, signal = new AbortController().signal, jobId = 'job-1') {
  // Shown as a client would see it: the stored output's files linked at http://genjobs.test.
  return replicateProvider(m.provider, m).run({ jobId, model: m, input, signal, files }).then(served);
}

/** The stored file behind one of our URLs, checked to be in the local storage folder. */
const stored = (url: unknown, jobId = 'job-1') => storedFile(files, url, jobId);

describe('replicate provider', () => {
  before(async () => {
    await fake.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-replicate-'));
    files = new LocalFileStorage(dataDir);
  });
  after(async () => {
    await fake.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (savedEnv === undefined) delete process.env.REPLICATE_API_TOKEN; else process.env.REPLICATE_API_TOKEN = savedEnv;
  });
  beforeEach(() => {
    fake.reset();
    process.env.REPLICATE_API_TOKEN = TOKEN;
  });

  it('creates a prediction by model, polls it and copies the output file into storage', async () => {
    fake.plan = { steps: ['starting', 'processing', 'succeeded'], output: fake.url('/files/out.png') };
    const m = model({ input_map: { prompt: 'text' }, static_input: { output_format: 'png' } });
    const out = await run(m, { prompt: 'a red fox', seed: 7 });

    assert.deepEqual(Object.keys(out), ['outputImage']);
    assert.deepEqual(stored(out.outputImage), fake.files.get('/files/out.png')!.data);
    const [create, ...rest] = fake.api();
    assert.equal(create!.method, 'POST');
    assert.equal(create!.path, '/v1/models/black-forest-labs/flux-schnell/predictions');
    assert.equal(create!.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(create!.headers.prefer, 'wait=55');
    assert.equal(create!.headers['cancel-after'], undefined);
    assert.deepEqual(create!.body, { input: { output_format: 'png', text: 'a red fox', seed: 7 } });
    assert.deepEqual(rest.map((c) => `${c.method} ${c.path}`), ['GET /v1/predictions/p1', 'GET /v1/predictions/p1']);
    // The output is fetched without the credential.
    const download = fake.calls.find((c) => c.path === '/files/out.png')!;
    assert.equal(download.headers.authorization, undefined);
  });

  it('takes a prediction finished within the create call without polling', async () => {
    fake.plan = { steps: ['succeeded'], output: fake.url('/files/out.png') };
    const out = await run(model({ cancel_after: true }, { timeout_ms: 90_000 }));
    assert.deepEqual(stored(out.outputImage), fake.files.get('/files/out.png')!.data);
    assert.equal(fake.api().length, 1);
    assert.equal(fake.api()[0]!.headers['cancel-after'], '90s');
  });

  it('runs a version or a deployment at their endpoints; several files go to `outputs`', async () => {
    fake.plan = { steps: ['processing', 'succeeded'], output: [fake.url('/files/out.png'), fake.url('/files/second.png')] };
    const out = await run(model({ model: undefined, version: '5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa' }));
    assert.equal(fake.api()[0]!.path, '/v1/predictions');
    assert.deepEqual(fake.api()[0]!.body, { version: '5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa', input: { prompt: 'a red fox' } });
    assert.ok(Array.isArray(out.outputs));
    assert.equal((out.outputs as string[]).length, 2);
    assert.equal(out.outputImage, (out.outputs as string[])[0]);
    assert.deepEqual(stored((out.outputs as string[])[0]), fake.files.get('/files/out.png')!.data);
    assert.deepEqual(stored((out.outputs as string[])[1]), fake.files.get('/files/second.png')!.data);

    fake.reset();
    fake.plan = { steps: ['succeeded'], output: fake.url('/files/out.png') };
    await run(model({ model: 'stability-ai/sdxl:39ed52f2a78e' }));
    assert.equal(fake.api()[0]!.path, '/v1/predictions');
    assert.equal(fake.api()[0]!.body.version, '39ed52f2a78e');

    fake.reset();
    fake.plan = { steps: ['succeeded'], output: fake.url('/files/out.png') };
    await run(model({ model: undefined, deployment: 'acme/my-flux' }));
    assert.equal(fake.api()[0]!.path, '/v1/deployments/acme/my-flux/predictions');
    assert.deepEqual(fake.api()[0]!.body, { input: { prompt: 'a red fox' } });
  });

  it('keeps the provider URLs when copy_outputs is false', async () => {
    fake.plan = { steps: ['starting', 'succeeded'], output: [fake.url('/files/out.png')] };
    const out = await run(model({ copy_outputs: false }));
    assert.deepEqual(out, { outputImage: fake.url('/files/out.png') });
    assert.equal(fake.calls.filter((c) => c.path.startsWith('/files/')).length, 0);
  });

  it('joins the tokens of a language model into the text output', async () => {
    fake.plan = { steps: ['starting', 'processing', 'succeeded'], output: ['Once', ' upon', ' a', ' time', '.'] };
    const out = await run(model({ model: 'meta/meta-llama-3-8b-instruct' }, { modality: 'text' }));
    assert.deepEqual(out, { outputText: 'Once upon a time.' });
  });

  it('fails with the prediction\'s own error', async () => {
    fake.plan = { steps: ['starting', 'processing', 'failed'], error: 'CUDA out of memory. Tried to allocate 2.00 GiB' };
    await assert.rejects(run(model({})), (err: Error) => {
      assert.match(err.message, /Replicate prediction p1 failed: CUDA out of memory\. Tried to allocate 2\.00 GiB/);
      return true;
    });
  });

  it('fails at once with the detail of a refused create call', async () => {
    fake.override = (call, res) => {
      if (call.method !== 'POST') return false;
      res.writeHead(422, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ title: 'Invalid version or not permitted', detail: 'The specified version does not exist (or perhaps you don\'t have permission to use it?)', status: 422 }));
      return true;
    };
    await assert.rejects(run(model({ model: undefined, version: 'nope' })), (err: Error) => {
      assert.match(err.message, /Replicate answered 422: The specified version does not exist/);
      return true;
    });
    assert.equal(fake.api('POST').length, 1, 'a 4xx is not retried');
  });

  it('waits out a 429 with Retry-After: 1, then succeeds', async () => {
    fake.plan = { steps: ['succeeded'], output: fake.url('/files/out.png') };
    let throttled = 0;
    fake.override = (call, res) => {
      if (call.method !== 'POST' || throttled++ > 0) return false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ detail: 'Request was throttled. Expected available in 1 second.' }));
      return true;
    };
    const started = Date.now();
    const out = await run(model({}));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900, `retried after ${elapsed} ms`);
    assert.equal(fake.api('POST').length, 2);
    assert.deepEqual(stored(out.outputImage), fake.files.get('/files/out.png')!.data);
  });

  it('gives up on a create call that does not answer, without a second prediction that could run twice', async () => {
    fake.override = () => true; // never answers
    const started = Date.now();
    await assert.rejects(run(model({ request_timeout_ms: 200, retries: 1 })), (err: Error) => {
      assert.match(err.message, /Replicate did not answer within 200 ms \(not retried: it may have been acted on\)/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    assert.equal(fake.api('POST').length, 1);
    assert.equal(fake.api('POST')[0]!.headers.prefer, undefined, 'no sync wait longer than the request timeout');
  });

  it('gives up on a poll that never answers, and cancels the prediction', async () => {
    fake.plan = { steps: ['starting', 'processing'] };
    fake.override = (call) => call.method === 'GET' && call.path.startsWith('/v1/predictions/'); // never answered
    await assert.rejects(run(model({ request_timeout_ms: 200, retries: 1 })), /Replicate did not answer within 200 ms \(after 2 attempts\)/);
    assert.equal(fake.api('GET').length, 2);
    assert.equal(fake.api('POST', '/v1/predictions/p1/cancel').length, 1);
    assert.equal(fake.predictions.get('p1')!.canceled, true);
  });

  it('cancels the prediction upstream when the job is stopped while it runs', async () => {
    fake.plan = { steps: ['starting', 'processing'] };
    const controller = new AbortController();
    const reason = new Error('The job was cancelled.');
    const running = run(model({}), { prompt: 'slow' }, controller.signal);
    await until(() => fake.api('GET').length >= 2);
    controller.abort(reason);
    await assert.rejects(running, (err) => err === reason);
    const cancel = fake.api('POST', '/v1/predictions/p1/cancel');
    assert.equal(cancel.length, 1);
    assert.equal(cancel[0]!.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(fake.predictions.get('p1')!.canceled, true);
  });

  it('cancels what a create call still under way created, once it answers', async () => {
    fake.plan = { steps: ['starting', 'processing'] };
    fake.override = (call, res) => {
      if (call.method !== 'POST' || call.path.endsWith('/cancel')) return false;
      // A sync wait: the answer comes late, far later than a loaded machine delays the abort.
      setTimeout(() => fake.answer(call, res), 3000);
      return true;
    };
    const controller = new AbortController();
    const reason = new Error('The job was cancelled.');
    const running = run(model({}), { prompt: 'slow' }, controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    await assert.rejects(running, (err) => err === reason);
    assert.ok(Date.now() - started < 2000, 'the run stops at once, not when the create call answers');
    await until(() => fake.api('POST', '/v1/predictions/p1/cancel').length === 1);
    assert.equal(fake.predictions.get('p1')!.canceled, true);
  });

  it('names the missing token variable and calls nothing', async () => {
    delete process.env.REPLICATE_API_TOKEN;
    await assert.rejects(run(model({})), (err: Error) => {
      assert.match(err.message, /REPLICATE_API_TOKEN is not set/);
      return true;
    });
    process.env.MY_REPLICATE_KEY = '';
    await assert.rejects(run(model({ token_env: 'MY_REPLICATE_KEY' })), /MY_REPLICATE_KEY is not set/);
    delete process.env.MY_REPLICATE_KEY;
    assert.equal(fake.calls.length, 0);
  });

  it('sends the token from the environment and never puts it in an error message', async () => {
    process.env.REPLICATE_API_TOKEN = 'r8_wrong_token_0000';
    await assert.rejects(run(model({})), (err: Error) => {
      assert.match(err.message, /Replicate answered 401: You did not pass a valid authentication token/);
      assert.ok(!err.message.includes('r8_wrong_token_0000'));
      return true;
    });
    assert.equal(fake.calls[0]!.headers.authorization, 'Bearer r8_wrong_token_0000');

    // Even an upstream that echoes the credential back does not get it into the message.
    process.env.REPLICATE_API_TOKEN = TOKEN;
    fake.override = (call, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: `token ${String(call.headers.authorization)} may not run this model` }));
      return true;
    };
    await assert.rejects(run(model({})), (err: Error) => {
      assert.ok(!err.message.includes(TOKEN), err.message);
      assert.match(err.message, /Replicate answered 403: token .*\[redacted\] may not run this model/);
      return true;
    });
  });

  it('refuses a bad catalog entry when the provider is built', () => {
    const build = (provider: Record<string, unknown>) => () => { const m = model(provider); replicateProvider(m.provider, m); };
    assert.throws(build({ model: undefined }), /provider\.model is needed/);
    assert.throws(build({ version: 'abc' }), /exactly one of/);
    assert.throws(build({ model: 'no-slash' }), /must look like owner\/name/);
    assert.throws(build({ wait_seconds: 61 }), /wait_seconds must be a whole number from 0 to 60/);
    assert.throws(build({ wait_seconds: 10, request_timeout_ms: 8000 }), /wait_seconds must stay 5 s below request_timeout_ms/);
    assert.throws(build({ base_url: 'ftp://x' }), /base_url must be an http\(s\) URL/);
    assert.doesNotThrow(build({ wait_seconds: 0 }));
  });
});
