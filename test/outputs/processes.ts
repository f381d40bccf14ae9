import type { TestContext } from 'node:test';
import pino from 'pino';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Store } from '../../src/store/store.js';
import { ADMIN_TOKEN, type TestApp } from '../helpers/app.js';

/** The store of `app`, for a second app: its own close leaves the store open (the first app closes it). */
const borrowed = (store: Store): Store => Object.create(store, { close: { value: async () => {} } }) as Store;

/** A second process on the same store and data folder, at PUBLIC_URL B: it runs nothing, it only answers. */
export async function readerAt(t: TestContext, first: TestApp, publicUrl: string, env: Record<string, string> = {}) {
  const config = loadConfig({
    DATA_DIR: first.dataDir, PUBLIC_URL: publicUrl, GENJOBS_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', GENJOBS_POLL_MS: '50',
    GENJOBS_EXECUTOR: 'false', GENJOBS_MAINTENANCE: 'false', ...env,
  });
  const app = await createApp(config, { logger: pino({ level: 'silent' }), store: borrowed(first.store) });
  await app.server.ready();
  t.after(() => app.close());
  return app;
}

