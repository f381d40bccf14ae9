import type { Config } from '../config/config.js';
import { createApp } from '../app.js';

/** Runs the server until SIGTERM or SIGINT, then shuts down gracefully (a second signal forces it). */
export async function serve(config: Config): Promise<void> {
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
  const url = await app.listen();
  app.logger.info({
    url, publicUrl: config.publicUrl, store: app.store.dialect, dataDir: config.dataDir,
    executor: app.executor ? app.executor.owner : 'off', admin: config.adminToken ? 'on' : 'off',
  }, 'genjobs is listening');
}
