import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { freshStore } from './store.js';
import { waitBound } from './waits.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp extends App {
  dataDir: string;
  /** Creates an account with `credits` and returns it with a fresh API key. */
  account(p?: { credits?: number; rateLimitPerMinute?: number; apiAccess?: boolean }): Promise<{ userId: string; key: string; auth: { authorization: string } }>;
  /** Closes the app and removes its data folder. */
  dispose(): Promise<void>;
}

/** An app on a fresh store and a temporary DATA_DIR; `env` overrides configuration variables, `opts.logger` the silent logger. */
export async function testApp(env: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir, PUBLIC_URL: 'http://genjobs.test', GENJOBS_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent',
    GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true',
    GENJOBS_POLL_MS: '50', ...env,
  });
  const app = await createApp(config, { logger: opts.logger ?? pino({ level: 'silent' }), store: await freshStore() });
  await app.server.ready();
  app.startBackground();
  return Object.assign(app, {
    dataDir,
    async account(p: { credits?: number; rateLimitPerMinute?: number; apiAccess?: boolean } = {}) {
      const { createUser, createApiKey } = await import('../../src/accounts/admin.js');
      const user = await createUser(app.store, { credits: p.credits ?? 1000, api_access: p.apiAccess ?? true });
      const { key } = await createApiKey(app.store, user.id, { rate_limit_per_minute: p.rateLimitPerMinute ?? 100_000 }, { rateLimitPerMinute: 60 });
      return { userId: user.id, key, auth: { authorization: `Bearer ${key}` } };
    },
    async dispose() {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Polls until `check` returns a value other than undefined, or fails after `ms` (raised to
 * MIN_WAIT_MS for a loaded machine, see waits.ts).
 */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, wanted = 5000, what = 'condition'): Promise<T> {
  const ms = waitBound(wanted);
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
