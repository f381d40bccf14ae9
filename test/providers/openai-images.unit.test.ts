import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttpServer, sendJson, type FakeHandler, type RecordedCall } from '../helpers/fake-http.js';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { parseCatalog } from '../../src/catalog/load.js';
import { resolveInput } from '../../src/catalog/validate-input.js';
import { MAX_BYTES } from '../../src/providers/http/outputs.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { served } from '../helpers/provider-files.js';
import { openaiImagesProvider } from '../../src/providers/openai-images/index.js';
import { renderPng } from '../../src/providers/builtin/media/png.js';
import { ProviderConfigError } from '../../src/providers/http/options.js';

const KEY_ENV = 'GENJOBS_TEST_OPENAI_KEY';
const KEY = 'sk-test-openai-0123456789abcdef';
const PICTURE = renderPng({ prompt: 'a red fox', width: 16, height: 16 });

type Call = RecordedCall;

/** A local stand-in for the images API: records every call, answers with `handler`; `/files/*` are the provider's storage. */
async function fakeApi(handler: FakeHandler) {
  const server = await fakeHttpServer((call, res, req) => (call.path.startsWith('/files/') ? serveFile(call, res) : handler(call, res, req)));
  return {
    ...server,
    /** The API calls, without the file downloads. */
    api: () => server.calls.filter((c) => !c.path.startsWith('/files/')),
  };
}

/** The provider's file storage: `/files/fox.png` is the picture, `/files/moved` redirects to it. */
function serveFile(call: Call, res: http.ServerResponse): void {
  if (call.path === '/files/moved') {
    res.writeHead(302, { location: '/files/fox.png?sig=abc' });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'image/png' });
  res.end(PICTURE);
}

const json = sendJson;

function model(provider: Record<string, unknown>) {
  return parseCatalog({
    models: [{
      id: 'openai/gpt-image-1', name: 'GPT Image 1', modality: 'image', cost: 40, promptRequired: true,
      provider: { type: 'openai-images', model: 'gpt-image-1', token_env: KEY_ENV, ...provider },
      settings: [
        { key: 'size', label: 'Size', inputType: 'select', options: ['1024x1024', '1536x1024', '1024x1536'], defaultValue: '1024x1024' },
        { key: 'detail', label: 'Quality', inputType: 'select', options: ['low', 'medium', 'high'], defaultValue: 'low' },
      ],
    }],
  }, 'test')[0]!;
}

describe('the OpenAI-compatible images adapter', () => {
  let dataDir: string;
  let files: LocalFileStorage;
  let jobN = 0;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-openai-'));
    files = new LocalFileStorage(dataDir);
    process.env[KEY_ENV] = KEY;
  });
  after(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    delete process.env[KEY_ENV];
  });

  /** Runs the model once, as the executor would. */
  function run(provider: Record<string, unknown>, input: Record<string, unknown> = { prompt: 'a red fox' }, controller = new AbortController()) {
    const m = model(provider);
    const jobId = `job-${++jobN}`;
    return { jobId, result: openaiImagesProvider(m.provider, m).run({ jobId, model: m, input: resolveInput(m, input), signal: controller.signal, files }).then(served) };
  }

  /** The file behind a URL of our local file storage. */
  const storedFile = (url: string): Buffer => {
    const m = /^http:\/\/genjobs\.test\/files\/([\w-]+)\/([\w-]+\.\w+)$/.exec(url);
    assert.ok(m, `${url} is a URL of genjobs' storage`);
    return fs.readFileSync(path.join(files.root, m[1]!, m[2]!));
  };

  it('posts the mapped input and stores a base64 result as a real PNG file in the local storage folder', async () => {
    const api = await fakeApi((call, res) => json(res, 200, { created: 1, data: [{ b64_json: PICTURE.toString('base64') }] }));
    try {
      const { jobId, result } = run({ base_url: `${api.base}/v1`, input_map: { detail: 'quality' }, static_input: { moderation: 'low' } });
      const output = await result;

      assert.equal(api.calls.length, 1);
      const [call] = api.calls;
      assert.equal(call!.method, 'POST');
      assert.equal(call!.path, '/v1/images/generations');
      assert.equal(call!.authorization, `Bearer ${KEY}`);
      assert.deepEqual(call!.body, { model: 'gpt-image-1', prompt: 'a red fox', n: 1, size: '1024x1024', quality: 'low', moderation: 'low' });

      assert.deepEqual(Object.keys(output), ['outputImage']);
      const url = output.outputImage as string;
      assert.match(url, new RegExp(`^http://genjobs\\.test/files/${jobId}/[\\w-]+\\.png$`));
      const saved = storedFile(url);
      assert.deepEqual(saved, PICTURE);
      const decoded = PNG.sync.read(saved);
      assert.equal(decoded.width, 16);
    } finally {
      await api.close();
    }
  });

  it('copies URL results into our storage with identical bytes, following redirects, and lists several under outputs', async () => {
    const api = await fakeApi((call, res) => json(res, 200, {
      created: 1, data: [{ url: `${api.base}/files/fox.png` }, { url: `${api.base}/files/moved` }],
    }));
    try {
      const { result } = run({ base_url: api.base, response_format: 'url', static_input: { n: 2 } });
      const output = await result;
      assert.equal(api.api()[0]!.body!.response_format, 'url');
      assert.equal(api.api()[0]!.body!.n, 2);
      const outputs = output.outputs as string[];
      assert.equal(outputs.length, 2);
      assert.equal(output.outputImage, outputs[0]);
      for (const url of outputs) {
        assert.match(url, /\.png$/);
        assert.deepEqual(storedFile(url), PICTURE);
      }
      assert.deepEqual(api.calls.map((c) => c.path).filter((p) => p.startsWith('/files/')).sort(), ['/files/fox.png', '/files/fox.png?sig=abc', '/files/moved']);
    } finally {
      await api.close();
    }
  });

  it('stores a base64 result under the same size limit as a copied output file', async () => {
    const api = await fakeApi((call, res) => json(res, 200, { created: 1, data: [{ b64_json: PICTURE.toString('base64') }] }));
    try {
      const limits: number[] = [];
      const recording = Object.assign(Object.create(files) as LocalFileStorage, {
        put: (p: Parameters<LocalFileStorage['put']>[0]) => { limits.push(p.limit); return files.put(p); },
      });
      const m = model({ base_url: `${api.base}/v1` });
      await openaiImagesProvider(m.provider, m).run({ jobId: 'job-limit', model: m, input: resolveInput(m, { prompt: 'a red fox' }), signal: new AbortController().signal, files: recording });
      assert.deepEqual(limits, [MAX_BYTES]);
    } finally {
      await api.close();
    }
  });

  it('keeps the provider URL when copy_outputs is false', async () => {
    const api = await fakeApi((call, res) => json(res, 200, { created: 1, data: [{ url: `${api.base}/files/fox.png` }] }));
    try {
      const output = await run({ base_url: api.base, response_format: 'url', copy_outputs: false }).result;
      assert.deepEqual(output, { outputImage: `${api.base}/files/fox.png` });
      assert.equal(api.calls.length, 1, 'the file was not downloaded');
    } finally {
      await api.close();
    }
  });

  it('fails with the service\'s own message when it refuses the request, without retrying', async () => {
    const api = await fakeApi((call, res) => json(res, 400, {
      error: { message: 'Your request was rejected as a result of our safety system.', type: 'image_generation_user_error', code: 'moderation_blocked' },
    }));
    try {
      await assert.rejects(run({ base_url: api.base, retries: 3 }).result, (err: Error) => {
        assert.equal(err.name, 'UpstreamError');
        assert.match(err.message, /answered 400: Your request was rejected as a result of our safety system\./);
        return true;
      });
      assert.equal(api.calls.length, 1);
    } finally {
      await api.close();
    }
  });

  it('waits for Retry-After on a 429, then succeeds', async () => {
    const api = await fakeApi((call, res) => {
      if (api.calls.length === 1) return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '1' });
      json(res, 200, { created: 1, data: [{ b64_json: PICTURE.toString('base64') }] });
    });
    try {
      const started = Date.now();
      const output = await run({ base_url: api.base, backoff_ms: 10 }).result;
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900, `waited ${elapsed} ms`);
      assert.equal(api.calls.length, 2);
      assert.deepEqual(storedFile(output.outputImage as string), PICTURE);
    } finally {
      await api.close();
    }
  });

  it('fails at once, in OpenAI\'s words, on a 429 that means the quota is exhausted', async () => {
    const api = await fakeApi((call, res) => json(res, 429, {
      error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' },
    }, { 'retry-after': '1' }));
    try {
      await assert.rejects(run({ base_url: api.base, retries: 3, backoff_ms: 10 }).result, (err: Error) => {
        assert.equal(err.name, 'UpstreamError');
        assert.equal(err.message, 'the images API at ' + new URL(api.base).host + ' answered 429: You exceeded your current quota, please check your plan and billing details.');
        return true;
      });
      assert.equal(api.calls.length, 1, 'not retried: waiting cannot refill a quota');
    } finally {
      await api.close();
    }
  });

  it('gives up on a service that does not answer within request_timeout_ms, without generating twice', async () => {
    const api = await fakeApi(() => { /* never answers */ });
    try {
      const started = Date.now();
      await assert.rejects(run({ base_url: api.base, request_timeout_ms: 200, retries: 1, backoff_ms: 10 }).result,
        /did not answer within 200 ms \(not retried: it may have been acted on\)/);
      assert.ok(Date.now() - started < 3000);
      assert.equal(api.calls.length, 1);
    } finally {
      await api.close();
    }
  });

  it('cancelling a run aborts its request: the service sees it closed, and the run ends with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('The job was cancelled.');
    const api = await fakeApi(() => { setTimeout(() => controller.abort(reason), 20); });
    try {
      await assert.rejects(run({ base_url: api.base }, undefined, controller).result, (err) => err === reason);
      await waitFor(() => api.calls[0]?.aborted === true, 'the service to see the request closed');
      assert.equal(api.calls.length, 1);
    } finally {
      await api.close();
    }
  });

  it('fails naming the variable when the credential is not set, without calling the service', async () => {
    const api = await fakeApi((call, res) => json(res, 200, {}));
    try {
      await assert.rejects(run({ base_url: api.base, token_env: 'GENJOBS_TEST_NO_SUCH_KEY' }).result,
        /environment variable GENJOBS_TEST_NO_SUCH_KEY is not set/);
      assert.equal(api.calls.length, 0);
    } finally {
      await api.close();
    }
  });

  it('never puts the credential in a message, even when the service echoes it', async () => {
    const api = await fakeApi((call, res) => json(res, 401, { error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    try {
      await assert.rejects(run({ base_url: api.base }).result, (err: Error) => {
        assert.match(err.message, /answered 401: Incorrect API key provided: \[redacted\]/);
        assert.ok(!err.message.includes(KEY) && !String(err.stack).includes(KEY));
        assert.ok(!JSON.stringify({ ...err }).includes(KEY), 'nor in the error\'s fields');
        return true;
      });
    } finally {
      await api.close();
    }
  });

  it('fails on an answer without images, and refuses a bad catalog entry at start', async () => {
    const api = await fakeApi((call, res) => json(res, 200, { created: 1, data: [] }));
    try {
      await assert.rejects(run({ base_url: api.base }).result, /answered without any image/);
    } finally {
      await api.close();
    }
    const build = (provider: Record<string, unknown>) => { const m = model(provider); return openaiImagesProvider(m.provider, m); };
    assert.throws(() => build({ model: undefined }), ProviderConfigError);
    assert.throws(() => build({ response_format: 'png' }), /provider\.response_format must be "b64_json" or "url"/);
    assert.throws(() => build({ base_url: 'ftp://x' }), /provider\.base_url must be an http\(s\) URL/);
  });
});

async function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
