import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { ADMIN_TOKEN, eventually, testApp, type TestApp } from '../helpers/app.js';

/* Apps through the HTTP API: listing, running, validation, execution and the admin routes. */

type Json = Record<string, any>;
type Headers = Record<string, string>;

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PUBLIC_URL = 'http://genjobs.test';

// The template apps of catalog/models.json.
const RENDER = '5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11'; // local/image (10) -> local/upscale (5)
const STORYBOARD = '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22'; // local/text (2) -> 2 x local/image (10) -> local/collage (5)
const CONTACT = 'c3f1a8d2-7b4e-4e19-a6c5-0f2d8b3e4a33'; // local/collage (5)

/** A test app disposed when the test ends; grace 0 so a test that fails mid-job still ends quickly. */
async function newApp(t: TestContext, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await testApp({ GENJOBS_SHUTDOWN_GRACE_MS: '0', ...env });
  t.after(() => app.dispose());
  return app;
}

async function call(app: TestApp, headers: Headers, method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.server.inject({
    method, url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json() as Json };
}

const runApp = (app: TestApp, auth: Headers, body: unknown) => call(app, auth, 'POST', '/api/v1/apps/run', body);
const listApps = async (app: TestApp, auth: Headers): Promise<Json[]> => {
  const res = await call(app, auth, 'GET', '/api/v1/apps');
  assert.equal(res.status, 200);
  return res.body.data as Json[];
};
const getJob = async (app: TestApp, auth: Headers, id: string): Promise<Json> => {
  const res = await call(app, auth, 'GET', `/api/v1/jobs/${id}`);
  assert.equal(res.status, 200);
  return res.body;
};
const jobIds = async (app: TestApp, auth: Headers): Promise<string[]> => {
  const res = await call(app, auth, 'GET', '/api/v1/jobs');
  assert.equal(res.status, 200);
  return (res.body.data as Json[]).map((j) => j.id as string);
};
const balance = async (app: TestApp, auth: Headers): Promise<number> => {
  const res = await call(app, auth, 'GET', '/api/v1/account');
  assert.equal(res.status, 200);
  return res.body.credits as number;
};

/** Runs an app and returns the accepted job, asserting the 202. */
async function startApp(app: TestApp, auth: Headers, appId: string, inputs: Json = {}): Promise<Json> {
  const res = await runApp(app, auth, { app_id: appId, inputs });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body;
}

async function waitForStatus(app: TestApp, auth: Headers, id: string, status: string, ms = 10_000): Promise<Json> {
  return eventually(async () => {
    const job = await getJob(app, auth, id);
    if (status !== 'failed' && job.status === 'failed') assert.fail(`job ${id} failed: ${job.error_message}`);
    return job.status === status ? job : undefined;
  }, ms, `job ${id} to be ${status}`);
}

/** Creates a private app of `userId` through the admin API, asserting the 201. */
async function createPrivateApp(app: TestApp, userId: string, definition: Json): Promise<Json> {
  const res = await call(app, ADMIN, 'POST', `/admin/v1/users/${userId}/apps`, definition);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** A node of the built-in test model (cost 1, text output). */
const testNode = (id: string, settings: Json = {}) => ({ id, model: 'local/test', settings });

/** Downloads one of this server's output files and decodes it as a PNG. */
async function downloadPng(app: TestApp, url: string): Promise<PNG> {
  assert.ok(url.startsWith(`${PUBLIC_URL}/files/`), url);
  const res = await app.server.inject({ method: 'GET', url: url.slice(PUBLIC_URL.length) });
  assert.equal(res.statusCode, 200, `GET ${url}`);
  assert.equal(res.headers['content-type'], 'image/png');
  return PNG.sync.read(res.rawPayload);
}

const pngSize = (png: PNG) => ({ width: png.width, height: png.height });

describe('GET /api/v1/apps', () => {
  it('lists the three template apps with exactly the contract\'s fields and their costs', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account();
    const res = await call(app, auth, 'GET', '/api/v1/apps');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['data', 'object']);
    assert.equal(res.body.object, 'list');
    const apps = res.body.data as Json[];
    assert.deepEqual(apps.map((a) => a.id), [RENDER, STORYBOARD, CONTACT]);
    for (const a of apps) {
      // The platform's fields, plus the extensions `object`, `cost` and `node_count`.
      assert.deepEqual(Object.keys(a).sort(),
        ['cost', 'description', 'icon', 'id', 'inputs', 'is_template', 'name', 'node_count', 'object', 'tags', 'thumbnail_url'], a.id);
      assert.equal(a.object, 'app');
      assert.equal(a.is_template, true);
      assert.equal(typeof a.description, 'string');
      assert.ok(Array.isArray(a.tags));
      for (const input of a.inputs as Json[]) {
        assert.deepEqual(Object.keys(input).sort(), ['allowMultiple', 'id', 'label', 'required', 'targetHandle', 'type']);
      }
    }
    const [render, storyboard, contact] = apps as [Json, Json, Json];
    assert.deepEqual(
      { name: render.name, icon: render.icon, thumbnail_url: render.thumbnail_url, tags: render.tags, cost: render.cost, node_count: render.node_count },
      { name: 'Render and Upscale', icon: '🖼️', thumbnail_url: null, tags: ['image', 'chain'], cost: 15, node_count: 2 },
    );
    assert.deepEqual(render.inputs, [
      { id: 'prompt', type: 'text', label: 'Prompt', required: true, targetHandle: 'render:prompt', allowMultiple: false },
      { id: 'aspect_ratio', type: 'select', label: 'Aspect ratio', required: false, targetHandle: 'render:aspect_ratio', allowMultiple: false },
    ]);
    assert.equal(storyboard.name, 'Storyboard');
    assert.equal(storyboard.cost, 2 + 10 + 10 + 5);
    assert.equal(contact.name, 'Contact Sheet');
    assert.equal(contact.cost, 5);
    assert.deepEqual(contact.inputs, [
      { id: 'images', type: 'image', label: 'Images', required: true, targetHandle: 'sheet:images', allowMultiple: true },
      { id: 'height', type: 'integer', label: 'Height (px)', required: false, targetHandle: 'sheet:height', allowMultiple: false },
    ]);
  });
});

describe('private apps', () => {
  it('lists an account\'s active private app for that account only, and runs it for that account only', async (t) => {
    const app = await newApp(t);
    const owner = await app.account({ credits: 100 });
    const other = await app.account({ credits: 100 });
    const created = await createPrivateApp(app, owner.userId, {
      name: 'Echo', description: 'One test node', tags: ['test'], nodes: [testNode('only', { duration_ms: 5 })],
    });

    const mine = await listApps(app, owner.auth);
    assert.deepEqual(mine.map((a) => a.id), [RENDER, STORYBOARD, CONTACT, created.id]);
    assert.deepEqual(mine[3], {
      id: created.id, object: 'app', name: 'Echo', description: 'One test node', icon: null, thumbnail_url: null,
      is_template: false, tags: ['test'], inputs: [], cost: 1, node_count: 1,
    });
    const job = await startApp(app, owner.auth, created.id as string);
    assert.equal(job.app_name, 'Echo');
    const done = await waitForStatus(app, owner.auth, job.id as string, 'completed');
    assert.deepEqual(done.output_data, {
      app_id: created.id, app_name: 'Echo', node_outputs: { only: { outputText: 'local/test completed after 5 ms' } },
    });
    assert.equal(await balance(app, owner.auth), 99);

    // Another account: neither listed nor runnable, and its existence is not revealed.
    assert.deepEqual((await listApps(app, other.auth)).map((a) => a.id), [RENDER, STORYBOARD, CONTACT]);
    const foreign = await runApp(app, other.auth, { app_id: created.id, inputs: {} });
    assert.equal(foreign.status, 404);
    assert.deepEqual(foreign.body, { error: 'App not found', code: 'app_not_found' });
    assert.equal(await balance(app, other.auth), 100);
    assert.deepEqual(await jobIds(app, other.auth), []);
  });

  it('neither lists nor runs a deactivated app, and lists and runs it again once reactivated', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const owner = await app.account({ credits: 100 });
    const created = await createPrivateApp(app, owner.userId, { name: 'Soon off', nodes: [testNode('only')] });

    const off = await call(app, ADMIN, 'PATCH', `/admin/v1/apps/${created.id}`, { is_active: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.is_active, false);
    assert.deepEqual((await listApps(app, owner.auth)).map((a) => a.id), [RENDER, STORYBOARD, CONTACT]);
    const refused = await runApp(app, owner.auth, { app_id: created.id, inputs: {} });
    assert.equal(refused.status, 404);
    assert.deepEqual(refused.body, { error: 'App not found', code: 'app_not_found' });
    assert.equal(await balance(app, owner.auth), 100);
    // The operator still sees it, inactive.
    const adminList = await call(app, ADMIN, 'GET', `/admin/v1/users/${owner.userId}/apps`);
    assert.equal(adminList.status, 200);
    assert.deepEqual((adminList.body.data as Json[]).map((a) => [a.id, a.is_active]), [[created.id, false]]);

    const on = await call(app, ADMIN, 'PATCH', `/admin/v1/apps/${created.id}`, { is_active: true });
    assert.equal(on.status, 200);
    assert.equal(on.body.is_active, true);
    assert.deepEqual((await listApps(app, owner.auth)).map((a) => a.id), [RENDER, STORYBOARD, CONTACT, created.id]);
    await startApp(app, owner.auth, created.id as string);
  });

  it('answers 404 to an unknown app_id and 400 naming app_id when it is missing', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const unknown = await runApp(app, auth, { app_id: '00000000-0000-4000-8000-000000000000', inputs: {} });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { error: 'App not found', code: 'app_not_found' });
    const notAnId = await runApp(app, auth, { app_id: 'no-such-app', inputs: {} });
    assert.equal(notAnId.status, 404);
    for (const body of [{ inputs: { prompt: 'x' } }, { app_id: '', inputs: {} }, { app_id: 42 }]) {
      const missing = await runApp(app, auth, body);
      assert.equal(missing.status, 400, JSON.stringify(body));
      assert.deepEqual(missing.body, { error: 'app_id: is required: the id of an app from GET /api/v1/apps', code: 'invalid_parameter' });
    }
    assert.equal(await balance(app, auth), 100);
    assert.deepEqual(await jobIds(app, auth), []);
  });
});

describe('POST /api/v1/apps/run: input validation', () => {
  it('refuses missing required inputs with their labels, comma separated in definition order', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { userId, auth } = await app.account({ credits: 100 });
    const twoInputs = await createPrivateApp(app, userId, {
      name: 'Two inputs',
      nodes: [testNode('n')],
      inputs: [
        { id: 'p', type: 'text', label: 'Prompt', required: true, targetHandle: 'n:prompt' },
        { id: 's', type: 'text', label: 'Style', required: true, targetHandle: 'n:error_message' },
      ],
    });
    const cases: [string, Json | undefined, string][] = [
      [RENDER, {}, 'Missing required inputs: Prompt'],
      [RENDER, undefined, 'Missing required inputs: Prompt'],
      [RENDER, { prompt: '   ' }, 'Missing required inputs: Prompt'],
      [RENDER, { aspect_ratio: '1:1' }, 'Missing required inputs: Prompt'],
      [CONTACT, { images: [] }, 'Missing required inputs: Images'],
      [twoInputs.id, {}, 'Missing required inputs: Prompt, Style'],
      [twoInputs.id, { s: 'bold' }, 'Missing required inputs: Prompt'],
      [twoInputs.id, { p: 'hello' }, 'Missing required inputs: Style'],
    ];
    for (const [appId, inputs, message] of cases) {
      const res = await runApp(app, auth, { app_id: appId, ...(inputs === undefined ? {} : { inputs }) });
      assert.equal(res.status, 400, `${appId} ${JSON.stringify(inputs)}`);
      assert.deepEqual(res.body, { error: message, code: 'missing_inputs' });
    }
    assert.equal(await balance(app, auth), 100);
    assert.deepEqual(await jobIds(app, auth), []);
  });

  it('refuses inputs of the wrong type, shape or name with a 400 naming inputs.<id>, and charges nothing', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const someImage = `${PUBLIC_URL}/files/x/y.png`;
    const cases: [string, Json, string][] = [
      [RENDER, { prompt: 5 }, 'inputs.prompt: must be a string'],
      [RENDER, { prompt: 'a fox', aspect_ratio: '2:1' }, 'inputs.aspect_ratio: must be one of 1:1, 16:9, 9:16, 4:3, 3:4'],
      [CONTACT, { images: [someImage], height: 1.5 }, 'inputs.height: must be a whole number'],
      [CONTACT, { images: someImage }, 'inputs.images: must be an array (this input allows several values)'],
      [CONTACT, { images: [someImage, 7] }, 'inputs.images[1]: must be an http(s) URL'],
      [RENDER, { prompt: ['a fox'] }, 'inputs.prompt: must be a single value, not an array'],
      [RENDER, { prompt: 'a fox', colour: 'red' }, 'inputs.colour: is not an input of Render and Upscale (its inputs: prompt, aspect_ratio)'],
    ];
    for (const [appId, inputs, message] of cases) {
      const res = await runApp(app, auth, { app_id: appId, inputs });
      assert.equal(res.status, 400, JSON.stringify(inputs));
      assert.equal(res.body.error, message);
    }
    const notAnObject = await runApp(app, auth, { app_id: RENDER, inputs: ['a fox'] });
    assert.equal(notAnObject.status, 400);
    assert.match(notAnObject.body.error, /^inputs: /);
    assert.equal(await balance(app, auth), 100);
    assert.deepEqual(await jobIds(app, auth), []);
  });

  it('accepts an array for an allowMultiple input and sets the images side by side', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 100 });
    const image = await call(app, auth, 'POST', '/api/v1/models/run', { model: 'local/image', input: { prompt: 'a kite' } });
    assert.equal(image.status, 200);
    const url = image.body.output_data.outputImage as string;
    const job = await startApp(app, auth, CONTACT, { images: [url, url] });
    assert.deepEqual(job.input_data, { app_id: CONTACT, inputs: { images: [url, url] } });
    const done = await waitForStatus(app, auth, job.id as string, 'completed');
    // Two 512x512 pictures at the default height 256, with an 8 px gap.
    assert.deepEqual(pngSize(await downloadPng(app, done.output_data.node_outputs.sheet.outputImage as string)), { width: 520, height: 256 });
    assert.equal(await balance(app, auth), 100 - 10 - 5);
  });
});

describe('POST /api/v1/apps/run: acceptance and credits', () => {
  it('answers 202 with the app job and debits the app\'s cost', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 100 });
    const res = await runApp(app, auth, { app_id: RENDER, inputs: { prompt: 'a lighthouse' } });
    assert.equal(res.status, 202);
    const job = res.body;
    assert.equal(job.object, 'job');
    assert.equal(job.status, 'pending');
    assert.equal(job.run_type, 'app');
    assert.equal(job.app_id, RENDER);
    assert.equal(job.app_name, 'Render and Upscale');
    assert.equal(job.model_id, null);
    assert.equal(job.credits_charged, 15);
    assert.equal(job.credits_refunded, 0);
    assert.match(job.created_at, ISO_MS);
    assert.equal(job.completed_at, null);
    assert.deepEqual(job.input_data, { app_id: RENDER, inputs: { prompt: 'a lighthouse' } });
    assert.equal(job.output_data, null);
    assert.equal(await balance(app, auth), 85);
    const stored = await getJob(app, auth, job.id as string);
    assert.deepEqual([stored.run_type, stored.app_id, stored.model_id, stored.credits_charged], ['app', RENDER, null, 15]);
    assert.deepEqual(await jobIds(app, auth), [job.id]);
  });

  it('answers 402 with no job when the account is short of the app\'s cost', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { auth } = await app.account({ credits: 26 });
    const res = await runApp(app, auth, { app_id: STORYBOARD, inputs: { prompt: 'a harbour' } });
    assert.equal(res.status, 402);
    assert.deepEqual(res.body, { error: 'Insufficient credits. Required 27, available 26', code: 'insufficient_credits' });
    assert.equal(await balance(app, auth), 26);
    assert.deepEqual(await jobIds(app, auth), []);
  });
});

describe('running template apps', () => {
  it('runs Render and Upscale as a chain: the upscale node enlarges the render node\'s picture 2x', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 100 });
    const job = await startApp(app, auth, RENDER, { prompt: 'a lighthouse at dusk' });
    const done = await waitForStatus(app, auth, job.id as string, 'completed');
    assert.match(done.completed_at, ISO_MS);
    assert.equal(done.error_message, null);
    assert.equal(done.credits_refunded, 0);
    assert.deepEqual(Object.keys(done.output_data).sort(), ['app_id', 'app_name', 'node_outputs']);
    assert.equal(done.output_data.app_id, RENDER);
    assert.equal(done.output_data.app_name, 'Render and Upscale');
    const outputs = done.output_data.node_outputs as Json;
    assert.deepEqual(Object.keys(outputs).sort(), ['render', 'upscale']);
    assert.deepEqual(Object.keys(outputs.render), ['outputImage']);
    assert.deepEqual(Object.keys(outputs.upscale), ['outputImage']);
    assert.notEqual(outputs.render.outputImage, outputs.upscale.outputImage);
    assert.deepEqual(pngSize(await downloadPng(app, outputs.render.outputImage)), { width: 640, height: 360 });
    assert.deepEqual(pngSize(await downloadPng(app, outputs.upscale.outputImage)), { width: 1280, height: 720 });
    assert.equal(await balance(app, auth), 85);
  });

  it('lets an app input override a node\'s fixed setting', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 100 });
    const job = await startApp(app, auth, RENDER, { prompt: 'a lighthouse', aspect_ratio: '3:4' });
    const done = await waitForStatus(app, auth, job.id as string, 'completed');
    const outputs = done.output_data.node_outputs as Json;
    assert.deepEqual(pngSize(await downloadPng(app, outputs.render.outputImage)), { width: 384, height: 512 });
    assert.deepEqual(pngSize(await downloadPng(app, outputs.upscale.outputImage)), { width: 768, height: 1024 });
  });

  it('runs Storyboard\'s fan-out and fan-in: both pictures draw the written caption, and the sheet joins them', async (t) => {
    const app = await newApp(t);
    const { auth } = await app.account({ credits: 100 });
    const job = await startApp(app, auth, STORYBOARD, { prompt: 'a harbour at dawn' });
    const done = await waitForStatus(app, auth, job.id as string, 'completed');
    const outputs = done.output_data.node_outputs as Json;
    assert.deepEqual(Object.keys(outputs).sort(), ['sheet', 'square', 'wide', 'write']);
    const caption = outputs.write.outputText as string;
    assert.equal(typeof caption, 'string');
    assert.ok(caption.length > 0);
    const wide = await downloadPng(app, outputs.wide.outputImage);
    const square = await downloadPng(app, outputs.square.outputImage);
    assert.deepEqual(pngSize(wide), { width: 640, height: 360 });
    assert.deepEqual(pngSize(square), { width: 512, height: 512 });
    // wide at height 256 is 455 px wide, square 256, with an 8 px gap.
    assert.deepEqual(pngSize(await downloadPng(app, outputs.sheet.outputImage)), { width: 455 + 8 + 256, height: 256 });
    assert.equal(await balance(app, auth), 100 - 27);

    // local/image is deterministic: the same caption, ratio and seed draw the same pixels, which
    // shows the write node's text reached both image nodes as their prompt.
    for (const [node, picture, input] of [['wide', wide, { aspect_ratio: '16:9' }], ['square', square, { aspect_ratio: '1:1', seed: 7 }]] as const) {
      const direct = await call(app, auth, 'POST', '/api/v1/models/run', { model: 'local/image', input: { prompt: caption, ...input } });
      assert.equal(direct.status, 200);
      const same = await downloadPng(app, direct.body.output_data.outputImage as string);
      assert.ok(same.data.equals(picture.data), `${node} was drawn from the caption`);
    }
  });
});

describe('running private apps: progress, cancel and failure', () => {
  it('shows finished nodes while the job is processing, and a cancel stops the rest and refunds in full', async (t) => {
    const app = await newApp(t);
    const { userId, auth } = await app.account({ credits: 100 });
    const created = await createPrivateApp(app, userId, {
      name: 'Slow second step',
      // b runs far longer than anything a loaded machine delays, so its stop is told from its end.
      nodes: [testNode('a', { duration_ms: 50 }), testNode('b', { duration_ms: 30_000 })],
      edges: [{ from: 'a', output: 'outputText', to: 'b', input: 'error_message' }],
    });
    const job = await startApp(app, auth, created.id as string);
    assert.equal(job.credits_charged, 2);
    const partial = await eventually(async () => {
      const j = await getJob(app, auth, job.id as string);
      return j.status === 'processing' && j.output_data?.node_outputs?.a ? j : undefined;
    }, 2500, 'node a to finish');
    assert.deepEqual(partial.output_data, {
      app_id: created.id, app_name: 'Slow second step', node_outputs: { a: { outputText: 'local/test completed after 50 ms' } },
    });
    assert.equal(partial.completed_at, null);
    assert.equal(app.executor!.runningCount, 1);

    const cancelledAt = Date.now();
    const cancel = await call(app, auth, 'POST', `/api/v1/jobs/${job.id}/cancel`);
    assert.equal(cancel.status, 200);
    assert.equal(cancel.body.id, job.id);
    assert.equal(cancel.body.object, 'job');
    assert.equal(cancel.body.status, 'cancelled');
    assert.match(cancel.body.cancelled_at, ISO_MS);
    assert.equal(cancel.body.credits_refunded, 2);
    await eventually(() => (app.executor!.runningCount === 0 ? true : undefined), 1000, 'the executor to drop the job');
    assert.ok(Date.now() - cancelledAt < 10_000, 'node b stopped long before its 30 s');
    const after = await getJob(app, auth, job.id as string);
    assert.equal(after.status, 'cancelled');
    assert.equal(after.credits_refunded, 2);
    assert.equal(after.output_data.node_outputs.b, undefined);
    assert.equal(await balance(app, auth), 100);
  });

  it('fails the job with the failing node\'s message, stops its running siblings and refunds in full', async (t) => {
    const app = await newApp(t);
    const { userId, auth } = await app.account({ credits: 100 });
    const created = await createPrivateApp(app, userId, {
      name: 'Breaks in the middle',
      nodes: [
        testNode('a', { duration_ms: 20 }),
        testNode('b', { duration_ms: 100, outcome: 'failed', error_message: 'b broke' }),
        testNode('c', { duration_ms: 60_000 }),
        testNode('d'),
      ],
      edges: [
        { from: 'a', output: 'outputText', to: 'b', input: 'prompt' },
        { from: 'a', output: 'outputText', to: 'c', input: 'prompt' },
        { from: 'b', output: 'outputText', to: 'd', input: 'prompt' },
        { from: 'c', output: 'outputText', to: 'd', input: 'error_message' },
      ],
    });
    const started = Date.now();
    const job = await startApp(app, auth, created.id as string);
    assert.equal(job.credits_charged, 4);
    const failed = await waitForStatus(app, auth, job.id as string, 'failed', 4000);
    assert.ok(Date.now() - started < 20_000, `failed after ${Date.now() - started} ms: node c (60 s) was not waited for`);
    assert.equal(failed.error_message, 'Node b (local/test) failed: b broke');
    assert.equal(failed.credits_refunded, 4);
    assert.match(failed.completed_at, ISO_MS);
    assert.deepEqual(Object.keys(failed.output_data.node_outputs), ['a']);
    assert.equal(await balance(app, auth), 100);
    await eventually(() => (app.executor!.runningCount === 0 ? true : undefined), 1000, 'the executor to free the job');
  });
});

describe('admin: private app definitions', () => {
  const a = testNode('a');
  const b = testNode('b');
  const invalid: [string, Json, string][] = [
    ['a cycle', {
      nodes: [a, b],
      edges: [{ from: 'a', to: 'b', input: 'prompt' }, { from: 'b', to: 'a', input: 'prompt' }],
    }, 'edges form a cycle: a node cannot wait for its own output'],
    ['a node feeding itself', {
      nodes: [a], edges: [{ from: 'a', to: 'a', input: 'prompt' }],
    }, 'edges form a cycle: a node cannot wait for its own output'],
    ['an unknown model', {
      nodes: [{ id: 'x', model: 'nobody/nothing', settings: {} }],
    }, 'nodes[0].model "nobody/nothing" is not a model of the catalog'],
    ['an image output into a text handle', {
      nodes: [{ id: 'img', model: 'local/image', settings: { prompt: 'a fox' } }, b],
      edges: [{ from: 'img', output: 'outputImage', to: 'b', input: 'error_message' }],
    }, 'edges[0] carries image from img, which local/test\'s error_message cannot take'],
    ['an edge naming an output its model does not produce', {
      nodes: [a, b], edges: [{ from: 'a', output: 'outputImage', to: 'b', input: 'prompt' }],
    }, 'edges[0].output "outputImage" is not what local/test produces (outputText)'],
    ['an unknown handle', {
      nodes: [a, b], edges: [{ from: 'a', output: 'outputText', to: 'b', input: 'colour' }],
    }, 'edges[0].input "colour" is not a setting of local/test'],
    ['an edge from an unknown node', {
      nodes: [a], edges: [{ from: 'ghost', to: 'a', input: 'prompt' }],
    }, 'edges[0].from "ghost" is not a node of this app'],
    ['a required setting fed by nothing', {
      nodes: [{ id: 'up', model: 'local/upscale', settings: {} }],
    }, 'node up needs image_url (local/upscale requires it), but nothing fills it'],
    ['a node id used twice', {
      nodes: [a, testNode('a', { duration_ms: 5 })],
    }, 'nodes[1].id "a" is used by two nodes'],
    ['a handle fed by two edges', {
      nodes: [a, b, testNode('c')],
      edges: [{ from: 'a', to: 'c', input: 'prompt' }, { from: 'b', to: 'c', input: 'prompt' }],
    }, 'node c has prompt filled by an edge and an edge; give each setting one source'],
    ['an input aimed at an unknown node', {
      nodes: [a], inputs: [{ id: 'p', type: 'text', label: 'Prompt', required: true, targetHandle: 'zz:prompt' }],
    }, 'inputs[0].targetHandle must be "<node id>:<setting key>" naming a node of this app and a setting of its model'],
    ['edges that are not an array', {
      nodes: [a], edges: { from: 'a', to: 'a' },
    }, 'edges must be an array'],
    ['no nodes', { nodes: [] }, 'nodes must be a non-empty array'],
  ];
  for (const [problem, definition, message] of invalid) {
    it(`refuses ${problem} with 400 invalid_app_definition naming it, and stores nothing`, async (t) => {
      const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
      const { userId } = await app.account();
      const res = await call(app, ADMIN, 'POST', `/admin/v1/users/${userId}/apps`, { name: 'Broken', ...definition });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: `The app definition is invalid: ${message}`, code: 'invalid_app_definition' });
      const list = await call(app, ADMIN, 'GET', `/admin/v1/users/${userId}/apps`);
      assert.deepEqual(list.body, { object: 'list', data: [] });
    });
  }

  it('creates a private app with 201, active, echoing its definition', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { userId, auth } = await app.account();
    const nodes = [testNode('a', { duration_ms: 10 }), testNode('b')];
    const inputs = [{ id: 'p', type: 'text', label: 'Prompt', required: true, targetHandle: 'a:prompt', allowMultiple: false }];
    const res = await call(app, ADMIN, 'POST', `/admin/v1/users/${userId}/apps`, {
      name: 'Two steps', description: 'a then b', icon: '🧪', tags: ['t'], nodes,
      edges: [{ from: 'a', to: 'b', input: 'prompt' }], inputs,
    });
    assert.equal(res.status, 201);
    const body = res.body;
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(body.is_active, true);
    assert.equal(body.is_template, false);
    assert.equal(body.owner_id, userId);
    assert.equal(body.cost, 2);
    assert.deepEqual(body.inputs, inputs);
    assert.deepEqual(body.definition, {
      name: 'Two steps', description: 'a then b', icon: '🧪', thumbnail_url: null, tags: ['t'], cost: null, timeout_ms: null,
      nodes, edges: [{ from: 'a', output: 'outputText', to: 'b', input: 'prompt' }], inputs,
    });
    const listed = await call(app, ADMIN, 'GET', `/admin/v1/users/${userId}/apps`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data, [body]);
    assert.deepEqual((await listApps(app, auth)).map((x) => x.id), [RENDER, STORYBOARD, CONTACT, body.id]);
  });

  it('updates a private app with PUT, checks the new definition, and refuses templates with 409', async (t) => {
    const app = await newApp(t, { GENJOBS_EXECUTOR: 'false' });
    const { userId, auth } = await app.account();
    const created = await createPrivateApp(app, userId, { name: 'First', nodes: [testNode('a')] });

    const put = await call(app, ADMIN, 'PUT', `/admin/v1/apps/${created.id}`, { name: 'Second', cost: 7, nodes: [testNode('a'), testNode('b')] });
    assert.equal(put.status, 200);
    assert.equal(put.body.id, created.id);
    assert.equal(put.body.name, 'Second');
    assert.equal(put.body.cost, 7);
    const listed = (await listApps(app, auth)).find((x) => x.id === created.id);
    assert.deepEqual([listed?.name, listed?.cost], ['Second', 7]);

    const bad = await call(app, ADMIN, 'PUT', `/admin/v1/apps/${created.id}`, { name: 'Third', nodes: [a, a] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_app_definition');
    assert.equal((await listApps(app, auth)).find((x) => x.id === created.id)?.name, 'Second');

    const template = await call(app, ADMIN, 'PUT', `/admin/v1/apps/${RENDER}`, { name: 'Mine now', nodes: [testNode('a')] });
    assert.equal(template.status, 409);
    assert.deepEqual(template.body, {
      error: `App ${RENDER} is a template from the catalog file: change it there, not through the admin API`, code: 'app_is_template',
    });
    const patchTemplate = await call(app, ADMIN, 'PATCH', `/admin/v1/apps/${RENDER}`, { is_active: false });
    assert.equal(patchTemplate.status, 409);
    assert.equal(patchTemplate.body.code, 'app_is_template');
    assert.equal((await listApps(app, auth))[0]?.id, RENDER);

    const missing = await call(app, ADMIN, 'PUT', '/admin/v1/apps/00000000-0000-4000-8000-000000000000', { name: 'x', nodes: [testNode('a')] });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'app_not_found');
  });
});
