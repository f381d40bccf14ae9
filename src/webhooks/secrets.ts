import type { Store } from '../store/store.js';
import { generateWebhookSecret } from './signing.js';

/** The secrets that sign an account's deliveries now: the current one, then the previous one during its grace. */
export async function signingSecrets(store: Store, userId: string, now: number): Promise<string[]> {
  let s = await store.userWebhookSecrets({ userId });
  if (!s?.current) s = await store.userSetWebhookSecret({ userId, secret: generateWebhookSecret(), previousUntil: null, onlyIfUnset: true });
  if (!s?.current) throw new Error(`account ${userId} has no webhook secret`);
  return s.previous && s.previousUntil !== null && s.previousUntil > now ? [s.current, s.previous] : [s.current];
}

/** GET /webhooks/secret: the account's secret, made on first use. */
export async function getWebhookSecret(store: Store, userId: string, now = Date.now()): Promise<Record<string, unknown>> {
  await signingSecrets(store, userId, now);
  const s = (await store.userWebhookSecrets({ userId }))!;
  const grace = s.previous && s.previousUntil !== null && s.previousUntil > now;
  return { object: 'webhook_secret', secret: s.current, previous_secret_expires_at: grace ? new Date(s.previousUntil!).toISOString() : null };
}

/** POST /webhooks/secret/rotate: a new secret; the old one keeps signing too for `graceMs`. */
export async function rotateWebhookSecret(store: Store, userId: string, graceMs: number, now = Date.now()): Promise<Record<string, unknown>> {
  await signingSecrets(store, userId, now);
  await store.userSetWebhookSecret({ userId, secret: generateWebhookSecret(), previousUntil: graceMs > 0 ? now + graceMs : null, onlyIfUnset: false });
  return getWebhookSecret(store, userId, now);
}
