import { randomBytes } from 'node:crypto';
import { hashApiKey } from '../accounts/api-keys.js';

export const WORKER_TOKEN_PREFIX = 'wk_live_';

/** A new worker token (256 random bits) and the hash that is stored instead of it. */
export function generateWorkerToken(): { token: string; tokenHash: string } {
  const token = WORKER_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, tokenHash: hashApiKey(token) };
}
