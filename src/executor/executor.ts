import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { workerModels, type Catalog } from '../catalog/load.js';
import type { FileStorage } from '../files/storage.js';
import type { OutputLinks } from '../jobs/links.js';
import type { JobEvents } from '../jobs/events.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { JobRecord, Store } from '../store/store.js';
import type { AppDirectory } from '../apps/directory.js';
import { appTimeoutMs } from '../apps/definition.js';
import { appRunSpec, modelRunInput } from '../runs/spec.js';
import { runAppNodes } from '../apps/app-runner.js';
import { WakeLoop } from '../background/wake-loop.js';
import { StopReason } from './stop-reason.js';
import { runWithSignal } from '../providers/run-with-signal.js';
import { StoreUnavailableError } from '../store/errors.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExecutorOptions {
  store: Store;
  catalog: Catalog;
  providers: ProviderRegistry;
  files: FileStorage;
  /** How this process links stored files it hands to an app's later nodes. */
  links: OutputLinks;
  events: JobEvents;
  /** Where app jobs accepted before run specs were kept find their app. */
  apps: AppDirectory;
  logger: Logger;
  /** How many jobs run at once in this executor. (Default: 16) */
  concurrency?: number;
  /** How long a lease lasts without renewal; renewed every third of it. (Default: 30000 ms) */
  leaseMs?: number;
  /** Claims a job may get before it is failed as abandoned. (Default: 3) */
  maxAttempts?: number;
  /** How often an idle executor looks for work it was not told about. (Default: 1000 ms) */
  pollMs?: number;
  /** Names this executor in leases. (Default: host:pid:random) */
  owner?: string;
  /** The running-jobs limits of accounts without their own (GENJOBS_DEFAULT_MAX_RUNNING, ..._PER_MODEL). (Default: none) */
  defaultMaxRunning?: number | null;
  defaultMaxRunningPerModel?: number | null;
}

interface Running {
  job: JobRecord;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Claims jobs from the store and runs each through its model's provider.
 *
 * Every job it runs is leased: the lease is renewed while the provider works, and a job whose
 * lease is found gone (cancelled, or taken over after this process stalled) is aborted and its
 * result discarded, since the store refuses changes from a stale lease token anyway.
 */
export class Executor {
  readonly owner: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly running = new Map<string, Running>();
  private readonly perModel = new Map<string, number>();
  private readonly cancelledWhileClaiming = new Set<string>();
  /** Models that remote workers run: never claimed here. */
  private readonly remoteModels: string[];
  private stopping = false;
  private started = false;
  /** True while a claim is on its way back from the store. */
  private claiming = false;
  /**
   * Whether a claim may find what the last one did not: a job was created (or notices may have
   * been missed), the poll came round, a model at its limit here freed a slot, or the last claim
   * was full. Otherwise a finishing job frees a slot without a claim: the queue was empty.
   */
  private mayFindWork = true;
  /** The last claim passed over an account at its limit of running jobs: the next job to end looks again. */
  private heldBack = false;
  private readonly loop: WakeLoop;
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly o: ExecutorOptions) {
    this.concurrency = o.concurrency ?? 16;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.maxAttempts = o.maxAttempts ?? 3;
    this.pollMs = o.pollMs ?? 1_000;
    this.remoteModels = workerModels(o.catalog);
    this.loop = new WakeLoop(() => this.tick(), (err) => o.logger.error({ err }, 'executor: claiming jobs failed'));
    this.owner = o.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Whether the claim loop is turning: started, not stopping, and its last turn ended less than
   * `stallMs` ago (the poll wakes it every `pollMs`, so a loop stuck in a claim stops turning).
   */
  loopHealth(now = Date.now()): { ok: true } | { ok: false; detail: string } {
    if (!this.started) return { ok: false, detail: 'the executor has not started' };
    if (this.stopping) return { ok: false, detail: 'the executor is stopping' };
    const idle = now - this.loop.lastTurnAt;
    const stallMs = Math.max(5 * this.pollMs, 5_000);
    if (idle > stallMs) return { ok: false, detail: `the executor's claim loop has not turned for ${idle} ms` };
    return { ok: true };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe.push(
      this.o.events.onCreated(() => this.wake()),
      this.o.events.onChanged((job) => {
        if (job.status !== 'cancelled') return;
        const running = this.running.get(job.id);
        if (running) running.controller.abort(StopReason.cancelled);
        // A cancel can land while a claim is on its way back from the store: remember it for launch.
        else if (this.claiming) this.cancelledWhileClaiming.add(job.id);
      }),
    );
    // Leases that ran out, jobs whose notice never came: the poll always looks. (Abandoned jobs
    // and deadlines are the maintenance service's.)
    this.pollTimer = setInterval(() => this.wake(), this.pollMs);
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.wake();
  }

  /** Something may be claimable: looks for work now (once more, if a look is under way). */
  wake(): void {
    this.mayFindWork = true;
    if (this.stopping || !this.started) return;
    this.loop.wake();
  }

  /** Claims and launches what fits; true when the batch was full, so more is probably waiting. */
  private async tick(): Promise<boolean> {
    if (!this.mayFindWork) return false;
    const now = Date.now();
    const free = this.concurrency - this.running.size;
    // Full: the next finishing job looks, since mayFindWork stays set.
    if (free <= 0) return false;
    // Cleared before the claim: anything that sets it while the claim is out makes the loop look again.
    this.mayFindWork = false;
    this.heldBack = false;
    this.claiming = true;
    try {
      const full = await this.claimAndLaunch(now, free);
      if (full) this.mayFindWork = true;
      return full;
    } catch (err) {
      this.mayFindWork = true;
      throw err;
    } finally {
      this.claiming = false;
    }
  }

  private async claimAndLaunch(now: number, free: number): Promise<boolean> {
    const excludeModels = [...this.remoteModels, ...[...this.perModel].filter(([id, n]) => n >= this.capOf(id)).map(([id]) => id)];
    const jobs = await this.o.store.jobClaim({
      owner: this.owner, limit: free, leaseMs: this.leaseMs, now, excludeModels, maxAttempts: this.maxAttempts,
      defaultMaxRunning: this.o.defaultMaxRunning ?? null, defaultMaxRunningPerModel: this.o.defaultMaxRunningPerModel ?? null,
      // An account at its limit waits for one of its jobs to end: any finishing job claims again.
      onLimited: () => { this.heldBack = true; },
    });
    const giveBack: JobRecord[] = [];
    for (const job of jobs) {
      const mine = this.running.get(job.id);
      if (mine) {
        // Still running here, but its lease ran out while renewals failed (the database was
        // away longer than a lease) and this claim took it back: the run goes on under the new
        // lease token instead of starting the provider a second time.
        mine.job.leaseToken = job.leaseToken;
        mine.job.attempts = job.attempts;
      } else if (this.stopping || (job.modelId && (this.perModel.get(job.modelId) ?? 0) >= this.capOf(job.modelId))) {
        // More of one model came back than it may run here: give the job back for any executor.
        giveBack.push(job);
      } else if (!this.cancelledWhileClaiming.has(job.id)) {
        this.launch(job);
      }
    }
    this.cancelledWhileClaiming.clear();
    for (const job of giveBack) await this.o.store.jobRelease({ id: job.id, leaseToken: job.leaseToken, now: Date.now() });
    return jobs.length === free;
  }

  private capOf(modelId: string): number {
    return this.o.catalog.get(modelId)?.concurrency ?? this.concurrency;
  }

  private launch(job: JobRecord): void {
    const controller = new AbortController();
    const modelId = job.modelId ?? '';
    this.perModel.set(modelId, (this.perModel.get(modelId) ?? 0) + 1);
    this.o.events.changed(job);
    const entry: Running = { job, controller, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.execute(job, controller)
      .catch((err: unknown) => this.o.logger.error({ err, jobId: job.id }, 'executor: recording a result failed'))
      .finally(() => {
        if (this.running.get(job.id) === entry) this.running.delete(job.id);
        const before = this.perModel.get(modelId) ?? 1;
        this.perModel.set(modelId, before - 1);
        // Its model was at its limit here, so claims skipped its jobs: some may be waiting.
        if (before >= this.capOf(modelId) || this.heldBack) this.mayFindWork = true;
        // A slot is free: worth a claim only if the queue may hold something. A microtask later,
        // so jobs whose outcomes were recorded together free their slots before one claim for all.
        if (this.mayFindWork && !this.stopping) queueMicrotask(() => this.loop.wake());
      });
  }

  /**
   * What running the job means: a model through its provider, or an app node by node, each as
   * fixed when the run was accepted (its run spec).
   */
  private async plan(job: JobRecord): Promise<{ label: string; timeoutMs: number; work: (signal: AbortSignal) => Promise<unknown> }> {
    const { store, catalog, providers, files, apps, links } = this.o;
    if (job.runType === 'app') {
      const spec = appRunSpec(job);
      const definition = spec?.app ?? (job.appId ? (await apps.find(job.appId))?.definition : undefined);
      if (!definition) throw new Error(`App ${job.appId} no longer exists on this server.`);
      const inputs = spec?.inputs ?? (job.inputData as { inputs?: Record<string, unknown> }).inputs ?? {};
      const done = (job.outputData as { node_outputs?: Record<string, Record<string, unknown>> } | null)?.node_outputs ?? {};
      return {
        label: `app ${definition.name}`,
        timeoutMs: appTimeoutMs(definition, catalog),
        work: (signal) => runAppNodes({
          jobId: job.id, app: definition, inputs, done, catalog, providers, files, link: links.link, signal,
          saveProgress: async (outputData) => {
            const saved = (await this.fenced(job, async () => ((await store.jobSetOutput({ id: job.id, leaseToken: job.leaseToken, outputData })) ? true : null))) === true;
            // Listeners (event streams) re-read the job to see the new node outputs.
            if (saved) this.o.events.changed({ id: job.id, status: 'processing', modelId: job.modelId });
            return saved;
          },
        }),
      };
    }
    const model = job.modelId ? catalog.get(job.modelId) : undefined;
    const provider = job.modelId ? providers.forModel(job.modelId) : undefined;
    if (!model || !provider) throw new Error(`Model ${job.modelId} is no longer in this server's catalog.`);
    const input = modelRunInput(job, catalog)!;
    return {
      label: model.id,
      timeoutMs: model.timeoutMs,
      work: (signal) => provider.run({ jobId: job.id, model, input, signal, files }),
    };
  }

  private async execute(job: JobRecord, controller: AbortController): Promise<void> {
    const { store, events, logger } = this.o;
    const fail = async (message: string) => {
      const failed = await this.fenced(job, () => store.jobFail({ id: job.id, leaseToken: job.leaseToken, errorMessage: message, now: Date.now() }));
      if (failed) events.changed(failed);
      logger.debug({ jobId: job.id, attempt: job.attempts, recorded: failed !== null, status: 'failed' }, 'executor: job finished');
    };
    let plan: Awaited<ReturnType<Executor['plan']>>;
    try {
      plan = await this.plan(job);
    } catch (err) {
      return fail((err as Error).message);
    }

    const timer = setTimeout(() => controller.abort(StopReason.timedOut), plan.timeoutMs);
    try {
      const output = await runWithSignal(controller.signal, () => plan.work(controller.signal));
      const completed = await this.fenced(job, () => store.jobComplete({ id: job.id, leaseToken: job.leaseToken, outputData: output, now: Date.now() }));
      if (completed) events.changed(completed);
      logger.debug({ jobId: job.id, attempt: job.attempts, recorded: completed !== null, status: 'completed' }, 'executor: job finished');
    } catch (err) {
      const reason: unknown = controller.signal.reason;
      if (reason === StopReason.timedOut) return fail(`${plan.label} timed out after ${plan.timeoutMs} ms.`);
      if (reason === StopReason.shutdown) {
        await this.persist(() => store.jobRelease({ id: job.id, leaseToken: job.leaseToken, now: Date.now() }));
        return;
      }
      // Cancelled, or the lease was lost: the store already holds the job's fate.
      if (reason === StopReason.cancelled || reason === StopReason.leaseLost) {
        logger.debug({ jobId: job.id, reason: (reason as Error).message }, 'executor: job stopped');
        return;
      }
      logger.info({ jobId: job.id, err }, 'executor: provider failed');
      return fail(err instanceof Error && err.message ? err.message : `${plan.label} failed without a message.`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Retries a write of a job's outcome while the database cannot be reached, for up to one
   * lease: past that another executor may hold the job, and the store would refuse it anyway.
   */
  private async persist<T>(write: () => Promise<T>): Promise<T> {
    const until = Date.now() + this.leaseMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || Date.now() + delay > until) throw err;
        await sleep(delay);
      }
    }
  }

  /**
   * Writes a job's outcome under its lease token. A write refused because this executor's own
   * claim took the job back while it was on its way (the token changed under it) is made again
   * under the new token.
   */
  private async fenced<T>(job: JobRecord, write: () => Promise<T | null>): Promise<T | null> {
    for (;;) {
      const token = job.leaseToken;
      const result = await this.persist(write);
      if (result !== null || job.leaseToken === token) return result;
    }
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    try {
      const held = new Set(await this.o.store.jobLeaseExtend({ owner: this.owner, ids, leaseMs: this.leaseMs, now: Date.now() }));
      for (const id of ids) {
        // Not held any more: cancelled through another process, or taken over after a stall.
        if (!held.has(id)) this.running.get(id)?.controller.abort(StopReason.leaseLost);
      }
    } catch (err) {
      this.o.logger.error({ err }, 'executor: renewing leases failed');
    }
  }

  /**
   * Stops taking work, lets running jobs finish for up to `graceMs`, then aborts the rest and
   * gives them back to the queue, so the next executor runs them without counting an attempt.
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.loop.stop();
    clearInterval(this.pollTimer);
    for (const off of this.unsubscribe) off();
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
    await Promise.race([all(), graceOver]);
    clearTimeout(timer);
    for (const r of this.running.values()) r.controller.abort(StopReason.shutdown);
    await all();
    clearInterval(this.renewTimer);
  }
}
