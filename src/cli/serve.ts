import type { Config } from '../config/config.js';
import { createApp } from '../app.js';

export type Role = 'serve' | 'executor';

/**
 * Runs one genjobs process until SIGTERM or SIGINT, then shuts down gracefully (a second
 * signal forces it). `serve` listens for HTTP (and runs the executor unless it is off);
 * `executor` only runs jobs, and serves /healthz, /readyz and /metrics when GENJOBS_EXECUTOR_PORT is set.
 */
export async function runProcess(config: Config, role: Role): Promise<void> {
  const app = await createApp(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      app.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing running jobs');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const described = { role, store: app.store.dialect, executor: app.executor ? app.executor.owner : 'off' };
  if (role === 'executor') {
    if (!app.executor) throw new Error('genjobs executor was started with GENJOBS_EXECUTOR=false');
    // Probes and metrics only, where asked for: an executor serves no API. A port in use stops
    // the start before any job is claimed.
    const url = config.executorPort === null ? null : await app.listenOps(config.executorPort, config.host);
    app.startBackground();
    app.logger.info({ ...described, ...(url ? { url } : {}) }, 'genjobs executor is running');
    return;
  }
  const url = await app.listen();
  app.logger.info({ ...described, url, publicUrl: config.publicUrl, dataDir: config.dataDir, admin: config.adminToken ? 'on' : 'off' }, 'genjobs is listening');
}
