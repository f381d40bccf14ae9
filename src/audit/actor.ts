import { createHash } from 'node:crypto';
import os from 'node:os';

/**
 * Who an audit entry names. The admin API has one credential, GENJOBS_ADMIN_TOKEN, so its actor
 * is `admin-token:` and the first 8 hex characters of the token's SHA-256: enough to tell a
 * rotated token from the one before, far too little to find the token. The CLI works on the
 * store directly, with no token: its actor is `cli:` and the operating-system user who ran it.
 */
export function adminTokenActor(token: string): string {
  return `admin-token:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

export function cliActor(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `cli:${user}`;
}
