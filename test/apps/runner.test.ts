import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Catalog, parseCatalog } from '../../src/catalog/load.js';
import { Executor } from '../../src/executor/executor.js';
import { AppDirectory } from '../../src/apps/directory.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { JobEvents } from '../../src/jobs/events.js';
import { newId } from '../../src/ids.js';
import type { Provider, RunContext } from '../../src/providers/provider.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { JobRecord } from '../../src/store/store.js';
import { freshStore } from '../helpers/store.js';
import { eventually } from '../helpers/app.js';

/*
 * App jobs at the executor level, with a fake model whose nodes say who they are (the `node`
 * setting), so the fake can count calls per node, record when each ran and what it got, and
 * be told per node to take a while or to block until aborted.
 */

type NodeOutput = Record<string, Record<string, unknown>>;

/** What the fake does for one node; `nth` counts that node's calls from 1. */
type Behaviour = (nth: number, ctx: RunContext) => { delayMs: number; fail?: string } | 'block';

interface Call {
  node: string;
  input: Record<string, unknown>;
  start: number;
  end: number | null;
  aborted: boolean;
}

const FAKE_MODEL = {
  id: 'fake/step', name: 'Fake step', modality: 'text', cost: 3, provider: { type: 'fake' }, timeout_ms: 60_000,
  settings: [
    { key: 'node', label: 'Node', inputType: 'text', required: true },
    { key: 'extra', label: 'Extra', inputType: 'text' },
  ],
};

/** A node of the fake model; its output is `<id>(<prompt>|<extra>)`, so a downstream input shows where it came from. */
const step = (id: string) => ({ id, model: 'fake/step', settings: { node: id } });
const edge = (from: string, to: string, input = 'prompt') => ({ from, output: 'outputText', to, input });
const outputOf = (node: string, input: Record<string, unknown>) => `${node}(${String(input.prompt ?? '')}|${String(input.extra ?? '')})`;

async function setup(t: TestContext, p: { nodes: unknown[]; edges: unknown[]; behaviour?: Record<string, Behaviour> }) {
  const store = await freshStore();
  const appDef = {
    id: 'fake-app', name: 'Fake app', nodes: p.nodes, edges: p.edges,
    inputs: [{ id: 'seed', type: 'text', label: 'Seed text', required: true, targetHandle: `${(p.nodes[0] as { id: string }).id}:prompt` }],
  };
  const catalog = new Catalog(parseCatalog({ models: [FAKE_MODEL] }, 'test'), [appDef]);
  const calls: Call[] = [];
  const fake: Provider = {
    run: async (ctx) => {
      const node = String(ctx.input.node);
      const call: Call = { node, input: { ...ctx.input }, start: Date.now(), end: null, aborted: false };
      calls.push(call);
      const nth = calls.filter((c) => c.node === node).length;
      const what = p.behaviour?.[node]?.(nth, ctx) ?? { delayMs: 0 };
      await new Promise<void>((resolve, reject) => {
        const timer = what === 'block' ? undefined : setTimeout(resolve, what.delayMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          call.aborted = true;
          reject(new Error('aborted'));
        }, { once: true });
      });
      call.end = Date.now();
      if (what !== 'block' && what.fail) throw new Error(what.fail);
      return { outputText: outputOf(node, ctx.input) };
    },
  };
  const providers = new ProviderRegistry(catalog.models, { fake: () => fake });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-apps-'));
  const events = new JobEvents();
  const files = new LocalFileStorage(dataDir);
  const apps = new AppDirectory(catalog, store);
  const executors: Executor[] = [];
  const make = (owner: string) => {
    const ex = new Executor({
      store, catalog, providers, files, links: { link: (f: { key: string }) => `http://genjobs.test/files/${f.key}`, stable: true }, events, apps, logger: pino({ level: 'silent' }), owner,
      concurrency: 4, leaseMs: 30_000, maxAttempts: 3, pollMs: 20,
    });
    executors.push(ex);
    return ex;
  };
  t.after(async () => {
    for (const ex of executors) await ex.stop(0);
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const user = await store.userCreate({ name: null, credits: 1000, now: Date.now() });
  const cost = 3 * p.nodes.length;
  const submit = async (seed = 'go'): Promise<JobRecord> => {
    const r = await store.jobCreateCharged({
      id: newId(), userId: user.id, runType: 'app', modelId: null, appId: 'fake-app',
      inputData: { app_id: 'fake-app', inputs: { seed } }, webhookUrl: null, cost, now: Date.now(),
    });
    assert.ok(r.ok);
    events.created(r.job);
    return r.job;
  };
  const job = async (id: string) => (await store.jobGetById({ id }))!;
  const nodeOutputs = (j: JobRecord) => ((j.outputData as { node_outputs?: NodeOutput } | null)?.node_outputs ?? {});
  const waitFor = (id: string, status: string, ms = 5000) => eventually(async () => {
    const j = await job(id);
    if (status !== 'failed' && j.status === 'failed') assert.fail(`job failed: ${j.errorMessage}`);
    return j.status === status ? j : undefined;
  }, ms, `job to be ${status}`);
  const callsOf = (node: string) => calls.filter((c) => c.node === node);
  const only = (node: string): Call => {
    const list = callsOf(node);
    assert.equal(list.length, 1, `${node} ran once`);
    return list[0]!;
  };
  return { store, events, user, cost, calls, callsOf, only, make, submit, job, nodeOutputs, waitFor };
}

describe('app runner', () => {
  it('does not re-run finished nodes when a job is released mid-app and another executor takes it over', async (t) => {
    const env = await setup(t, {
      nodes: [step('n1'), step('n2'), step('n3')],
      edges: [edge('n1', 'n2'), edge('n2', 'n3')],
      // n2 hangs on its first attempt, as if the executor went down while it ran.
      behaviour: { n2: (nth) => (nth === 1 ? 'block' : { delayMs: 0 }) },
    });
    const first = env.make('first');
    first.start();
    const submitted = await env.submit('go');
    await eventually(async () => (env.nodeOutputs(await env.job(submitted.id)).n1 && env.callsOf('n2').length === 1 ? true : undefined),
      5000, 'n1 stored and n2 running');
    await first.stop(50);
    assert.equal(env.callsOf('n2')[0]!.aborted, true, 'the shutdown aborted n2');
    const released = await env.job(submitted.id);
    assert.equal(released.status, 'processing');
    assert.equal(released.leaseOwner, null);
    assert.deepEqual(Object.keys(env.nodeOutputs(released)), ['n1']);

    const second = env.make('second');
    second.start();
    const done = await env.waitFor(submitted.id, 'completed');
    assert.equal(env.callsOf('n1').length, 1, 'n1 ran exactly once');
    assert.equal(env.callsOf('n2').length, 2);
    assert.equal(env.callsOf('n3').length, 1);
    const n1 = 'n1(go|)';
    const n2 = `n2(${n1}|)`;
    assert.deepEqual(done.outputData, {
      app_id: 'fake-app', app_name: 'Fake app',
      node_outputs: { n1: { outputText: n1 }, n2: { outputText: n2 }, n3: { outputText: `n3(${n2}|)` } },
    });
    // n2's second run got n1's stored output.
    assert.equal(env.callsOf('n2')[1]!.input.prompt, n1);
    assert.equal(done.attempts, 1, 'the released attempt is not counted');
    const ledger = await env.store.ledgerList({ userId: env.user.id, limit: 10, jobId: submitted.id });
    assert.deepEqual(ledger.map((e) => [e.kind, e.amount]), [['charge', -env.cost]]);
    assert.equal((await env.store.userGetById({ id: env.user.id }))!.credits, 1000 - env.cost);
  });

  it('runs independent nodes at the same time', async (t) => {
    const env = await setup(t, {
      nodes: [step('root'), step('left'), step('right')],
      edges: [edge('root', 'left'), edge('root', 'right')],
      // Long enough that a loaded machine's stall between the two starts cannot pass for running one after the other.
      behaviour: { left: () => ({ delayMs: 2000 }), right: () => ({ delayMs: 2000 }) },
    });
    env.make('a').start();
    const submitted = await env.submit();
    await env.waitFor(submitted.id, 'completed');
    const left = env.only('left');
    const right = env.only('right');
    assert.ok(left.start < right.end! && right.start < left.end!,
      `left ran ${left.start}..${left.end}, right ${right.start}..${right.end}: they should overlap`);
  });

  it('starts a node only after every node it takes input from has finished', async (t) => {
    const env = await setup(t, {
      nodes: [step('root'), step('fast'), step('slow'), step('join')],
      edges: [edge('root', 'fast'), edge('root', 'slow'), edge('fast', 'join', 'prompt'), edge('slow', 'join', 'extra')],
      behaviour: { fast: () => ({ delayMs: 10 }), slow: () => ({ delayMs: 300 }) },
    });
    env.make('a').start();
    const submitted = await env.submit();
    const done = await env.waitFor(submitted.id, 'completed');
    const root = env.only('root');
    const fast = env.only('fast');
    const slow = env.only('slow');
    const join = env.only('join');
    assert.ok(fast.start >= root.end! && slow.start >= root.end!, 'both parents waited for root');
    assert.ok(join.start >= slow.end!, `join started at ${join.start}, before slow ended at ${slow.end}`);
    assert.ok(join.start >= fast.end!);
    assert.deepEqual(Object.keys(env.nodeOutputs(done)).sort(), ['fast', 'join', 'root', 'slow']);
  });

  it('feeds each node\'s output into the inputs its edges name', async (t) => {
    const env = await setup(t, {
      nodes: [step('root'), step('fast'), step('slow'), step('join')],
      edges: [edge('root', 'fast'), edge('root', 'slow'), edge('fast', 'join', 'prompt'), edge('slow', 'join', 'extra')],
    });
    env.make('a').start();
    const submitted = await env.submit('hello');
    const done = await env.waitFor(submitted.id, 'completed');
    const outputs = env.nodeOutputs(done);
    assert.equal(env.only('root').input.prompt, 'hello', 'the app input reached its target handle');
    assert.equal(env.only('fast').input.prompt, outputs.root!.outputText);
    assert.equal(env.only('slow').input.prompt, outputs.root!.outputText);
    assert.equal(env.only('join').input.prompt, outputs.fast!.outputText);
    assert.equal(env.only('join').input.extra, outputs.slow!.outputText);
    assert.equal(outputs.join!.outputText, 'join(fast(root(hello|)|)|slow(root(hello|)|))');
  });

  it('aborts the running node when its app job is cancelled, and runs nothing after it', async (t) => {
    const env = await setup(t, {
      nodes: [step('first'), step('second')],
      edges: [edge('first', 'second')],
      behaviour: { first: () => 'block' },
    });
    const ex = env.make('a');
    ex.start();
    const submitted = await env.submit();
    await eventually(() => (env.callsOf('first').length === 1 ? true : undefined), 5000, 'first to start');
    const r = await env.store.jobCancel({ id: submitted.id, userId: env.user.id, now: Date.now(), refundFor: (j) => j.creditsCharged });
    assert.ok(r?.changed);
    env.events.changed(r.job);
    await eventually(() => (env.only('first').aborted ? true : undefined), 1000, 'the node to see the abort');
    await eventually(() => (ex.runningCount === 0 ? true : undefined), 1000, 'the executor to drop the job');
    assert.equal(env.callsOf('second').length, 0);
    assert.equal((await env.job(submitted.id)).status, 'cancelled');
  });

  it('fails the job with the failing node\'s message, aborting its running sibling, and refunds', async (t) => {
    const env = await setup(t, {
      nodes: [step('root'), step('bad'), step('hang'), step('after')],
      edges: [edge('root', 'bad'), edge('root', 'hang'), edge('bad', 'after'), edge('hang', 'after', 'extra')],
      behaviour: { bad: () => ({ delayMs: 100, fail: 'bad broke' }), hang: () => 'block' },
    });
    const ex = env.make('a');
    ex.start();
    const submitted = await env.submit();
    const failed = await env.waitFor(submitted.id, 'failed');
    assert.equal(failed.errorMessage, 'Node bad (fake/step) failed: bad broke');
    assert.equal(failed.creditsRefunded, env.cost);
    await eventually(() => (env.only('hang').aborted ? true : undefined), 1000, 'hang to see the abort');
    assert.equal(env.callsOf('after').length, 0);
    assert.deepEqual(Object.keys(env.nodeOutputs(failed)), ['root']);
    await eventually(() => (ex.runningCount === 0 ? true : undefined), 1000, 'the executor to free the job');
    assert.equal((await env.store.userGetById({ id: env.user.id }))!.credits, 1000);
  });
});
