import { CommanderError } from 'commander';
import {
  ApiError as SdkApiError, AuthenticationError, ConnectionError, PermissionDeniedError, WaitTimeoutError,
} from '@genjobs/sdk';
import { ConfigError } from '../config/config.js';
import { CatalogError } from '../catalog/load.js';
import { ApiError } from '../errors/api-error.js';

/**
 * The exit codes of `genjobs`, one per outcome a script may want to tell apart (docs/cli.md
 * lists them). A command that waits for a job exits with the job's outcome.
 */
export const EXIT = {
  /** Done; a job waited for completed. */
  ok: 0,
  /** The server (or the store, for operator commands) refused or failed the request. */
  error: 1,
  /** The command line or the configuration is wrong. */
  usage: 2,
  /** No key, or the key was refused (401) or lacks access (403). */
  auth: 3,
  /** The job waited for failed. */
  failed: 4,
  /** The job waited for was cancelled. */
  cancelled: 5,
  /** `--timeout` passed before the job ended. */
  timedOut: 6,
  /** The server could not be reached (refused, unresolvable, no answer in time). */
  unreachable: 7,
} as const;

/** A mistake on the command line found by our own checks. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Ends the command with `exitCode` and one line, such as a job that ended other than completed. */
export class CliExit extends Error {
  override name = 'CliExit';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** The one line and the exit code for an error that ends the command. Never a stack trace. */
export function describeFailure(err: unknown): { line: string | null; code: number } {
  if (err instanceof CommanderError) {
    // Commander has printed its own message (or the help) already.
    const quiet = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    return { line: null, code: quiet ? err.exitCode : EXIT.usage };
  }
  if (err instanceof CliExit) return { line: err.message, code: err.exitCode };
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof CatalogError) return { line: err.message, code: EXIT.usage };
  if (err instanceof WaitTimeoutError) return { line: `${err.message}; it goes on running (genjobs jobs watch ${err.job.id})`, code: EXIT.timedOut };
  if (err instanceof ConnectionError) return { line: `${err.message}. Is the server running, and GENJOBS_BASE_URL (or --base-url) right?`, code: EXIT.unreachable };
  if (err instanceof AuthenticationError || err instanceof PermissionDeniedError) {
    return { line: `${err.message}${err instanceof AuthenticationError ? ': set GENJOBS_API_KEY (or --api-key) to a valid key' : ''}`, code: EXIT.auth };
  }
  if (err instanceof SdkApiError && err.status === 400) return { line: err.message, code: EXIT.usage };
  if (err instanceof SdkApiError) return { line: `${err.message}${err.code ? ` (${err.code})` : ''}`, code: EXIT.error };
  if (err instanceof ApiError) return { line: err.message, code: err.status === 400 ? EXIT.usage : EXIT.error };
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') {
    return { line: `port ${e.port ?? ''} on ${e.address ?? 'this host'} is already in use: stop the process using it, or set PORT to another port.`, code: EXIT.error };
  }
  if (e?.code === 'EACCES' && e.port !== undefined) return { line: `no permission to listen on port ${e.port}: use a port above 1023 (PORT).`, code: EXIT.error };
  return { line: err instanceof Error ? err.message : String(err), code: EXIT.error };
}
