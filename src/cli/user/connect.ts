import { InvalidArgumentError, type Command } from 'commander';
import { GenJobs } from '@genjobs/sdk';
import { CliExit, EXIT, UsageError } from '../exit.js';

/** The options every user command takes, beside GENJOBS_BASE_URL and GENJOBS_API_KEY. */
export interface ConnectionOptions {
  baseUrl?: string;
  apiKey?: string;
}

/** A client for the server and key the command line or the environment names. */
export function connect(command: Command, env: NodeJS.ProcessEnv = process.env): GenJobs {
  const o = command.optsWithGlobals<ConnectionOptions>();
  const apiKey = o.apiKey ?? env.GENJOBS_API_KEY;
  if (!apiKey) {
    throw new CliExit('no API key: set GENJOBS_API_KEY (or pass --api-key). An operator creates one with `genjobs keys create <userId>`.', EXIT.auth);
  }
  const baseUrl = o.baseUrl ?? env.GENJOBS_BASE_URL ?? 'http://localhost:8080';
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new UsageError(`"${baseUrl}" is not a URL: set GENJOBS_BASE_URL (or --base-url) to the server, such as http://localhost:8080`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`GENJOBS_BASE_URL must be an http:// or https:// URL, not "${baseUrl}"`);
  return new GenJobs({ baseUrl, apiKey });
}

/** Adds the connection flags to a command. */
export function withConnection(command: Command): Command {
  return command
    .option('--base-url <url>', 'the genjobs server (default: GENJOBS_BASE_URL, else http://localhost:8080)')
    .option('--api-key <key>', 'an API key (default: GENJOBS_API_KEY)');
}

/** `--timeout`: seconds, or a duration such as 90s, 5m, 1h30m; returned in ms. */
export function duration(value: string): number {
  const plain = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : NaN;
  if (!Number.isNaN(plain)) return plain;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (!m || value === '') throw new InvalidArgumentError('write seconds or a duration such as 90s, 5m or 1h30m.');
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** A whole number of at least 1, for `--limit`. */
export function positiveInt(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}
