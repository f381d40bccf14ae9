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
import { falProvider } from '../../src/providers/fal/index.js';
import { served, storedFile, until } from '../helpers/provider-files.js';
import { fakeHttpServer, sendFile, sendJson, type FakeHttpServer, type RecordedCall } from '../helpers/fake-http.js';

const KEY = 'fal_key_id:fal_key_secret_9d41b7';

type Call = RecordedCall;
interface Plan {
  /** Status after submit, then after each status call (the last one repeats). */
  steps: string[];
  /** The result of a completed request, or its failure. */
  result?: unknown;
  fail?: { status: number; body: unknown };
  /** Extra fields of a COMPLETED status answer. */
  completed?: Record<string, unknown>;
}
interface Queued { id: string; app: string; plan: Plan; at: number; cancelled: boolean; input: unknown }

/**
 * A fake of fal's queue API, as documented: `Authorization: Key …`, POST {app}[/{path}] queues a
 * request and answers its request_id with status, response and cancel URLs under the app (no
 * subpath); GET …/status, GET the response, PUT …/cancel. Calls that break the protocol get
 * the 401/404/422 fal would answer.
 */
class FakeFal {
  calls: Call[] = [];
  readonly files = new Map<string, { type: string; data: Buffer }>();
  readonly queued = new Map<string, Queued>();
  plan: Plan = { steps: ['IN_QUEUE', 'COMPLETED'] };
  /** Which URLs the submit answer gives: fal's own, none, or ones on another host. */
  urls: 'given' | 'none' | 'foreign' = 'given';
  foreignBase = '';
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
    this.files.set('/files/a.png', { type: 'image/png', data: randomBytes(4096) });
    this.files.set('/files/b.jpeg', { type: 'image/jpeg', data: randomBytes(1024) });
    this.files.set('/files/clip.mp4', { type: 'video/mp4', data: randomBytes(8192) });
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  reset(): void {
    this.calls.length = 0;
    this.queued.clear();
    this.count = 0;
    this.plan = { steps: ['IN_QUEUE', 'COMPLETED'] };
    this.urls = 'given';
    this.override = null;
  }

  url(file: string): string {
    return `${this.base}${file}`;
  }

  api(method?: string, pathPart?: string): Call[] {
    return this.calls.filter((c) => !c.path.startsWith('/files/') && (!method || c.method === method) && (!pathPart || c.path.includes(pathPart)));
  }

  private status(q: Queued): string {
    return q.cancelled ? 'CANCELLED' : q.plan.steps[Math.min(q.at, q.plan.steps.length - 1)]!;
  }

  answer(call: Call, res: http.ServerResponse): void {
    const file = this.files.get(call.path);
    if (call.method === 'GET' && file) {
      return sendFile(res, file.type, file.data);
    }
    if (call.headers.authorization !== `Key ${KEY}`) return sendJson(res, 401, { detail: 'Invalid API key provided' });
    let m: RegExpExecArray | null;
    if ((m = /^\/([\w-]+\/[\w-]+)\/requests\/([\w-]+)(\/status|\/cancel)?$/.exec(call.path))) {
      const q = this.queued.get(m[2]!);
      if (!q || q.app !== m[1]) return sendJson(res, 404, { detail: 'Request not found' });
      const where = `${this.base}/${q.app}/requests/${q.id}`;
      if (call.method === 'GET' && m[3] === '/status') {
        q.at++;
        const status = this.status(q);
        const extra = status === 'IN_QUEUE' ? { queue_position: 0 } : status === 'COMPLETED' ? q.plan.completed ?? {} : {};
        return sendJson(res, status === 'COMPLETED' ? 200 : 202, { status, ...extra, response_url: where, status_url: `${where}/status`, cancel_url: `${where}/cancel` });
      }
      if (call.method === 'PUT' && m[3] === '/cancel') {
        if (this.status(q) === 'COMPLETED') return sendJson(res, 400, { status: 'ALREADY_COMPLETED' });
        q.cancelled = true;
        return sendJson(res, 202, { status: 'CANCELLATION_REQUESTED' });
      }
      if (call.method === 'GET' && m[3] === undefined) {
        if (this.status(q) !== 'COMPLETED') return sendJson(res, 400, { detail: 'Request is still in progress' });
        if (q.plan.fail) return sendJson(res, q.plan.fail.status, q.plan.fail.body);
        return sendJson(res, 200, q.plan.result ?? {});
      }
      return sendJson(res, 405, { detail: 'Method Not Allowed' });
    }
    if (call.method === 'POST' && (m = /^\/([\w-]+\/[\w-]+)(\/[\w/-]+)?$/.exec(call.path))) {
      if (!call.headers['content-type']?.startsWith('application/json') || !call.body || typeof call.body !== 'object' || Array.isArray(call.body)) {
        return sendJson(res, 422, { detail: [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }] });
      }
      const id = `req-${++this.count}`;
      const q: Queued = { id, app: m[1]!, plan: this.plan, at: 0, cancelled: false, input: call.body };
      this.queued.set(id, q);
      const where = `${this.urls === 'foreign' ? this.foreignBase : this.base}/${q.app}/requests/${id}`;
      const urls = this.urls === 'none' ? {} : { response_url: where, status_url: `${where}/status`, cancel_url: `${where}/cancel` };
      return sendJson(res, 200, { status: 'IN_QUEUE', request_id: id, ...urls, queue_position: 0 });
    }
    sendJson(res, 404, { detail: 'Not Found' });
  }
}

const fake = new FakeFal();
let dataDir = '';
let files: LocalFileStorage;
const savedEnv = process.env.FAL_KEY;

function model(provider: Record<string, unknown>, extra: Record<string, unknown> = {}): ModelDefinition {
  return parseCatalog({
    models: [{
      id: 'test/fal', name: 'fal test', modality: 'image', cost: 1,
      provider: { type: 'fal', model: 'fal-ai/flux/schnell', base_url: fake.base, poll_interval_ms: 20, backoff_ms: 20, ...provider },
      ...extra,
    }],
  }, 'test')[0]!;
}

function run(m: ModelDefinition, input: Record<string, unknown> = { prompt: 'a red fox' }, signal = new AbortController().signal, jobId = 'job-1') {
  // Shown as a client would see it: the stored output's files linked at http://genjobs.test.
  return falProvider(m.provider, m).run({ jobId, model: m, input, signal, files }).then(served);
}

const stored = (url: unknown, jobId = 'job-1') => storedFile(files, url, jobId);

const image = (file: string, type = 'image/png') => ({ url: fake.url(file), content_type: type, width: 512, height: 512 });

describe('fal provider', () => {
  before(async () => {
    await fake.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-fal-'));
    files = new LocalFileStorage(dataDir);
  });
  after(async () => {
    await fake.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (savedEnv === undefined) delete process.env.FAL_KEY; else process.env.FAL_KEY = savedEnv;
  });
  beforeEach(() => {
    fake.reset();
    process.env.FAL_KEY = KEY;
  });

  it('queues a request, polls its status, fetches the result and copies the image into storage', async () => {
    fake.plan = { steps: ['IN_QUEUE', 'IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'], result: { images: [image('/files/a.png')], seed: 42, has_nsfw_concepts: [false], timings: { inference: 0.4 } } };
    const m = model({ input_map: { aspect_ratio: 'image_size' }, static_input: { num_inference_steps: 4 } });
    const out = await run(m, { prompt: 'a red fox', aspect_ratio: 'square_hd' });

    assert.deepEqual(Object.keys(out), ['outputImage']);
    assert.deepEqual(stored(out.outputImage), fake.files.get('/files/a.png')!.data);
    const calls = fake.api();
    assert.equal(calls[0]!.method, 'POST');
    assert.equal(calls[0]!.path, '/fal-ai/flux/schnell');
    assert.deepEqual(calls[0]!.body, { num_inference_steps: 4, prompt: 'a red fox', image_size: 'square_hd' });
    for (const c of calls) assert.equal(c.headers.authorization, `Key ${KEY}`);
    // Status and result live under the app, without the endpoint's subpath.
    assert.deepEqual(calls.slice(1).map((c) => `${c.method} ${c.path}`), [
      'GET /fal-ai/flux/requests/req-1/status', 'GET /fal-ai/flux/requests/req-1/status', 'GET /fal-ai/flux/requests/req-1/status',
      'GET /fal-ai/flux/requests/req-1',
    ]);
    const download = fake.calls.find((c) => c.path === '/files/a.png')!;
    assert.equal(download.headers.authorization, undefined, 'the key is not sent to file storage');
  });

  it('puts several images in `outputs`, and keeps fal\'s URLs when copy_outputs is false', async () => {
    fake.plan = { steps: ['COMPLETED'], result: { images: [image('/files/a.png'), image('/files/b.jpeg', 'image/jpeg')] } };
    const out = await run(model({}));
    assert.equal((out.outputs as string[]).length, 2);
    assert.equal(out.outputImage, (out.outputs as string[])[0]);
    assert.deepEqual(stored((out.outputs as string[])[0]), fake.files.get('/files/a.png')!.data);
    assert.deepEqual(stored((out.outputs as string[])[1]), fake.files.get('/files/b.jpeg')!.data);
    assert.match((out.outputs as string[])[1]!, /\.jpg$/);

    fake.reset();
    fake.plan = { steps: ['COMPLETED'], result: { images: [image('/files/a.png'), image('/files/b.jpeg', 'image/jpeg')] } };
    const kept = await run(model({ copy_outputs: false }));
    assert.deepEqual(kept, { outputImage: fake.url('/files/a.png'), outputs: [fake.url('/files/a.png'), fake.url('/files/b.jpeg')] });
    assert.equal(fake.calls.filter((c) => c.path.startsWith('/files/')).length, 0);
  });

  it('finds video, audio and text outputs', async () => {
    fake.plan = { steps: ['IN_PROGRESS', 'COMPLETED'], result: { video: { url: fake.url('/files/clip.mp4'), content_type: 'video/mp4', file_size: 8192 }, seed: 1 } };
    const video = await run(model({ model: 'fal-ai/kling-video/v2/master/text-to-video' }, { modality: 'video' }));
    assert.deepEqual(stored(video.outputVideo), fake.files.get('/files/clip.mp4')!.data);
    assert.equal(fake.api('POST')[0]!.path, '/fal-ai/kling-video/v2/master/text-to-video');
    assert.equal(fake.api('GET')[0]!.path, '/fal-ai/kling-video/requests/req-1/status');

    fake.reset();
    fake.plan = { steps: ['COMPLETED'], result: { audio_file: { url: 'https://v3.fal.media/files/x/speech.wav' } } };
    assert.deepEqual(await run(model({ model: 'fal-ai/f5-tts', copy_outputs: false }, { modality: 'audio' })), { outputAudio: 'https://v3.fal.media/files/x/speech.wav' });

    fake.reset();
    fake.plan = { steps: ['COMPLETED'], result: { output: 'A fox.', partial: false } };
    assert.deepEqual(await run(model({ model: 'fal-ai/any-llm' }, { modality: 'text' })), { outputText: 'A fox.' });

    fake.reset();
    fake.plan = { steps: ['COMPLETED'], result: { transcript: { url: fake.url('/files/b.jpeg') }, images: [image('/files/a.png')] } };
    const picked = await run(model({ output_key: 'transcript', copy_outputs: false }));
    assert.deepEqual(picked, { outputImage: fake.url('/files/b.jpeg') });
  });

  it('builds the queue URLs when the submit answer gives none, and never follows ones on another host', async () => {
    fake.urls = 'none';
    fake.plan = { steps: ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'], result: { image: image('/files/a.png') } };
    const out = await run(model({ copy_outputs: false }));
    assert.equal(out.outputImage, fake.url('/files/a.png'));
    assert.deepEqual(fake.api('GET').map((c) => c.path), ['/fal-ai/flux/requests/req-1/status', '/fal-ai/flux/requests/req-1/status', '/fal-ai/flux/requests/req-1']);

    const other = await fakeHttpServer((_call, res) => res.end('{}'));
    try {
      fake.reset();
      fake.urls = 'foreign';
      fake.foreignBase = other.base;
      fake.plan = { steps: ['COMPLETED'], result: { images: [image('/files/a.png')] } };
      await run(model({ copy_outputs: false }));
      assert.equal(other.calls.length, 0, 'the key went to another host');
      assert.deepEqual(fake.api('GET').map((c) => c.path), ['/fal-ai/flux/requests/req-1/status', '/fal-ai/flux/requests/req-1']);
    } finally {
      await other.close();
    }
  });

  it('fails with fal\'s detail when the request failed', async () => {
    fake.plan = { steps: ['IN_PROGRESS', 'COMPLETED'], fail: { status: 422, body: { detail: [{ loc: ['body', 'image_size'], msg: 'value is not a valid enumeration member', type: 'type_error.enum' }] } } };
    await assert.rejects(run(model({})), (err: Error) => {
      assert.equal(err.message, 'fal request req-1 failed: image_size: value is not a valid enumeration member');
      return true;
    });
    assert.equal(fake.api('GET', '/requests/req-1').filter((c) => !c.path.endsWith('/status')).length, 1, 'a 4xx is not retried');

    fake.reset();
    fake.plan = { steps: ['COMPLETED'], completed: { error: 'Internal error while generating', error_type: 'runner_server_error' } };
    await assert.rejects(run(model({})), /fal request req-1 failed: Internal error while generating/);

    fake.reset();
    fake.override = (call, res) => {
      if (call.method !== 'POST') return false;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: "Application 'nope' not found" }));
      return true;
    };
    await assert.rejects(run(model({ model: 'fal-ai/nope' })), /fal answered 404: Application 'nope' not found/);
  });

  it('waits out a 429 with Retry-After: 1, then succeeds', async () => {
    fake.plan = { steps: ['COMPLETED'], result: { images: [image('/files/a.png')] } };
    let throttled = 0;
    fake.override = (call, res) => {
      if (call.method !== 'POST' || throttled++ > 0) return false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ detail: 'Too many concurrent requests' }));
      return true;
    };
    const started = Date.now();
    const out = await run(model({}));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900, `retried after ${elapsed} ms`);
    assert.equal(fake.api('POST').length, 2);
    assert.deepEqual(stored(out.outputImage), fake.files.get('/files/a.png')!.data);
  });

  it('gives up on a status call that never answers, and cancels the request', async () => {
    fake.plan = { steps: ['IN_PROGRESS'] };
    fake.override = (call) => call.method === 'GET' && call.path.endsWith('/status'); // never answered
    const started = Date.now();
    await assert.rejects(run(model({ request_timeout_ms: 200, retries: 1 })), (err: Error) => {
      assert.match(err.message, /fal did not answer within 200 ms \(after 2 attempts\)/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    assert.equal(fake.api('GET', '/status').length, 2);
    assert.equal(fake.api('PUT', '/fal-ai/flux/requests/req-1/cancel').length, 1);
  });

  it('gives up on a submit call that never answers, without a second submit that could run twice', async () => {
    fake.override = () => true;
    await assert.rejects(run(model({ request_timeout_ms: 200, retries: 1 })), /fal did not answer within 200 ms \(not retried: it may have been acted on\)/);
    assert.equal(fake.api('POST').length, 1);
  });

  it('cancels the request upstream when the job is stopped while it runs', async () => {
    fake.plan = { steps: ['IN_QUEUE', 'IN_PROGRESS'] };
    const controller = new AbortController();
    const reason = new Error('The job was cancelled.');
    const running = run(model({}), { prompt: 'slow' }, controller.signal);
    await until(() => fake.api('GET', '/status').length >= 2);
    controller.abort(reason);
    await assert.rejects(running, (err) => err === reason);
    const cancel = fake.api('PUT');
    assert.equal(cancel.length, 1);
    assert.equal(cancel[0]!.path, '/fal-ai/flux/requests/req-1/cancel');
    assert.equal(cancel[0]!.headers.authorization, `Key ${KEY}`);
    assert.equal(fake.queued.get('req-1')!.cancelled, true);
  });

  it('cancels what a submit call still under way queued, once it answers', async () => {
    fake.plan = { steps: ['IN_QUEUE'] };
    fake.override = (call, res) => {
      if (call.method !== 'POST') return false;
      setTimeout(() => fake.answer(call, res), 300);
      return true;
    };
    const controller = new AbortController();
    const reason = new Error('The job was cancelled.');
    const running = run(model({}), { prompt: 'slow' }, controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(running, (err) => err === reason);
    await until(() => fake.api('PUT').length === 1);
    assert.equal(fake.queued.get('req-1')!.cancelled, true);
  });

  it('names the missing key variable and calls nothing', async () => {
    delete process.env.FAL_KEY;
    await assert.rejects(run(model({})), (err: Error) => {
      assert.match(err.message, /FAL_KEY is not set/);
      return true;
    });
    assert.equal(fake.calls.length, 0);
  });

  it('sends the key from the environment and never puts it in an error message', async () => {
    process.env.FAL_KEY = 'wrong_id:wrong_secret_1234';
    await assert.rejects(run(model({})), (err: Error) => {
      assert.match(err.message, /fal answered 401: Invalid API key provided/);
      assert.ok(!err.message.includes('wrong_secret_1234'));
      return true;
    });
    assert.equal(fake.calls[0]!.headers.authorization, 'Key wrong_id:wrong_secret_1234');

    process.env.FAL_KEY = KEY;
    fake.plan = { steps: ['COMPLETED'], fail: { status: 400, body: { detail: `key ${KEY} has no access to this endpoint` } } };
    await assert.rejects(run(model({})), (err: Error) => {
      assert.ok(!err.message.includes(KEY), err.message);
      assert.ok(!err.message.includes('fal_key_secret_9d41b7'), err.message);
      assert.match(err.message, /\[redacted\] has no access/);
      return true;
    });
  });

  it('refuses a bad catalog entry when the provider is built', () => {
    const build = (provider: Record<string, unknown>) => () => { const m = model(provider); falProvider(m.provider, m); };
    assert.throws(build({ model: undefined }), /provider\.model must name a fal endpoint/);
    assert.throws(build({ model: 'flux' }), /provider\.model must name a fal endpoint/);
    assert.throws(build({ model: 'fal-ai/../admin' }), /provider\.model must name a fal endpoint/);
    assert.throws(build({ output_key: 3 }), /output_key must be a non-empty string/);
    assert.throws(build({ retries: -1 }), /retries must be a whole number of at least 0/);
  });
});
