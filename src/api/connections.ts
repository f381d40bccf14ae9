import fs from 'node:fs';
import type { Server, ServerOptions } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';

/**
 * How long a connection may hold the server without being useful: these bound what idle or
 * slow sockets can take (file descriptors, memory) from everyone else.
 */
export function connectionOptions(config: Config): { keepAliveTimeout: number; requestTimeout: number; http: ServerOptions } {
  return {
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // Node enforces both timeouts only when it checks its connections (every 30 s by default):
      // check often enough that a socket is gone soon after its time is up.
      connectionsCheckingInterval: Math.min(1_000, Math.max(25, Math.round(config.headersTimeoutMs / 4))),
    },
  };
}

/** Descriptors kept for everything that is not a client connection: database, files, threads, logs. */
export const RESERVED_DESCRIPTORS = 128;

/** The soft limit on open files from `/proc/self/limits` (Linux), or null when unknown or unlimited. */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || !/^\d+$/.test(m[1]!)) return null;
  return Number(m[1]);
}

/**
 * The connection cap that fits the open-file limit: each connection is a descriptor, and a
 * process out of descriptors can accept nothing, not even a health check. Says why when the
 * configured cap had to be lowered.
 */
export function connectionCap(config: Pick<Config, 'maxConnections' | 'databasePoolSize'>, limit: number | null): { maxConnections: number; warning: string | null } {
  if (limit === null) return { maxConnections: config.maxConnections, warning: null };
  const reserved = RESERVED_DESCRIPTORS + config.databasePoolSize;
  const fits = Math.max(1, limit - reserved);
  if (config.maxConnections <= fits) return { maxConnections: config.maxConnections, warning: null };
  return {
    maxConnections: fits,
    warning: `The open-file limit of this process is ${limit} (ulimit -n), too low for GENJOBS_MAX_CONNECTIONS=${config.maxConnections}: `
      + `genjobs accepts at most ${fits} connections at once (${reserved} descriptors are kept for the database, files and threads). `
      + `Raise the limit to at least ${config.maxConnections + reserved} (ulimit -n, LimitNOFILE= in a systemd unit, --ulimit nofile= in Docker), or set GENJOBS_MAX_CONNECTIONS lower to silence this warning.`,
  };
}

/** Caps the server's connections (beyond the cap, new ones are closed at once) and warns when the open-file limit lowered the cap. */
export function capConnections(server: Pick<Server, 'maxConnections'>, config: Config, logger: Logger, limit = openFileLimit()): void {
  const { maxConnections, warning } = connectionCap(config, limit);
  server.maxConnections = maxConnections;
  if (warning) logger.warn({ openFileLimit: limit, maxConnections }, warning);
}
