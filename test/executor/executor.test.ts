import { describe, it, afterEach } from 'node:test';
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
import type { JobRecord, Store } from '../../src/store/store.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { freshStore } from '../helpers/store.js';
import { eventually } from '../helpers/app.js';

type Behaviour = (ctx: RunContext) => Promise<Record<string, unknown>>;

/**
 * A store that counts the executor's claims, and can hold a claim's answer back until `release`:
 * the claim reads the queue at once, and answers when the test says.
 */
function claimWatch() {
  const seen = { claims: 0, inFlight: 0, hold: false, releases: [] as (() => void)[] };
  const wrap = (store: Store): Store => storeWith(store, {
    jobClaim: async (p) => {
      seen.claims++;
      seen.inFlight++;
      try {
        const jobs = await store.jobClaim(p);
        if (seen.hold) await new Promise<void>((resolve) => seen.releases.push(resolve));
        return jobs;
      } finally {
        seen.inFlight--;
      }
    },
  });
  /** Resolves once no claim is out and none starts over a few turns of the event loop. */
  const quiet = async () => {
    for (let calm = 0; calm < 3;) {
      await new Promise((r) => setImmediate(r));
      calm = seen.inFlight === 0 ? calm + 1 : 0;
    }
  };
  return { seen, wrap, quiet };
}

/** An executor over a fresh store, whose models run `behaviour` (a fake provider). */
async function setup(p: {
  behaviour: Behaviour; timeoutMs?: number; concurrency?: number; modelConcurrency?: number; leaseMs?: number; maxAttempts?: number;
  pollMs?: number; storeFor?: (store: Store) => Store;
}) {
  const store = await freshStore();
  const catalog = new Catalog(parseCatalog({
    models: [{
      id: 'fake/model', name: 'Fake', modality: 'text', cost: 30, provider: { type: 'fake' },
      timeout_ms: p.timeoutMs ?? 60_000, ...(p.modelConcurrency ? { concurrency: p.modelConcurrency } : {}),
    }],
  }, 'test'));
  const providers = new ProviderRegistry(catalog.models, { fake: (): Provider => ({ run: (ctx) => p.behaviour(ctx) }) });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-exec-'));
  const events = new JobEvents();
  const files = new LocalFileStorage(dataDir);
  const make = (owner: string) => new Executor({
    store: p.storeFor ? p.storeFor(store) : store, catalog, providers, files, links: { link: (f: { key: string }) => `http://genjobs.test/files/${f.key}`, stable: true }, events, apps: new AppDirectory(catalog, store), logger: pino({ level: 'silent' }), owner,
    concurrency: p.concurrency ?? 4, leaseMs: p.leaseMs ?? 30_000, maxAttempts: p.maxAttempts ?? 3, pollMs: p.pollMs ?? 20,
  });
  const user = await store.userCreate({ name: null, credits: 1000, now: Date.now() });
  /** Creates a job and, unless `quiet`, tells the executor, as the API does. */
  const submit = async (quiet = false): Promise<JobRecord> => {
    const r = await store.jobCreateCharged({
      id: newId(), userId: user.id, runType: 'model', modelId: 'fake/model', appId: null, inputData: { input: {} }, webhookUrl: null, cost: 30, now: Date.now(),
    });
    assert.ok(r.ok);
    if (!quiet) events.created(r.job);
    return r.job;
  };
  const status = async (id: string) => (await store.jobGetById({ id }))!;
  const balance = async () => (await store.userGetById({ id: user.id }))!.credits;
  const cleanup = async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { store, events, make, submit, status, balance, user, cleanup };
}

/** A provider that waits until aborted, recording that it saw the abort. */
function untilAborted(seen: { aborted: boolean }): Behaviour {
  return (ctx) => new Promise((_, reject) => {
    ctx.signal.addEventListener('abort', () => { seen.aborted = true; reject(new Error('aborted')); }, { once: true });
  });
}

/** The store with some calls replaced; the replacements call the real store themselves. */
function storeWith(store: Store, calls: Partial<Store>): Store {
  return new Proxy(store, {
    get: (target, prop, receiver) => (prop in calls ? calls[prop as keyof Store] : Reflect.get(target, prop, receiver)) as unknown,
  });
}

/** Lease renewals that fail as a database outage would while `down()` holds. */
const renewalsDownWhile = (store: Store, down: () => boolean): Store['jobLeaseExtend'] => async (p) => {
  if (down()) throw new StoreUnavailableError(new Error('connection refused'));
  return store.jobLeaseExtend(p);
};

describe('executor', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });
  const track = <T extends { cleanup: () => Promise<void> }>(env: T, ...executors: Executor[]) => {
    cleanups.push(async () => { for (const e of executors) await e.stop(0); await env.cleanup(); });
    return env;
  };

  it('completes a job with its provider\'s output and keeps the charge', async () => {
    const env = await setup({ behaviour: async (ctx) => ({ outputText: `done ${ctx.jobId}` }) });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    const done = await eventually(async () => { const j = await env.status(job.id); return j.status === 'completed' ? j : undefined; });
    assert.deepEqual(done.outputData, { outputText: `done ${job.id}` });
    assert.equal(done.creditsRefunded, 0);
    assert.equal(await env.balance(), 970);
  });

  it('fails and refunds a job whose provider throws, keeping the provider\'s message', async () => {
    const env = await setup({ behaviour: async () => { throw new Error('upstream said no'); } });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    const failed = await eventually(async () => { const j = await env.status(job.id); return j.status === 'failed' ? j : undefined; });
    assert.equal(failed.errorMessage, 'upstream said no');
    assert.equal(failed.creditsRefunded, 30);
    assert.equal(await env.balance(), 1000);
  });

  it('fails and refunds a job that runs past its model\'s timeout, even if the provider ignores the abort', async () => {
    const env = await setup({ timeoutMs: 100, behaviour: () => new Promise(() => { /* never settles */ }) });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    const failed = await eventually(async () => { const j = await env.status(job.id); return j.status === 'failed' ? j : undefined; });
    assert.equal(failed.errorMessage, 'fake/model timed out after 100 ms.');
    assert.equal(await env.balance(), 1000);
    await eventually(() => (ex.runningCount === 0 ? true : undefined), 2000, 'the slot to free');
  });

  it('aborts the provider when the job is cancelled in this process', async () => {
    const seen = { aborted: false };
    const env = await setup({ behaviour: untilAborted(seen) });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    await eventually(async () => ((await env.status(job.id)).status === 'processing' ? true : undefined));
    const r = await env.store.jobCancel({ id: job.id, userId: env.user.id, now: Date.now(), refundFor: (j) => j.creditsCharged });
    assert.ok(r?.changed);
    env.events.changed(r.job);
    await eventually(() => (seen.aborted ? true : undefined), 1000, 'the provider to see the abort');
    await eventually(() => (ex.runningCount === 0 ? true : undefined));
    assert.equal((await env.status(job.id)).status, 'cancelled');
  });

  it('aborts the provider when lease renewal finds the job cancelled elsewhere', async () => {
    const seen = { aborted: false };
    const env = await setup({ behaviour: untilAborted(seen), leaseMs: 1_500 });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    await eventually(async () => ((await env.status(job.id)).status === 'processing' ? true : undefined));
    // No in-process event: as if another API process cancelled it.
    await env.store.jobCancel({ id: job.id, userId: env.user.id, now: Date.now(), refundFor: () => 0 });
    await eventually(() => (seen.aborted ? true : undefined), 2_000, 'renewal to notice');
  });

  it('runs no more jobs of a model at once than the model\'s concurrency', async () => {
    let running = 0;
    let peak = 0;
    const env = await setup({
      modelConcurrency: 2, concurrency: 8,
      behaviour: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 40));
        running--;
        return { outputText: 'ok' };
      },
    });
    const ex = env.make('a');
    track(env, ex);
    const jobs = await Promise.all(Array.from({ length: 8 }, () => env.submit()));
    ex.start();
    await eventually(async () => {
      const all = await Promise.all(jobs.map((j) => env.status(j.id)));
      return all.every((j) => j.status === 'completed') ? true : undefined;
    }, 5000, 'all jobs to complete');
    assert.equal(peak, 2);
    for (const j of jobs) assert.equal((await env.status(j.id)).attempts, 1, 'jobs given back are not counted as attempts');
  });

  it('lets running jobs finish within the shutdown grace period', async () => {
    const env = await setup({ behaviour: async () => { await new Promise((r) => setTimeout(r, 150)); return { outputText: 'finished' }; } });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    await eventually(async () => ((await env.status(job.id)).status === 'processing' ? true : undefined));
    await ex.stop(5_000);
    assert.equal((await env.status(job.id)).status, 'completed');
  });

  it('gives unfinished jobs back at the end of the grace period, for the next executor to run', async () => {
    const seen = { aborted: false };
    let calls = 0;
    const env = await setup({
      behaviour: (ctx) => (++calls === 1 ? untilAborted(seen)(ctx) : Promise.resolve({ outputText: 'second time' })),
    });
    const first = env.make('first');
    first.start();
    const job = await env.submit();
    await eventually(async () => ((await env.status(job.id)).status === 'processing' ? true : undefined));
    await first.stop(50);
    assert.ok(seen.aborted);
    const released = await env.status(job.id);
    assert.equal(released.status, 'processing');
    assert.equal(released.leaseOwner, null);
    const second = env.make('second');
    track(env, second);
    second.start();
    const done = await eventually(async () => { const j = await env.status(job.id); return j.status === 'completed' ? j : undefined; });
    assert.deepEqual(done.outputData, { outputText: 'second time' });
    assert.equal(done.attempts, 1, 'the released attempt is not counted');
    assert.equal(await env.balance(), 970, 'charged once');
  });

  it('takes over the jobs of an executor that died, once their leases run out', async () => {
    const env = await setup({ leaseMs: 1_000, behaviour: async () => ({ outputText: 'rescued' }) });
    const job = await env.submit();
    // A "dead" executor: it claimed the job and then never renewed or finished it.
    const [claimed] = await env.store.jobClaim({ owner: 'dead', limit: 1, leaseMs: 1_000, now: Date.now(), maxAttempts: 3 });
    assert.equal(claimed?.id, job.id);
    const ex = env.make('alive');
    track(env, ex);
    ex.start();
    const done = await eventually(async () => { const j = await env.status(job.id); return j.status === 'completed' ? j : undefined; }, 5_000);
    assert.equal(done.attempts, 2);
    assert.equal(await env.balance(), 970);
  });

  it('does not claim again as jobs finish when the last claim emptied the queue', async () => {
    const watch = claimWatch();
    // No poll during the test: only notices and finishing jobs can make it claim.
    const env = await setup({ concurrency: 4, pollMs: 600_000, storeFor: watch.wrap, behaviour: async () => ({ outputText: 'ok' }) });
    const jobs = [await env.submit(true), await env.submit(true), await env.submit(true)];
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    for (const j of jobs) await eventually(async () => ((await env.status(j.id)).status === 'completed' ? true : undefined));
    await eventually(() => (ex.runningCount === 0 ? true : undefined));
    await watch.quiet();
    assert.equal(watch.seen.claims, 1, 'one claim took all three; their finishing asked for nothing more');
    // A new job is still heard of, and run.
    const later = await env.submit();
    await eventually(async () => ((await env.status(later.id)).status === 'completed' ? true : undefined));
    await eventually(() => (ex.runningCount === 0 ? true : undefined));
    await watch.quiet();
    assert.equal(watch.seen.claims, 2);
  });

  it('claims again as jobs finish while the last claim was full', async () => {
    const watch = claimWatch();
    const env = await setup({ concurrency: 2, pollMs: 600_000, storeFor: watch.wrap, behaviour: async () => ({ outputText: 'ok' }) });
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await env.submit(true));
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    for (const j of jobs) await eventually(async () => ((await env.status(j.id)).status === 'completed' ? true : undefined));
  });

  it('runs a job created while a claim is on its way back', async () => {
    const watch = claimWatch();
    const env = await setup({ pollMs: 600_000, storeFor: watch.wrap, behaviour: async () => ({ outputText: 'ok' }) });
    const ex = env.make('a');
    track(env, ex);
    watch.seen.hold = true;
    ex.start();
    // The first claim has read an empty queue and is held; the job is created and announced meanwhile.
    await eventually(() => (watch.seen.releases.length === 1 ? true : undefined));
    const job = await env.submit();
    watch.seen.hold = false;
    watch.seen.releases.shift()!();
    await eventually(async () => ((await env.status(job.id)).status === 'completed' ? true : undefined));
    assert.equal(watch.seen.claims, 2, 'the notice during the claim made it look once more');
  });

  it('starts the next job of an account at its running limit as soon as one of its jobs finishes, not at the next poll', async () => {
    let finishFirst: (() => void) | undefined;
    const env = await setup({
      concurrency: 4, pollMs: 600_000,
      behaviour: () => (finishFirst === undefined
        ? new Promise((resolve) => { finishFirst = () => resolve({ outputText: 'first' }); })
        : Promise.resolve({ outputText: 'next' })),
    });
    await env.store.userSetScheduling({ userId: env.user.id, maxRunning: 1 });
    const first = await env.submit(true);
    const second = await env.submit(true);
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    await eventually(() => finishFirst);
    assert.equal(ex.runningCount, 1, 'the account runs one job at a time');
    assert.equal((await env.status(second.id)).status, 'pending');
    finishFirst!();
    await eventually(async () => ((await env.status(second.id)).status === 'completed' ? true : undefined));
    assert.equal((await env.status(first.id)).status, 'completed');
  });

  it('claims the waiting jobs of a model at its limit here as soon as one of its jobs finishes', async () => {
    const watch = claimWatch();
    let finishFirst: (() => void) | undefined;
    const env = await setup({
      concurrency: 4, modelConcurrency: 1, pollMs: 600_000, storeFor: watch.wrap,
      // The first job waits for the test; the next finishes at once.
      behaviour: () => (finishFirst === undefined
        ? new Promise((resolve) => { finishFirst = () => resolve({ outputText: 'first' }); })
        : Promise.resolve({ outputText: 'next' })),
    });
    const first = await env.submit(true);
    const second = await env.submit(true);
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    await eventually(() => finishFirst);
    await watch.quiet();
    assert.equal(ex.runningCount, 1, 'the model runs one job at a time here');
    assert.notEqual((await env.status(second.id)).status, 'completed');
    finishFirst!();
    await eventually(async () => ((await env.status(second.id)).status === 'completed' ? true : undefined));
    assert.equal((await env.status(first.id)).status, 'completed');
  });
  it('keeps running a job once, under its new lease, when its own claim takes it back after renewals failed past the lease', async () => {
    // Found by the fault suite: a database outage longer than the lease stops renewals; when the
    // database is back, this executor's next claim may take its own still-running job again.
    const outage = { on: false, claimsWhileLapsed: 0 };
    const runs: { resolve: (v: Record<string, unknown>) => void }[] = [];
    const env = await setup({
      leaseMs: 1_000, pollMs: 20,
      storeFor: (store) => storeWith(store, {
        jobLeaseExtend: renewalsDownWhile(store, () => outage.on),
        jobClaim: async (p) => {
          const jobs = await store.jobClaim(p);
          if (outage.on && runs.length > 0 && p.now > lapsedAt) outage.claimsWhileLapsed++;
          return jobs;
        },
      }),
      behaviour: (ctx) => new Promise((resolve, reject) => {
        runs.push({ resolve });
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
    });
    let lapsedAt = Infinity;
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    await eventually(() => (runs.length === 1 ? true : undefined));
    outage.on = true;
    const claimed = await env.status(job.id);
    lapsedAt = claimed.leaseExpiresAt!;
    // Its lease runs out with no renewal; the executor's claims go on, and one takes the job back.
    await eventually(async () => ((await env.status(job.id)).attempts === 2 ? true : undefined), 10_000);
    await eventually(() => (outage.claimsWhileLapsed >= 3 ? true : undefined), 10_000);
    assert.equal(runs.length, 1, 'the provider was not started a second time in the same process');
    outage.on = false;
    // Renewals work again: the executor holds the job under its new lease and finishes it.
    await eventually(async () => ((await env.status(job.id)).leaseExpiresAt! > Date.now() + 500 ? true : undefined), 10_000);
    runs[0]!.resolve({ outputText: 'once' });
    const done = await eventually(async () => { const j = await env.status(job.id); return j.status === 'completed' ? j : undefined; }, 10_000);
    assert.deepEqual(done.outputData, { outputText: 'once' });
    assert.equal(runs.length, 1);
    assert.equal(await env.balance(), 970);
    await eventually(() => (ex.runningCount === 0 ? true : undefined));
  });
  it('records a job\'s outcome under the new lease when its own claim took the job back while the write was on its way', async () => {
    const state = { outage: false, holdClaims: false, claimedBack: false, completes: 0 };
    let openClaims: () => void = () => {};
    const gate = () => new Promise<void>((resolve) => { openClaims = resolve; });
    let claimsOpen = Promise.resolve();
    let finish: ((v: Record<string, unknown>) => void) | undefined;
    let starts = 0;
    const env = await setup({
      leaseMs: 1_000, pollMs: 20,
      storeFor: (store) => storeWith(store, {
        jobLeaseExtend: renewalsDownWhile(store, () => state.outage),
        jobClaim: async (p) => {
          if (state.holdClaims) await claimsOpen;
          const jobs = await store.jobClaim(p);
          if (jobs.length > 0 && starts > 0) state.claimedBack = true;
          return jobs;
        },
        jobComplete: async (p) => {
          // The first write leaves with the old token; the claim taking the job back lands before it.
          if (state.completes++ === 0) {
            state.holdClaims = false;
            openClaims();
            await eventually(() => (state.claimedBack ? true : undefined), 10_000);
          }
          return store.jobComplete(p);
        },
      }),
      behaviour: (ctx) => new Promise((resolve, reject) => {
        starts++;
        finish = resolve;
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
    });
    const ex = env.make('a');
    track(env, ex);
    ex.start();
    const job = await env.submit();
    await eventually(() => finish);
    state.outage = true;
    claimsOpen = gate();
    state.holdClaims = true;
    const lapsedAt = (await env.status(job.id)).leaseExpiresAt!;
    await eventually(() => (Date.now() > lapsedAt + 50 ? true : undefined), 10_000);
    state.outage = false;
    finish!({ outputText: 'once' });
    const done = await eventually(async () => { const j = await env.status(job.id); return j.status === 'completed' ? j : undefined; }, 10_000);
    assert.deepEqual(done.outputData, { outputText: 'once' });
    assert.equal(done.attempts, 2, 'the claim did take it back');
    assert.equal(state.completes, 2, 'refused under the old token, recorded under the new one');
    assert.equal(starts, 1);
    assert.equal(await env.balance(), 970);
  });
});
