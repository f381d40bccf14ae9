import { hash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'sk_live_';
/** Characters of a key shown in listings: `sk_live_` and four more. */
const SHOWN = KEY_PREFIX.length + 4;

/** A new API key: `sk_live_` and 43 base64url characters (256 random bits). */
export function generateApiKey(): { key: string; keyPrefix: string; keyHash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, keyPrefix: key.slice(0, SHOWN), keyHash: hashApiKey(key) };
}

/** Keys are stored only as this hash. A fast hash is right here: the key has 256 random bits. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}
