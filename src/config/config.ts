import { availableParallelism } from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import ms from 'ms';
import { defaultCatalogPath } from '../paths.js';
import type { S3Config } from '../types/s3-config.js';

/** Everything genjobs reads from its environment, parsed and checked once at start. */
export interface Config {
  /** TCP port of the HTTP server. (Default: 8080) */
  port: number;
  /** Address to listen on. (Default: 0.0.0.0) */
  host: string;
  /** Where `genjobs executor` serves /healthz, /readyz and /metrics (on HOST); null: it serves no HTTP. (Default: unset) */
  executorPort: number | null;
  /** Where the SQLite database and output files live. (Default: ./data) */
  dataDir: string;
  /** PostgreSQL to share between processes; without it the embedded SQLite store is used. (Default: unset) */
  databaseUrl: string | null;
  /** Schema for genjobs' tables in that database. (Default: the connection's search_path, usually public) */
  databaseSchema: string | null;
  /** Connections each process keeps to PostgreSQL. (Default: 10) */
  databasePoolSize: number;
  /** Base of the absolute URLs of output files. (Default: http://localhost:PORT) */
  publicUrl: string;
  /** Bearer token of the admin API; the admin API is off when unset. (Default: unset) */
  adminToken: string | null;
  /** Bearer token of `GET /metrics`; the route is open when unset. (Default: unset) */
  metricsToken: string | null;
  /**
   * Proxies whose `X-Forwarded-For` is believed: addresses, CIDR ranges or `loopback`,
   * `linklocal`, `uniquelocal`. The client's address (recorded in the audit log) is then the
   * last one those proxies were handed. Empty: the connection's own address. (Default: empty)
   */
  trustedProxies: string[];
  /** The model catalog file. (Default: the bundled catalog/models.json) */
  catalogPath: string;
  /** Percent of the charge refunded when a processing job is cancelled; pending jobs always get 100. (Default: 100) */
  cancelRefundPercent: number;
  /** Whether this process runs the executor. (Default: true) */
  executorEnabled: boolean;
  /** How many jobs this process's executor runs at once. (Default: 16) */
  executorConcurrency: number;
  /** How long a lease lasts without renewal; a dead executor's jobs are taken over after it. (Default: 30000 ms) */
  leaseMs: number;
  /** How many executor claims a job may get before it is failed and refunded as abandoned. (Default: 3) */
  maxAttempts: number;
  /** How often an idle executor looks for work it was not told about, and the maintenance service for due chores. (Default: 1000 ms) */
  pollMs: number;
  /** Whether this process stands for the maintenance service's leadership (one process sweeps at a time). (Default: true) */
  maintenanceEnabled: boolean;
  /** How long SIGTERM waits for running jobs before releasing them. (Default: 30000 ms) */
  shutdownGraceMs: number;
  /** Lease of a job claimed by a remote worker; its heartbeats renew it. (Default: 30000 ms) */
  workerLeaseMs: number;
  /** Largest output file a worker may upload. (Default: 536870912 bytes) */
  workerUploadLimitBytes: number;
  /** Whether this process delivers webhooks; it does wherever the executor runs. (Default: true) */
  webhooksEnabled: boolean;
  /** Whether the HTTP server serves the web dashboard at `/`. (Default: true) */
  dashboardEnabled: boolean;
  /** Allow webhook targets on loopback, private, link-local or metadata addresses. (Default: false) */
  webhookAllowPrivate: boolean;
  /** Time one delivery attempt may take. (Default: 10000 ms) */
  webhookTimeoutMs: number;
  /** First retry delay of a failed delivery; doubled each attempt, with jitter, up to 6 h. (Default: 5000 ms) */
  webhookBackoffMs: number;
  /** How long a delivery is retried before it is given up. (Default: 259200000 ms, three days) */
  webhookRetryForMs: number;
  /** After a rotation, how long the previous secret keeps signing. (Default: 86400000 ms) */
  webhookSecretGraceMs: number;
  /** Webhook deliveries one process sends at once; deliveries/s is at most this over a receiver's answer time. (Default: 16) */
  webhookConcurrency: number;
  /** How long a run of a synchronous model waits for its result before answering 202. (Default: 60000 ms) */
  syncWaitMs: number;
  /** `rate_limit_per_minute` of keys created without one. (Default: 60) */
  defaultRateLimitPerMinute: number;
  /** How long an API key found once is trusted without a store lookup; 0: every request looks it up. */
  authCacheMs: number;
  /** How many final jobs (terminal, no webhook owed) are kept in memory for GET /jobs/:id; 0: none. */
  finalJobCacheSize: number;
  /** Largest accepted request body. (Default: 1048576 bytes) */
  bodyLimitBytes: number;
  /** Worker threads that render and encode the built-in models' files. (Default: CPU cores - 1, at least 1) */
  mediaThreads: number;
  /** A request head not complete this long after the connection (or the previous answer) closes the socket. (Default: 10000 ms) */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, head and body. (Default: 300000 ms) */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open after an answer; above the 60 s idle timeout of common load balancers. (Default: 72000 ms) */
  keepAliveTimeoutMs: number;
  /** Connections the server holds at once; lowered to fit the open-file limit. (Default: 10000) */
  maxConnections: number;
  /** Event streams one API key may hold open in this process. (Default: 20) */
  streamsPerKey: number;
  /** Event streams this process holds open, all keys together. (Default: 2000) */
  streamsMax: number;
  /** Where output files are kept: `local` (DATA_DIR/files) or `s3` (GENJOBS_STORAGE). (Default: local) */
  storage: 'local' | 's3';
  /** The bucket and its access when `storage` is `s3`; null otherwise. */
  s3: S3Config | null;
  /** How links to output files are made: `served` by this process at PUBLIC_URL/files/, or `presigned` S3 URLs. (Default: served) */
  fileLinks: 'served' | 'presigned';
  /** Lifetime of a presigned link, signed afresh each time a job is read. (Default: 3600 s) */
  presignSeconds: number;
  /** Retention: how long finished jobs are kept, per final status; null keeps them for ever. (Default: null for each) */
  retainMs: { completed: number | null; failed: number | null; cancelled: number | null };
  /** Jobs deleted per retention transaction. (Default: 500) */
  retentionBatchSize: number;
  /** How often the retention chore runs. (Default: 60000 ms) */
  retentionEveryMs: number;
  /** Least pause between two retention batches (longer after a longer batch), so other work gets the store in between. (Default: 20 ms) */
  retentionPauseMs: number;
  /** Orphaned output files (named by no job) older than this are removed by the maintenance chore; null: never (GENJOBS_ORPHAN_FILE_AGE). (Default: null) */
  orphanFileAgeMs: number | null;
  /** pino log level. (Default: info) */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Fair scheduler: the most jobs an account without its own max_running may run at once. (Default: null, unlimited) */
  defaultMaxRunning: number | null;
  /** Fair scheduler: the same per model, for accounts without their own max_running_per_model. (Default: null, unlimited) */
  defaultMaxRunningPerModel: number | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  // Digits only: Number() would also read " " as 0 (PORT=" " listening on a random port) and "0x1F90" as 8080.
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to a whole number from ${min} to ${max}, or unset it for the default ${fallback}.`);
  }
  return n;
}

/** A whole number, or null when unset (an optional limit). */
function optionalInt(env: Env, name: string, min: number, max: number): number | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to a whole number from ${min} to ${max}, or unset it for no limit.`);
  }
  return n;
}

/** A TCP port, or null when unset (an HTTP side that is off). */
function optionalPort(env: Env, name: string, off: string): number | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n > 65535) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to a port from 0 to 65535, or unset it (${off}).`);
  }
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}="${raw}" is not valid: set it to true or false, or unset it for the default ${fallback}.`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, options: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(options as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to one of ${options.join(', ')}, or unset it for the default ${fallback}.`);
  }
  return raw as T;
}

function url(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name}="${raw}" is not a URL: set it to the address clients reach this server at, such as https://genjobs.example.com.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${name}="${raw}" must be an http:// or https:// URL.`);
  }
  return raw.replace(/\/+$/, '');
}

function postgresUrl(env: Env): string | null {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw === '') return null;
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL such as postgres://genjobs:secret@db:5432/genjobs, or unset for the embedded SQLite store.');
  }
  return raw;
}

function schemaName(env: Env): string | null {
  const raw = env.GENJOBS_DB_SCHEMA;
  if (raw === undefined || raw === '') return null;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) {
    throw new ConfigError(`GENJOBS_DB_SCHEMA="${raw}" is not valid: use lower-case letters, digits and _ (at most 63), starting with a letter or _.`);
  }
  return raw;
}

function s3Config(env: Env): S3Config {
  const bucket = env.GENJOBS_S3_BUCKET ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(bucket === ''
      ? 'GENJOBS_STORAGE=s3 needs GENJOBS_S3_BUCKET: set it to the name of the bucket output files go to.'
      : `GENJOBS_S3_BUCKET="${bucket}" is not a bucket name: use 3 to 63 lower-case letters, digits, dots and hyphens.`);
  }
  const raw = env.GENJOBS_S3_PREFIX ?? '';
  if (raw !== '' && !/^[\w.\-/]{1,256}$/.test(raw)) {
    throw new ConfigError(`GENJOBS_S3_PREFIX="${raw}" is not valid: use letters, digits, _ . - and /, such as genjobs/.`);
  }
  // A folder of the bucket: "prod" and "prod/" both put keys under prod/.
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  const endpoint = env.GENJOBS_S3_ENDPOINT ? url(env, 'GENJOBS_S3_ENDPOINT', '') : null;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : '');
  if (region === '') {
    throw new ConfigError('GENJOBS_STORAGE=s3 needs AWS_REGION: set it to the bucket\'s region, such as eu-west-1.');
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? '';
  if ((accessKeyId === '') !== (secretAccessKey === '')) {
    throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither to use the SDK\'s default chain (AWS_PROFILE, roles).');
  }
  const credentials = accessKeyId === '' ? null : { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  return { bucket, prefix, endpoint, forcePathStyle: bool(env, 'GENJOBS_S3_FORCE_PATH_STYLE', false), region, credentials };
}

/**
 * Retention ages are at least a day: the idempotency window is 24 hours (src/store/rules.ts), and a
 * job deleted sooner would let a retried request with the same key run and be charged again.
 */
export const MIN_RETAIN_MS = 86_400_000;

/** A retention age such as `30d`, `36h` or `90 days`, or `off` (and unset): kept for ever. */
function retainAge(env: Env, name: string): number | null {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '' || /^off$/i.test(raw)) return null;
  // A bare number would be read as milliseconds: an age always names its unit.
  const n = /^\d+(\.\d+)?\s*[a-z]+$/i.test(raw) ? ms(raw as ms.StringValue) : undefined;
  if (n === undefined || !Number.isFinite(n)) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to an age with its unit, such as 30d, 36h or 90 days, or to off (the default) to keep these jobs.`);
  }
  if (n < MIN_RETAIN_MS) {
    throw new ConfigError(`${name}="${raw}" is too short: jobs are kept at least 1d (24h, the idempotency window of runs), or set it to off.`);
  }
  return n;
}

/** Names Fastify's trust check (proxy-addr) gives to whole ranges. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** GENJOBS_TRUST_PROXY: a comma-separated list of proxies (addresses, CIDR ranges, range names), or off. */
function trustedProxies(env: Env): string[] {
  const raw = env.GENJOBS_TRUST_PROXY?.trim();
  if (raw === undefined || raw === '' || /^(off|false|no|0)$/i.test(raw)) return [];
  if (/^(true|yes|on|1|\*)$/i.test(raw)) {
    throw new ConfigError(`GENJOBS_TRUST_PROXY="${raw}" would believe any sender's X-Forwarded-For, so a client could name its own address: list the addresses of your proxies instead (such as 127.0.0.1 or 10.0.0.0/8).`);
  }
  const entries = raw.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (PROXY_RANGES.has(entry) || ipaddr.isValid(entry)) continue;
    if (entry.includes('/')) {
      try {
        ipaddr.parseCIDR(entry);
        continue;
      } catch {
        // Reported below with the rest.
      }
    }
    throw new ConfigError(`GENJOBS_TRUST_PROXY="${raw}" is not valid: "${entry}" is not an address, a CIDR range or one of loopback, linklocal, uniquelocal. `
      + 'List the addresses of your proxies (such as 10.0.0.5,10.0.1.0/24), or set it to off.');
  }
  return entries;
}

/** Least GENJOBS_ORPHAN_FILE_AGE: a file that young is never taken for an orphan. (1 hour) */
export const MIN_ORPHAN_AGE_MS = 3_600_000;

/** GENJOBS_ORPHAN_FILE_AGE: an age with its unit such as `1d`, or `off` (and unset): no sweep. */
function orphanAge(env: Env): number | null {
  const name = 'GENJOBS_ORPHAN_FILE_AGE';
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '' || /^off$/i.test(raw)) return null;
  const n = /^\d+(\.\d+)?\s*[a-z]+$/i.test(raw) ? ms(raw as ms.StringValue) : undefined;
  if (n === undefined || !Number.isFinite(n)) {
    throw new ConfigError(`${name}="${raw}" is not valid: set it to an age with its unit, such as 1d or 36h, or to off (the default) to keep orphaned files.`);
  }
  if (n < MIN_ORPHAN_AGE_MS) throw new ConfigError(`${name}="${raw}" is too short: use at least 1h, or off.`);
  return n;
}

/** Reads the configuration; throws a ConfigError that says how to fix the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const adminToken = env.GENJOBS_ADMIN_TOKEN || null;
  if (adminToken !== null && adminToken.length < 16) {
    throw new ConfigError('GENJOBS_ADMIN_TOKEN is too short: use at least 16 random characters (for example `openssl rand -hex 24`).');
  }
  const metricsToken = env.GENJOBS_METRICS_TOKEN || null;
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new ConfigError('GENJOBS_METRICS_TOKEN is too short: use at least 16 random characters (for example `openssl rand -hex 24`).');
  }
  if (env.GENJOBS_RETAIN_CANCELED !== undefined) {
    throw new ConfigError('GENJOBS_RETAIN_CANCELED is not read: the status is spelled cancelled, so set GENJOBS_RETAIN_CANCELLED instead.');
  }
  const leaseMs = int(env, 'GENJOBS_LEASE_MS', 30_000, 1_000, 3_600_000);
  const headersTimeoutMs = int(env, 'GENJOBS_HEADERS_TIMEOUT_MS', 10_000, 50, 600_000);
  const requestTimeoutMs = int(env, 'GENJOBS_REQUEST_TIMEOUT_MS', 300_000, 50, 3_600_000);
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(`GENJOBS_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) must not be shorter than GENJOBS_HEADERS_TIMEOUT_MS (${headersTimeoutMs}): the whole request includes its head.`);
  }
  const storage = oneOf(env, 'GENJOBS_STORAGE', 'local', ['local', 's3'] as const);
  const fileLinks = oneOf(env, 'GENJOBS_FILE_LINKS', 'served', ['served', 'presigned'] as const);
  if (fileLinks === 'presigned' && storage !== 's3') {
    throw new ConfigError('GENJOBS_FILE_LINKS=presigned needs GENJOBS_STORAGE=s3: the local folder cannot sign links. Unset it to serve files from PUBLIC_URL/files/.');
  }
  return {
    port,
    host: env.HOST || '0.0.0.0',
    executorPort: optionalPort(env, 'GENJOBS_EXECUTOR_PORT', 'genjobs executor then serves no HTTP'),
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl: postgresUrl(env),
    databaseSchema: schemaName(env),
    databasePoolSize: int(env, 'GENJOBS_DB_POOL_SIZE', 10, 1, 1_000),
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${port}`),
    adminToken,
    metricsToken,
    trustedProxies: trustedProxies(env),
    catalogPath: path.resolve(env.GENJOBS_CATALOG || defaultCatalogPath),
    cancelRefundPercent: int(env, 'GENJOBS_CANCEL_REFUND_PERCENT', 100, 0, 100),
    executorEnabled: bool(env, 'GENJOBS_EXECUTOR', true),
    executorConcurrency: int(env, 'GENJOBS_EXECUTOR_CONCURRENCY', 16, 1, 10_000),
    leaseMs,
    maxAttempts: int(env, 'GENJOBS_MAX_ATTEMPTS', 3, 1, 100),
    pollMs: int(env, 'GENJOBS_POLL_MS', 1_000, 10, 60_000),
    maintenanceEnabled: bool(env, 'GENJOBS_MAINTENANCE', true),
    shutdownGraceMs: int(env, 'GENJOBS_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    workerLeaseMs: int(env, 'GENJOBS_WORKER_LEASE_MS', 30_000, 1_000, 3_600_000),
    workerUploadLimitBytes: int(env, 'GENJOBS_WORKER_UPLOAD_LIMIT', 536_870_912, 1_024, 17_179_869_184),
    webhooksEnabled: bool(env, 'GENJOBS_WEBHOOKS', true),
    dashboardEnabled: bool(env, 'GENJOBS_DASHBOARD', true),
    webhookAllowPrivate: bool(env, 'GENJOBS_WEBHOOK_ALLOW_PRIVATE', false),
    webhookTimeoutMs: int(env, 'GENJOBS_WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    webhookBackoffMs: int(env, 'GENJOBS_WEBHOOK_BACKOFF_MS', 5_000, 1, 3_600_000),
    webhookRetryForMs: int(env, 'GENJOBS_WEBHOOK_RETRY_FOR_MS', 259_200_000, 1_000, 2_592_000_000),
    webhookSecretGraceMs: int(env, 'GENJOBS_WEBHOOK_SECRET_GRACE_MS', 86_400_000, 0, 2_592_000_000),
    webhookConcurrency: int(env, 'GENJOBS_WEBHOOK_CONCURRENCY', 16, 1, 10_000),
    syncWaitMs: int(env, 'GENJOBS_SYNC_WAIT_MS', 60_000, 0, 600_000),
    defaultRateLimitPerMinute: int(env, 'GENJOBS_DEFAULT_RATE_LIMIT', 60, 1, 1_000_000_000),
    authCacheMs: int(env, 'GENJOBS_AUTH_CACHE_MS', 5_000, 0, 300_000),
    finalJobCacheSize: int(env, 'GENJOBS_JOB_CACHE_SIZE', 2_000, 0, 1_000_000),
    bodyLimitBytes: int(env, 'GENJOBS_BODY_LIMIT', 1_048_576, 1_024, 1_073_741_824),
    mediaThreads: int(env, 'GENJOBS_MEDIA_THREADS', Math.max(1, availableParallelism() - 1), 1, 256),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: int(env, 'GENJOBS_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1, 600_000),
    maxConnections: int(env, 'GENJOBS_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    streamsPerKey: int(env, 'GENJOBS_STREAMS_PER_KEY', 20, 1, 1_000_000),
    streamsMax: int(env, 'GENJOBS_STREAMS_MAX', 2_000, 1, 1_000_000),
    storage,
    s3: storage === 's3' ? s3Config(env) : null,
    fileLinks,
    presignSeconds: int(env, 'GENJOBS_PRESIGN_SECONDS', 3_600, 1, 604_800),
    retainMs: {
      completed: retainAge(env, 'GENJOBS_RETAIN_COMPLETED'),
      failed: retainAge(env, 'GENJOBS_RETAIN_FAILED'),
      cancelled: retainAge(env, 'GENJOBS_RETAIN_CANCELLED'),
    },
    retentionBatchSize: int(env, 'GENJOBS_RETENTION_BATCH', 500, 1, 10_000),
    retentionEveryMs: int(env, 'GENJOBS_RETENTION_EVERY_MS', 60_000, 1_000, 86_400_000),
    retentionPauseMs: int(env, 'GENJOBS_RETENTION_PAUSE_MS', 20, 0, 60_000),
    orphanFileAgeMs: orphanAge(env),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    defaultMaxRunning: optionalInt(env, 'GENJOBS_DEFAULT_MAX_RUNNING', 1, 1_000_000),
    defaultMaxRunningPerModel: optionalInt(env, 'GENJOBS_DEFAULT_MAX_RUNNING_PER_MODEL', 1, 1_000_000),
  };
}
