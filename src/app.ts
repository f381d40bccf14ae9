import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type Config } from './config/config.js';
import { CatalogError, loadCatalog, type Catalog } from './catalog/load.js';
import { createFileStorage, verifyFileStorage } from './files/create.js';
import { fileLinks } from './files/links.js';
import type { FileStorage } from './files/storage.js';
import type { OutputLinks } from './jobs/links.js';
import type { DescribeFile } from './jobs/output-rewrites.js';
import { createHash } from 'node:crypto';
import { RecentUploads } from './workers/outputs.js';
import { rewriteOldOutputsChore } from './maintenance/output-rewrites.js';
import { CallerCache } from './accounts/caller-cache.js';
import { FinalJobCache } from './jobs/final-jobs.js';
import { JobEvents } from './jobs/events.js';
import type { JobsDeps } from './jobs/deps.js';
import type { RunsDeps } from './runs/deps.js';
import { ProviderRegistry } from './providers/registry.js';
import { MediaPool } from './providers/builtin/media-pool.js';
import { Executor } from './executor/executor.js';
import { buildServer } from './api/server.js';
import { checkReadiness, type Readiness } from './health/readiness.js';
import { buildOpsServer } from './api/ops-server.js';
import { createLogger } from './observability/logger.js';
import { JobLog } from './observability/job-log.js';
import { Metrics } from './observability/metrics.js';
import { registerQueueProbe } from './observability/queue-probe.js';
import { openStore } from './store/open.js';
import { AppDirectory } from './apps/directory.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { MaintenanceService } from './maintenance/service.js';
import { cancelJobsPastDeadline, failAbandonedJobs, pruneRateLimitCounts } from './maintenance/chores.js';
import { deleteOldJobs, retentionEnabled } from './maintenance/retention.js';
import { sweepOrphanFiles } from './maintenance/orphan-files.js';
import { cancelRefund } from './jobs/cancel-job.js';
import type { Store } from './store/store.js';

/**
 * The links of this process for stored outputs (GENJOBS_FILE_LINKS): served at its own PUBLIC_URL,
 * the same for the life of the process, or presigned afresh at each read.
 */
function outputLinks(config: Config, storage: FileStorage): OutputLinks {
  const links = fileLinks(config, storage);
  return {
    // References of rows migrated from URLs may lack what storage did not know; a link needs only the key.
    link: (ref) => links.link({ key: ref.key, size: ref.size ?? 0, contentType: ref.contentType ?? 'application/octet-stream', sha256: ref.sha256 ?? '' }),
    stable: config.fileLinks !== 'presigned',
  };
}

/** What storage holds under a key, checksum included (read as a stream), for outputs stored before references. */
function describeStoredFile(storage: FileStorage): DescribeFile {
  return async (key) => {
    const file = await storage.open(key);
    if (!file) return null;
    const hash = createHash('sha256');
    for await (const chunk of file.body) hash.update(chunk as Buffer);
    return { key, size: file.size, contentType: file.contentType, sha256: hash.digest('hex') };
  };
}

export interface App {
  config: Config;
  /** This process's Prometheus metrics (served at GET /metrics). */
  metrics: Metrics;
  logger: Logger;
  store: Store;
  catalog: Catalog;
  events: JobEvents;
  jobs: JobsDeps;
  /** `jobs` and the app directory: what the run use cases need. */
  runs: RunsDeps;
  server: FastifyInstance;
  executor: Executor | null;
  webhooks: WebhookDispatcher | null;
  maintenance: MaintenanceService | null;
  /** The worker threads of the built-in models' rendering; started on the first such job. */
  media: MediaPool;
  /** Starts the work that runs beside the HTTP server: the executor, webhook delivery and maintenance, where enabled. */
  startBackground(): void;
  /** Starts the background work and listens; resolves with the base URL. */
  listen(): Promise<string>;
  /** The checks of `GET /readyz`. */
  readiness(): Promise<Readiness>;
  /**
   * For a process that serves no API (`genjobs executor`): `GET /healthz`, `/readyz` and `/metrics`
   * alone on `port` (src/api/ops-server.ts), closed with the rest; resolves with the base URL.
   */
  listenOps(port: number, host: string): Promise<string>;
  /** Graceful stop: no new requests, running jobs get the grace period, then the store closes. */
  close(): Promise<void>;
}

/** Wires one genjobs process together from its configuration. */
export async function createApp(config: Config, opts: { logger?: Logger; store?: Store } = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const catalog = loadCatalog(config.catalogPath);
  // GENJOBS_STORAGE: the local folder or an S3 bucket, checked before anything is opened, so a bad bucket stops the start.
  const storage = await createFileStorage(config);
  await verifyFileStorage(storage).catch((err: unknown) => {
    throw new ConfigError((err as Error).message);
  });
  // No thread starts here: the pool starts its threads on the first task, so a failed start leaks none.
  const media = new MediaPool(config.mediaThreads);
  let providers: ProviderRegistry;
  try {
    providers = new ProviderRegistry(catalog.models, {}, media);
  } catch (err) {
    // A provider entry that cannot be built (unknown type, bad options) is a catalog mistake.
    throw new CatalogError(`${config.catalogPath}: ${(err as Error).message}`);
  }
  const store = opts.store ?? await openStore(config, (err) => logger.warn({ err }, 'store: connection trouble in the background'));
  const events = new JobEvents();
  const jobLog = new JobLog(logger);
  const detachJobLog = jobLog.attach(events);
  const metrics = new Metrics();
  const detachMetrics = metrics.attach(events, () => jobLog.isRelaying);
  registerQueueProbe(metrics, store);
  // Changes made by other processes (a shared store) reach this process's listeners too.
  const unsubscribe = await store.subscribe((notice) => jobLog.relay(() => {
    if (notice === null || notice.status === 'pending') events.created(notice ?? undefined);
    else events.changed(notice);
  }));
  const apps = new AppDirectory(catalog, store);
  // Outputs are stored as references; every answer, event and webhook links them here and now.
  const links = outputLinks(config, storage);
  const jobs: JobsDeps = {
    store, catalog, events, links, syncWaitMs: config.syncWaitMs, cancelRefundPercent: config.cancelRefundPercent, finalJobs: new FinalJobCache(config.finalJobCacheSize),
  };
  const runs: RunsDeps = { ...jobs, apps, webhookAllowPrivate: config.webhookAllowPrivate };
  const lifecycle = { draining: false };
  const workers = {
    jobs, files: storage, publicUrl: config.publicUrl, uploads: new RecentUploads(), leaseMs: config.workerLeaseMs, maxAttempts: config.maxAttempts,
    defaultMaxRunning: config.defaultMaxRunning, defaultMaxRunningPerModel: config.defaultMaxRunningPerModel,
  };
  // The executor is made below; readiness is asked only once the server answers requests.
  const readiness = () => checkReadiness({ store, executor, lifecycle });
  const server = await buildServer({ jobs, runs, apps, config, files: storage, workers, lifecycle, callers: new CallerCache(config.authCacheMs), readiness, metrics }, logger);
  const executor = config.executorEnabled
    ? new Executor({
      store, catalog, providers, files: storage, links, events, apps, logger,
      concurrency: config.executorConcurrency, leaseMs: config.leaseMs, maxAttempts: config.maxAttempts, pollMs: config.pollMs,
      defaultMaxRunning: config.defaultMaxRunning, defaultMaxRunningPerModel: config.defaultMaxRunningPerModel,
    })
    : null;

  // Webhooks are sent where jobs are executed: those processes see the terminal moves first.
  const webhooks = config.executorEnabled && config.webhooksEnabled
    ? new WebhookDispatcher({
      store, events, logger, links, allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs,
      backoffMs: config.webhookBackoffMs, retryForMs: config.webhookRetryForMs, pollMs: config.pollMs,
      concurrency: config.webhookConcurrency,
      onAttempt: (outcome) => metrics.webhookAttempt(outcome),
    })
    : null;

  // Every role needs the chores done somewhere (an API process serving only workers, too); the
  // processes that take part elect one to do them.
  const maintenance = config.maintenanceEnabled
    ? new MaintenanceService({
      store, logger, tickMs: config.pollMs,
      chores: [
        failAbandonedJobs({ store, events, logger }, { maxAttempts: config.maxAttempts, everyMs: config.pollMs }),
        cancelJobsPastDeadline({ store, events }, { refundFor: cancelRefund(config.cancelRefundPercent), everyMs: config.pollMs }),
        pruneRateLimitCounts({ store }, { everyMs: 60_000 }),
        rewriteOldOutputsChore({ store, describe: describeStoredFile(storage) }, { everyMs: 60_000 }),
        ...(retentionEnabled(config.retainMs) ? [deleteOldJobs({
          store, files: storage, logger,
          onDeleted: (kind, n) => metrics.retentionDeleted.inc({ kind }, n),
          onJobsDeleted: (ids) => jobs.finalJobs?.forget(ids),
        }, {
          retain: config.retainMs, batchSize: config.retentionBatchSize, everyMs: config.retentionEveryMs, pauseMs: config.retentionPauseMs,
        })] : []),
        // GENJOBS_ORPHAN_FILE_AGE: files no job names, older than that, a few pages every ten minutes.
        ...(config.orphanFileAgeMs !== null ? [sweepOrphanFiles({
          store, files: storage, logger, onDeleted: (n) => metrics.retentionDeleted.inc({ kind: 'orphan_files' }, n),
        }, { minAgeMs: config.orphanFileAgeMs, everyMs: 600_000 })] : []),
      ],
    })
    : null;

  let closing: Promise<void> | null = null;
  let started = false;
  let ops: FastifyInstance | null = null;
  const startBackground = () => {
    if (started) return;
    started = true;
    executor?.start();
    webhooks?.start();
    maintenance?.start();
  };
  return {
    config, metrics, logger, store, catalog, events, jobs, runs, server, executor, webhooks, maintenance, media, startBackground,
    async listen() {
      startBackground();
      return server.listen({ port: config.port, host: config.host });
    },
    readiness,
    async listenOps(port, host) {
      ops ??= await buildOpsServer({ readiness, metrics, metricsToken: config.metricsToken }, logger);
      return ops.listen({ port, host });
    },
    close() {
      closing ??= (async () => {
        // New requests get 503 from now on (a load balancer moves on); running jobs get their grace.
        lifecycle.draining = true;
        await executor?.stop(config.shutdownGraceMs);
        // The executor aborted what outlived the grace period; tasks still on a thread end here.
        await media.close();
        await webhooks?.stop();
        await maintenance?.stop();
        events.closing();
        await server.close();
        await ops?.close();
        await unsubscribe();
        detachJobLog();
        detachMetrics();
        await store.close();
      })();
      return closing;
    },
  };
}
