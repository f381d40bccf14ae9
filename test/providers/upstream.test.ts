import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttpServer, sendFile, sendJson, type FakeHandler } from '../helpers/fake-http.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { parseCatalog } from '../../src/catalog/load.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { served } from '../helpers/provider-files.js';
import { upstreamProvider } from '../../src/providers/upstream/index.js';
import { renderPng } from '../../src/providers/builtin/media/png.js';
import { ProviderConfigError } from '../../src/providers/http/options.js';
import { eventually, testApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';

const KEY_ENV = 'GENJOBS_TEST_UPSTREAM_KEY';
const KEY = 'sk_live_test_upstream_0123456789abcdef';
const PICTURE = renderPng({ prompt: 'a lighthouse', width: 16, height: 16 });

/** A local stand-in for an upstream genjobs: records every call, answers with `handler`; `/files/*` serve PICTURE. */
async function fakeUpstream(handler: FakeHandler) {
  const server = await fakeHttpServer((call, res, req) => {
    if (call.path.startsWith('/files/')) return sendFile(res, 'image/png', PICTURE);
    handler(call, res, req);
  });
  return {
    ...server,
    /** Calls of the jobs API, as `METHOD path`. */
    api: () => server.calls.filter((c) => !c.path.startsWith('/files/')).map((c) => `${c.method} ${c.path}`),
  };
}

const json = sendJson;

const job = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  id, object: 'job', status, output_data: null, error_message: null, ...extra,
});

function model(provider: Record<string, unknown>) {
  return parseCatalog({
    models: [{
      id: 'remote/painter', name: 'Remote Painter', modality: 'image', cost: 10,
      provider: { type: 'genjobs', token_env: KEY_ENV, poll_interval_ms: 20, backoff_ms: 10, ...provider },
    }],
  }, 'test')[0]!;
}

describe('the upstream genjobs adapter', () => {
  let dataDir: string;
  let files: LocalFileStorage;
  let jobN = 0;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-upstream-'));
    files = new LocalFileStorage(dataDir);
    process.env[KEY_ENV] = KEY;
  });
  after(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    delete process.env[KEY_ENV];
  });

  /** Runs the model once, as the executor would. */
  function run(provider: Record<string, unknown>, input: Record<string, unknown> = { prompt: 'a lighthouse' }, controller = new AbortController()) {
    const m = model(provider);
    const jobId = `job-${++jobN}`;
    const stored = upstreamProvider(m.provider, m).run({ jobId, model: m, input, signal: controller.signal, files });
    return { jobId, stored, result: stored.then(served) };
  }

  /** The bytes behind a URL of our local file storage. */
  const storedFile = (url: unknown): Buffer => {
    const m = /^http:\/\/genjobs\.test\/files\/([\w-]+)\/([\w-]+\.\w+)$/.exec(String(url));
    assert.ok(m, `${String(url)} is a URL of genjobs' storage`);
    return fs.readFileSync(path.join(files.root, m[1]!, m[2]!));
  };

  describe('against a fake upstream', () => {
    it('runs a model that finishes at once (200) and copies its output file with identical bytes', async () => {
      const up = await fakeUpstream((call, res) => json(res, 200, {
        ...job('up-1', 'completed', { output_data: { outputImage: `${up.base}/files/a.png` } }), model: 'acme/painter', output: null,
      }));
      try {
        const { jobId, result } = run({ base_url: `${up.base}/api/v1`, model: 'acme/painter', input_map: { style: 'preset' }, static_input: { seed: 7 } },
          { prompt: 'a lighthouse', style: 'ink' });
        const output = await result;
        assert.deepEqual(up.api(), ['POST /api/v1/models/run']);
        const [call] = up.calls;
        assert.equal(call!.authorization, `Bearer ${KEY}`);
        assert.deepEqual(call!.body, { model: 'acme/painter', input: { seed: 7, prompt: 'a lighthouse', preset: 'ink' } });
        assert.deepEqual(Object.keys(output), ['outputImage']);
        assert.match(String(output.outputImage), new RegExp(`^http://genjobs\\.test/files/${jobId}/[\\w-]+\\.png$`));
        assert.deepEqual(storedFile(output.outputImage), PICTURE);
      } finally {
        await up.close();
      }
    });

    it('runs an app (202), polls until completed, and keeps the output\'s shape with every file copied', async () => {
      let polls = 0;
      const up = await fakeUpstream((call, res) => {
        if (call.method === 'POST' && call.path === '/v1/apps/run') return json(res, 202, { ...job('up-app', 'pending'), app_name: 'Sketch to Render' });
        assert.equal(`${call.method} ${call.path}`, 'GET /v1/jobs/up-app');
        assert.equal(call.authorization, `Bearer ${KEY}`);
        if (++polls < 3) return json(res, 200, job('up-app', 'processing'));
        json(res, 200, job('up-app', 'completed', {
          output_data: {
            app_id: 'app-9', app_name: 'Sketch to Render',
            node_outputs: { render: { outputImage: `${up.base}/files/r.png` }, caption: { outputText: `${up.base}/files/not-a-file` } },
          },
        }));
      });
      try {
        const output = await run({ base_url: `${up.base}/v1`, app_id: 'app-9', input_map: { prompt: '93197f6b' } }).result;
        assert.deepEqual(up.calls[0]!.body, { app_id: 'app-9', inputs: { '93197f6b': 'a lighthouse' } });
        assert.equal(polls, 3);
        const nodes = output.node_outputs as Record<string, Record<string, unknown>>;
        assert.equal(output.app_id, 'app-9');
        assert.equal(output.app_name, 'Sketch to Render');
        assert.deepEqual(storedFile(nodes.render!.outputImage), PICTURE);
        assert.equal(nodes.caption!.outputText, `${up.base}/files/not-a-file`, 'text is not downloaded');
      } finally {
        await up.close();
      }
    });

    it('keeps the upstream URLs when copy_outputs is false', async () => {
      const up = await fakeUpstream((call, res) => json(res, 200, job('up-2', 'completed', { output_data: { outputImage: `${up.base}/files/a.png` } })));
      try {
        const ran = run({ base_url: up.base, model: 'acme/painter', copy_outputs: false });
        assert.deepEqual(await ran.stored, { outputImage: { $upstream: `${up.base}/files/a.png` } }, 'stored marked as the provider\'s own URL');
        const output = await ran.result;
        assert.deepEqual(output, { outputImage: `${up.base}/files/a.png` });
        assert.equal(up.calls.length, 1, 'nothing was downloaded');
      } finally {
        await up.close();
      }
    });

    it('a failed upstream job fails the run with the upstream\'s error_message', async () => {
      const up = await fakeUpstream((call, res) => {
        if (call.method === 'POST') return json(res, 202, job('up-3', 'pending'));
        json(res, 200, job('up-3', 'failed', { error_message: 'The model rejected the prompt: NSFW content' }));
      });
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }).result, { name: 'ProviderError', message: 'The model rejected the prompt: NSFW content' });
      } finally {
        await up.close();
      }
    });

    it('a job cancelled upstream fails the run saying the upstream cancelled it', async () => {
      const up = await fakeUpstream((call, res) => {
        if (call.method === 'POST') return json(res, 202, job('up-4', 'processing'));
        json(res, 200, job('up-4', 'cancelled'));
      });
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }).result, /upstream service cancelled the job \(its job up-4\)/);
      } finally {
        await up.close();
      }
    });

    it('a refused run keeps the upstream\'s message and is not retried', async () => {
      const up = await fakeUpstream((call, res) => json(res, 402, { error: 'Insufficient credits. Required 1000, available 200' }));
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }).result, /answered 402: Insufficient credits\. Required 1000, available 200$/);
        assert.equal(up.calls.length, 1);
      } finally {
        await up.close();
      }
    });

    it('waits for Retry-After when a poll gets a 429, then succeeds', async () => {
      let polls = 0;
      const up = await fakeUpstream((call, res) => {
        if (call.method === 'POST') return json(res, 202, job('up-5', 'pending'));
        if (++polls === 1) return json(res, 429, { error: 'Rate limit exceeded' }, { 'retry-after': '1' });
        json(res, 200, job('up-5', 'completed', { output_data: { outputImage: `${up.base}/files/a.png` } }));
      });
      try {
        const started = Date.now();
        const output = await run({ base_url: up.base, model: 'acme/painter' }).result;
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 900, `waited ${elapsed} ms`);
        assert.deepEqual(up.api(), ['POST /models/run', 'GET /jobs/up-5', 'GET /jobs/up-5']);
        assert.deepEqual(storedFile(output.outputImage), PICTURE);
      } finally {
        await up.close();
      }
    });

    it('gives up on an upstream that does not answer within request_timeout_ms, without starting a second job', async () => {
      const up = await fakeUpstream(() => { /* never answers */ });
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter', request_timeout_ms: 200, retries: 1 }).result,
          /the upstream service at 127\.0\.0\.1:\d+ did not answer within 200 ms \(not retried: it may have been acted on\)/);
        assert.deepEqual(up.api(), ['POST /models/run']);
      } finally {
        await up.close();
      }
    });

    it('cancelling the run forwards the cancel upstream and ends with the abort reason', async () => {
      const controller = new AbortController();
      const reason = new Error('The job was cancelled.');
      const up = await fakeUpstream((call, res) => {
        if (call.path === '/models/run') return json(res, 202, job('up-6', 'pending'));
        if (call.path === '/jobs/up-6/cancel') return json(res, 200, { id: 'up-6', object: 'job', status: 'cancelled' });
        json(res, 200, job('up-6', 'processing'));
        controller.abort(reason);
      });
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }, undefined, controller).result, (err) => err === reason);
        assert.deepEqual(up.api(), ['POST /models/run', 'GET /jobs/up-6', 'POST /jobs/up-6/cancel']);
        assert.equal(up.calls.at(-1)!.authorization, `Bearer ${KEY}`);
      } finally {
        await up.close();
      }
    });

    it('a stop that arrives while the job is being created still cancels the job the answer names', async () => {
      const controller = new AbortController();
      const reason = new Error('The executor is shutting down.');
      const up = await fakeUpstream((call, res) => {
        if (call.path === '/models/run') {
          controller.abort(reason);
          setTimeout(() => json(res, 202, job('up-7', 'pending')), 100);
          return;
        }
        json(res, 200, { id: 'up-7', object: 'job', status: 'cancelled' });
      });
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }, undefined, controller).result, (err) => err === reason);
        assert.deepEqual(up.api(), ['POST /models/run', 'POST /jobs/up-7/cancel']);
      } finally {
        await up.close();
      }
    });

    it('fails naming the variable when the credential is not set, without calling the upstream', async () => {
      const up = await fakeUpstream((call, res) => json(res, 500, {}));
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter', token_env: 'GENJOBS_TEST_NO_SUCH_UPSTREAM_KEY' }).result,
          /environment variable GENJOBS_TEST_NO_SUCH_UPSTREAM_KEY is not set/);
        assert.equal(up.calls.length, 0);
      } finally {
        await up.close();
      }
    });

    it('never puts the credential in a message, even when the upstream echoes it', async () => {
      const up = await fakeUpstream((call, res) => json(res, 401, { error: `Invalid API key ${KEY}` }));
      try {
        await assert.rejects(run({ base_url: up.base, model: 'acme/painter' }).result, (err: Error) => {
          assert.match(err.message, /answered 401: Invalid API key \[redacted\]/);
          assert.ok(!err.message.includes(KEY) && !String(err.stack).includes(KEY));
          assert.ok(!JSON.stringify({ ...err }).includes(KEY), 'nor in the error\'s fields');
          return true;
        });
      } finally {
        await up.close();
      }
    });

    it('refuses a catalog entry without exactly one of model and app_id', () => {
      const build = (provider: Record<string, unknown>) => { const m = model(provider); return upstreamProvider(m.provider, m); };
      assert.throws(() => build({}), ProviderConfigError);
      assert.throws(() => build({ model: 'a/b', app_id: 'x' }), /cannot both be set/);
      assert.throws(() => build({ model: 'painter' }), /provider\.model must be an upstream model id/);
      assert.doesNotThrow(() => build({ app_id: 'cb2bbd2d' }));
    });
  });

  describe('against a real genjobs as the upstream', () => {
    let upstream: TestApp;
    let base: string;
    const E2E_ENV = 'GENJOBS_TEST_UPSTREAM_E2E_KEY';
    const auth = () => ({ authorization: `Bearer ${process.env[E2E_ENV]}` });

    before(async () => {
      // Its output URLs must be reachable: PUBLIC_URL is the address it listens on.
      const port = await freePort();
      upstream = await testApp({ PUBLIC_URL: `http://127.0.0.1:${port}` });
      await upstream.server.listen({ port, host: '127.0.0.1' });
      base = `http://127.0.0.1:${port}/api/v1`;
      process.env[E2E_ENV] = (await upstream.account({ credits: 10_000 })).key;
    });
    after(async () => {
      delete process.env[E2E_ENV];
      await upstream.dispose();
    });

    const upstreamJobs = async (): Promise<Array<{ id: string; status: string; model_id: string; output_data: Record<string, unknown> | null }>> =>
      (await upstream.server.inject({ method: 'GET', url: '/api/v1/jobs?limit=100', headers: auth() })).json().data;

    it('runs local/image (synchronous) there and copies the PNG into our storage', async () => {
      const output = await run({ base_url: base, model: 'local/image', token_env: E2E_ENV }, { prompt: 'a lighthouse at dusk', aspect_ratio: '16:9' }).result;
      const theirs = (await upstreamJobs()).find((j) => j.model_id === 'local/image')!;
      assert.equal(theirs.status, 'completed');
      const theirUrl = String(theirs.output_data!.outputImage);
      assert.ok(theirUrl.startsWith(`http://127.0.0.1:`));
      const original = await upstream.server.inject({ method: 'GET', url: new URL(theirUrl).pathname });
      const copy = storedFile(output.outputImage);
      assert.deepEqual(copy, original.rawPayload);
      assert.equal(PNG.sync.read(copy).width, 640);
    });

    it('runs the template app there and copies every node\'s file', async () => {
      const output = await run({ base_url: base, app_id: '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11', token_env: E2E_ENV }, { prompt: 'a harbour' }).result;
      assert.equal(output.app_name, 'Render and Upscale');
      const nodes = output.node_outputs as Record<string, { outputImage: string }>;
      assert.deepEqual(Object.keys(nodes).sort(), ['render', 'upscale']);
      assert.equal(PNG.sync.read(storedFile(nodes.render!.outputImage)).width, 640);
      assert.equal(PNG.sync.read(storedFile(nodes.upscale!.outputImage)).width, 1280);
    });

    it('a run that fails there fails here with its message', async () => {
      await assert.rejects(run({ base_url: base, model: 'local/test', token_env: E2E_ENV }, { outcome: 'failed', error_message: 'boom, upstream' }).result,
        { message: 'boom, upstream' });
    });

    it('cancelling a long local/test run cancels the upstream job', async () => {
      const controller = new AbortController();
      const reason = new Error('The job was cancelled.');
      const { result } = run({ base_url: base, model: 'local/test', token_env: E2E_ENV }, { duration_ms: 60_000 }, controller);
      const theirs = await eventually(async () => (await upstreamJobs()).find((j) => j.model_id === 'local/test' && j.status === 'processing'), 5000, 'the upstream job to start');
      controller.abort(reason);
      await assert.rejects(result, (err) => err === reason);
      const after = await upstream.server.inject({ method: 'GET', url: `/api/v1/jobs/${theirs.id}`, headers: auth() });
      assert.equal(after.json().status, 'cancelled');
    });
  });
});

