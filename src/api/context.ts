import type { Config } from '../config/config.js';
import type { FileStorage } from '../files/storage.js';
import type { JobsDeps } from '../jobs/deps.js';
import type { RunsDeps } from '../runs/deps.js';
import type { AppDirectory } from '../apps/directory.js';
import type { Caller } from '../accounts/caller.js';
import type { CallerCache } from '../accounts/caller-cache.js';
import type { WorkerDeps } from '../workers/protocol.js';
import type { Readiness } from '../health/readiness.js';
import type { Metrics } from '../observability/metrics.js';

/** What the routes need, given to each route plugin. */
export interface ApiContext {
  jobs: JobsDeps;
  /** The run use cases' dependencies: `jobs` and where apps come from. */
  runs: RunsDeps;
  apps: AppDirectory;
  config: Config;
  /** Where output files are kept (GENJOBS_STORAGE); `/files/` serves them from it. */
  files: FileStorage;
  /** The worker protocol's dependencies. */
  workers: WorkerDeps;
  /** Set when the process starts shutting down: new requests get 503 with Retry-After. */
  lifecycle: { draining: boolean };
  /** API keys found recently; the admin API clears it at every change. */
  callers: CallerCache;
  /** The checks of `GET /readyz`. */
  readiness: () => Promise<Readiness>;
  /** This process's Prometheus metrics. */
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated account and key of a `/api/v1` request. */
    caller: Caller;
  }
}
