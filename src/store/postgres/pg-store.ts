import pg from 'pg';
import { createHash } from 'node:crypto';
import { newId } from '../../ids.js';
import type { JobNotice } from '../../jobs/events.js';
import { LeasedLimiter } from '../../ratelimit/leased-window.js';
import { QUEUE_POSITION_CAP, type JobListFilter, type Store } from '../store.js';
import type { ApiKeyRecord, AppRecord, JobLogLine, JobRecord, WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSecrets, WorkerRecord, LedgerKind, Millis, QueueSummaryRecord, RunType, UserRecord } from '../records.js';
import { connectionConfig, isConnectionError, wrapError } from './connection.js';
import { PgListener } from './listener.js';
import { StoreUnavailableError } from '../errors.js';
import { Batcher, settleEach, unwrap, type BatchItemError } from './batch.js';
import { migratePostgres } from './migrate.js';
import { IDEMPOTENCY_WINDOW_MS, webhookEvent } from '../webhook-outbox.js';
import {
  toApiKey, toApp, toDelivery, toJob, toLedger, toUser, toWorker,
  type ApiKeyRow, type AppRow, type DeliveryRow, type JobRow, type LedgerRow, type UserRow, type WorkerRow,
} from './rows.js';

export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Keeps genjobs' tables in this schema. (Default: the connection's search_path, usually public) */
  schema?: string;
  /** Connections in this process's pool. (Default: 10) */
  poolSize?: number;
  /** Told about connection trouble that no request is waiting on (idle clients, the listener). */
  onBackgroundError?: (err: unknown) => void;
}

type Db = pg.Pool | pg.PoolClient;

/** An error that is no single item's fault: the database cannot be reached. */
const unreachable = (err: unknown) => err instanceof StoreUnavailableError || isConnectionError(err);

/** A jobCreateCharged call (without idempotency key) waiting for its batch. */
interface CreateItem {
  id: string; userId: string; runType: RunType; modelId: string | null; appId: string | null;
  inputData: unknown; webhookUrl: string | null; cost: number; now: Millis; cancelAfterAt?: Millis | null; retryOf?: string | null;
}
type CreateOutcome = { ok: true; job: JobRecord; balance: number; replayed: boolean } | { ok: false; reason: 'insufficient'; available: number };

type KeyRow = ApiKeyRow & { u_name: string | null; u_credits: number; u_api_access: boolean; u_subscription: string | null; u_created_at: number };

/** A jobComplete call waiting for its batch (output already serialised). */
interface CompleteItem { id: string; leaseToken: number; output: string; now: Millis }

const statementNames = new Map<string, string>();
/** A stable name per SQL text, for prepared statements. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `g${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A CTE that writes the webhook delivery a terminal job owes (if it has a webhook_url), in the
 * statement that moves it: `source` is the CTE returning the moved row.
 */
const OUTBOX = (source: string, idParam: string, nowParam: string) => `outbox AS (
        INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
        SELECT ${idParam}, id, user_id, webhook_url, 'job.' || status, 'pending', ${nowParam}, ${nowParam} FROM ${source} WHERE webhook_url IS NOT NULL
      )`;

/**
 * The shared store: PostgreSQL through node-postgres. Each move is one guarded statement (or
 * one short transaction); claims use FOR UPDATE SKIP LOCKED so executors never wait on each
 * other; every job change is announced with NOTIFY (a trigger), heard through `subscribe`.
 * The hot calls (creations, completions, key and job reads, queue positions) made in one
 * event-loop turn share a statement (see `Batcher`), each item decided on its own; rate-limit
 * checks are answered from leases (see `LeasedLimiter`).
 */
export class PgStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private schemaName = 'public';
  private readonly onBackgroundError: (err: unknown) => void;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Requests of a key are reserved in the shared window a lease at a time (src/ratelimit/leased-window.ts). */
  private readonly limiter: LeasedLimiter;
  /** jobCreateCharged calls (without idempotency key) of one turn, sent as one statement. */
  private readonly creations = new Batcher<CreateItem, CreateOutcome | BatchItemError>(
    (items) => this.createMany(items), { maxBatch: 64, maxInFlight: 2 });
  /** Reads that every API request makes, batched the same way. */
  private readonly positions = new Batcher<{ id: string; createdAt: Millis }, number | BatchItemError>(
    (items) => this.queuePositionMany(items), { maxBatch: 64, maxInFlight: 2 });
  private readonly keyLookups = new Batcher<string, KeyRow | null | BatchItemError>((items) => this.keyLookupMany(items), { maxBatch: 64, maxInFlight: 2 });
  private readonly jobReads = new Batcher<string, JobRow | null | BatchItemError>((ids) => this.jobReadMany(ids), { maxBatch: 64, maxInFlight: 2 });
  /** jobComplete calls of one turn, sent as one statement. */
  private readonly completions = new Batcher<CompleteItem, JobRecord | null | BatchItemError>(
    (items) => this.completeMany(items), { maxBatch: 64, maxInFlight: 2 });

  private constructor(opts: PgStoreOptions) {
    this.config = connectionConfig(opts.url, opts.schema);
    this.onBackgroundError = opts.onBackgroundError ?? (() => {});
    this.pool = new pg.Pool({ ...this.config, max: opts.poolSize ?? 10 });
    // An idle client whose connection drops must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => this.onBackgroundError(err));
    this.limiter = new LeasedLimiter({
      reserve: async (keyId, second, limit, want) => (await this.one<{ granted: number; total: number; oldest: number | null }>(
        'SELECT granted, total, oldest FROM genjobs_rate_reserve($1, $2, $3, $4)', [keyId, second, limit, want]))!,
      release: async (keyId, second, count) => {
        await this.q('SELECT genjobs_rate_release($1, $2, $3)', [keyId, second, count]);
      },
    }, this.onBackgroundError);
  }

  /** Connects, applies migrations and starts the rate-limit housekeeping. */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(opts);
    const client = await store.pool.connect();
    try {
      await migratePostgres(client, opts.schema);
      store.schemaName = (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    } finally {
      client.release();
    }
    store.sweepTimer = setInterval(() => {
      store.pool.query('DELETE FROM rate_limit_slots WHERE second < $1', [Math.floor(Date.now() / 1000) - 120])
        .catch((err: unknown) => store.onBackgroundError(err));
    }, 60_000);
    store.sweepTimer.unref();
    return store;
  }

  private async q<R>(text: string, values: unknown[] = [], db: Db = this.pool): Promise<R[]> {
    try {
      // Named, so each connection parses and plans a statement once instead of on every call.
      return (await db.query({ name: statementName(text), text, values })).rows as R[];
    } catch (err) {
      throw wrapError(err);
    }
  }

  private async one<R>(text: string, values: unknown[] = [], db: Db = this.pool): Promise<R | undefined> {
    return (await this.q<R>(text, values, db))[0];
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrapError(err);
    }
    // While checked out, a client has no listener of the pool's: a connection that drops
    // mid-transaction would emit an unhandled 'error' and end the process. The statement
    // under way fails with the same error, which is what the caller gets.
    let lost: Error | undefined;
    const onLost = (err: Error) => { lost = err; };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      client.removeListener('error', onLost);
      client.release();
      return out;
    } catch (err) {
      if (!lost) await client.query('ROLLBACK').catch(() => { /* the connection may be gone */ });
      client.removeListener('error', onLost);
      // A broken connection is destroyed rather than returned to the pool.
      client.release(lost ?? (isConnectionError(err) ? (err as Error) : undefined));
      throw wrapError(err);
    }
  }

  /** Moves a balance and writes its ledger entry in one statement; the balance after it, or undefined if the user is missing. */
  private async ledgerAppend(db: Db, p: { userId: string; jobId: string | null; kind: LedgerKind; amount: number; reason: string | null; now: Millis }) {
    const row = await this.one<{ balance_after: number }>(`
      WITH u AS (UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits)
      INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
      SELECT $3, $1, $4, $5, $2, u.credits, $6, $7 FROM u RETURNING balance_after`,
    [p.userId, p.amount, newId(), p.jobId, p.kind, p.reason, p.now], db);
    return row?.balance_after;
  }

  // ---- users and credits ----

  async userCreate(p: { name: string | null; credits: number; apiAccess?: boolean; now: Millis }): Promise<UserRecord> {
    return this.tx(async (c) => {
      const id = newId();
      await this.q('INSERT INTO users (id, name, credits, api_access, created_at) VALUES ($1, $2, 0, $3, $4)', [id, p.name, p.apiAccess !== false, p.now], c);
      if (p.credits > 0) await this.ledgerAppend(c, { userId: id, jobId: null, kind: 'grant', amount: p.credits, reason: 'initial credits', now: p.now });
      return toUser((await this.one<UserRow>('SELECT * FROM users WHERE id = $1', [id], c))!);
    });
  }

  async userGetById(p: { id: string }): Promise<UserRecord | null> {
    const row = await this.one<UserRow>('SELECT * FROM users WHERE id = $1', [p.id]);
    return row ? toUser(row) : null;
  }

  async userList(p: { limit: number; afterId?: string; order?: 'asc' | 'desc' }): Promise<UserRecord[]> {
    const [after, order] = p.order === 'desc' ? ['<', 'DESC'] : ['>', 'ASC'];
    const rows = p.afterId === undefined
      ? await this.q<UserRow>(`SELECT * FROM users ORDER BY id ${order} LIMIT $1`, [p.limit])
      : await this.q<UserRow>(`SELECT * FROM users WHERE id ${after} $1 ORDER BY id ${order} LIMIT $2`, [p.afterId, p.limit]);
    return rows.map(toUser);
  }

  async userGrantCredits(p: { userId: string; amount: number; reason: string | null; now: Millis }) {
    return this.tx(async (c) => {
      const row = await this.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1 FOR UPDATE', [p.userId], c);
      if (!row) return { ok: false as const, reason: 'not_found' as const };
      if (row.credits + p.amount < 0) return { ok: false as const, reason: 'insufficient' as const, available: row.credits };
      if (p.amount !== 0) await this.ledgerAppend(c, { userId: p.userId, jobId: null, kind: 'grant', amount: p.amount, reason: p.reason, now: p.now });
      return { ok: true as const, user: toUser((await this.one<UserRow>('SELECT * FROM users WHERE id = $1', [p.userId], c))!) };
    });
  }

  async userSetApiAccess(p: { userId: string; apiAccess: boolean }): Promise<UserRecord | null> {
    const row = await this.one<UserRow>('UPDATE users SET api_access = $1 WHERE id = $2 RETURNING *', [p.apiAccess, p.userId]);
    return row ? toUser(row) : null;
  }

  // ---- API keys ----

  async apiKeyCreate(p: {
    userId: string; name: string | null; keyPrefix: string; keyHash: string; expiresAt: Millis | null; rateLimitPerMinute: number; now: Millis;
  }): Promise<ApiKeyRecord> {
    const row = await this.one<ApiKeyRow>(`INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, expires_at, rate_limit_per_minute, is_active, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8) RETURNING *`,
    [newId(), p.userId, p.name, p.keyPrefix, p.keyHash, p.expiresAt, p.rateLimitPerMinute, p.now]);
    return toApiKey(row!);
  }

  async apiKeyGetByHash(p: { keyHash: string }) {
    const row = unwrap(await this.keyLookups.add(p.keyHash));
    if (!row) return null;
    return {
      key: toApiKey(row),
      user: toUser({ id: row.user_id, name: row.u_name, credits: row.u_credits, api_access: row.u_api_access, subscription: row.u_subscription, created_at: row.u_created_at }),
    };
  }

  /** Key lookups of one turn (every authenticated request makes one) in one statement. */
  private async keyLookupMany(hashes: string[]): Promise<(KeyRow | null | BatchItemError)[]> {
    const sql = (where: string) => `SELECT k.*, u.name AS u_name, u.credits AS u_credits, u.api_access AS u_api_access, u.subscription AS u_subscription, u.created_at AS u_created_at
      FROM api_keys k JOIN users u ON u.id = k.user_id WHERE ${where}`;
    return settleEach(hashes, async (all) => {
      const rows = await this.q<KeyRow>(sql('k.key_hash = ANY($1::text[])'), [[...new Set(all)]]);
      const byHash = new Map(rows.map((r) => [r.key_hash, r]));
      return all.map((h) => byHash.get(h) ?? null);
    }, async (h) => (await this.one<KeyRow>(sql('k.key_hash = $1'), [h])) ?? null, unreachable);
  }

  async apiKeyListByUser(p: { userId: string }): Promise<ApiKeyRecord[]> {
    return (await this.q<ApiKeyRow>('SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at, id', [p.userId])).map(toApiKey);
  }

  async apiKeyRevoke(p: { userId: string; keyId: string }): Promise<ApiKeyRecord | null> {
    const row = await this.one<ApiKeyRow>('UPDATE api_keys SET is_active = false WHERE id = $1 AND user_id = $2 RETURNING *', [p.keyId, p.userId]);
    return row ? toApiKey(row) : null;
  }

  // ---- private apps ----

  async appCreate(p: { id: string; userId: string; definition: unknown; now: Millis }): Promise<AppRecord> {
    const row = await this.one<AppRow>(`INSERT INTO apps (id, user_id, definition, is_active, created_at, updated_at)
      VALUES ($1, $2, $3, true, $4, $4) RETURNING *`, [p.id, p.userId, JSON.stringify(p.definition), p.now]);
    return toApp(row!);
  }

  async appUpdate(p: { id: string; definition: unknown; now: Millis }): Promise<AppRecord | null> {
    const row = await this.one<AppRow>('UPDATE apps SET definition = $2, updated_at = $3 WHERE id = $1 RETURNING *', [p.id, JSON.stringify(p.definition), p.now]);
    return row ? toApp(row) : null;
  }

  async appSetActive(p: { id: string; isActive: boolean; now: Millis }): Promise<AppRecord | null> {
    const row = await this.one<AppRow>('UPDATE apps SET is_active = $2, updated_at = $3 WHERE id = $1 RETURNING *', [p.id, p.isActive, p.now]);
    return row ? toApp(row) : null;
  }

  async appGetById(p: { id: string }): Promise<AppRecord | null> {
    const row = await this.one<AppRow>('SELECT * FROM apps WHERE id = $1', [p.id]);
    return row ? toApp(row) : null;
  }

  async appListByUser(p: { userId: string }): Promise<AppRecord[]> {
    return (await this.q<AppRow>('SELECT * FROM apps WHERE user_id = $1 ORDER BY created_at, id', [p.userId])).map(toApp);
  }

  // ---- jobs: creation and reads ----

  async jobCreateCharged(p: {
    id: string; userId: string; runType: RunType; modelId: string | null; appId: string | null;
    inputData: unknown; webhookUrl: string | null; cost: number; now: Millis;
    cancelAfterAt?: Millis | null; retryOf?: string | null; idempotency?: { key: string; requestHash: string };
  }) {
    if (!p.idempotency) return unwrap(await this.creations.add(p));
    const key = p.idempotency;
    const rollback = new Error('rollback');
    let short: { ok: false; reason: 'insufficient'; available: number } | undefined;
    try {
      return await this.tx(async (c) => {
        // The key is taken first: a concurrent request with the same key waits here until this
        // transaction ends, then finds its job. A key older than the window is taken over.
        const taken = await this.one(`INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, created_at) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id, created_at = EXCLUDED.created_at
          WHERE idempotency_keys.created_at <= $6 RETURNING job_id`, [p.userId, key.key, key.requestHash, p.id, p.now, p.now - IDEMPOTENCY_WINDOW_MS], c);
        if (!taken) {
          const seen = (await this.one<{ request_hash: string; job_id: string }>('SELECT request_hash, job_id FROM idempotency_keys WHERE user_id = $1 AND key = $2', [p.userId, key.key], c))!;
          if (seen.request_hash !== key.requestHash) return { ok: false as const, reason: 'idempotency_conflict' as const, jobId: seen.job_id };
          const job = toJob((await this.one<JobRow>('SELECT * FROM jobs WHERE id = $1', [seen.job_id], c))!);
          const user = await this.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1', [p.userId], c);
          return { ok: true as const, job, balance: user?.credits ?? 0, replayed: true };
        }
        const created = await this.createCharged(c, p);
        if (!created.ok) {
          short = created;
          throw rollback;
        }
        return created;
      });
    } catch (err) {
      if (err === rollback && short) return short;
      throw err;
    }
  }

  /**
   * Runs created in one turn, charged and inserted by one statement (genjobs_create_charged):
   * each item exactly as `createCharged` would do it alone, one after another. Items are taken
   * in account order (call order within an account), so batches lock accounts in one order.
   */
  private async createMany(items: CreateItem[]): Promise<(CreateOutcome | BatchItemError)[]> {
    return settleEach(items, async (all) => {
      const order = all.map((_, i) => i).sort((a, b) => (all[a]!.userId < all[b]!.userId ? -1 : all[a]!.userId > all[b]!.userId ? 1 : a - b));
      const col = <T>(f: (p: CreateItem) => T) => order.map((i) => f(all[i]!));
      const rows = await this.q<Partial<JobRow> & { idx: number; balance: number }>(`SELECT r.idx, r.balance, (r.job).*
        FROM genjobs_create_charged($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::text[],
          $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::text[]) r`,
      [col((p) => p.id), col((p) => p.userId), col((p) => p.runType), col((p) => p.modelId), col((p) => p.appId),
        col((p) => JSON.stringify(p.inputData)), col((p) => p.cost), col((p) => p.webhookUrl), col((p) => p.now), col(() => newId()),
        col((p) => `run of ${p.modelId ?? p.appId}`), col((p) => p.cancelAfterAt ?? null), col((p) => p.retryOf ?? null)]);
      const out: CreateOutcome[] = new Array(all.length);
      for (const { idx, balance, ...job } of rows) {
        out[order[idx - 1]!] = job.id === null || job.id === undefined
          ? { ok: false, reason: 'insufficient', available: balance }
          : { ok: true, job: toJob(job as JobRow), balance, replayed: false };
      }
      return out;
    }, (p) => this.createCharged(this.pool, p), unreachable);
  }

  /** Debits and inserts in one statement: the debit's WHERE re-checks the balance on the latest row version, so concurrent runs queue on the account row and can never overdraw it. */
  private async createCharged(db: Db, p: {
    id: string; userId: string; runType: RunType; modelId: string | null; appId: string | null;
    inputData: unknown; webhookUrl: string | null; cost: number; now: Millis; cancelAfterAt?: Millis | null; retryOf?: string | null;
  }) {
    const row = await this.one<JobRow & { balance: number }>(`
      WITH debit AS (
        UPDATE users SET credits = credits - $7 WHERE id = $2 AND credits >= $7 RETURNING credits
      ), job AS (
        INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at, cancel_after_at, retry_of)
        SELECT $1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $12, $13 FROM debit RETURNING *
      ), charge AS (
        INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
        SELECT $10, $2, $1, 'charge', -$7, debit.credits, $11, $9 FROM debit WHERE $7 > 0
      )
      SELECT job.*, debit.credits AS balance FROM job, debit`,
    [p.id, p.userId, p.runType, p.modelId, p.appId, JSON.stringify(p.inputData), p.cost, p.webhookUrl, p.now, newId(), `run of ${p.modelId ?? p.appId}`,
      p.cancelAfterAt ?? null, p.retryOf ?? null], db);
    if (!row) {
      const user = await this.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1', [p.userId], db);
      return { ok: false as const, reason: 'insufficient' as const, available: user?.credits ?? 0 };
    }
    const { balance, ...job } = row;
    return { ok: true as const, job: toJob(job), balance, replayed: false };
  }

  async jobGetById(p: { id: string; userId?: string }): Promise<JobRecord | null> {
    const row = unwrap(await this.jobReads.add(p.id));
    return row && (p.userId === undefined || row.user_id === p.userId) ? toJob(row) : null;
  }

  /** Job reads of one turn (polls, waiting requests, event streams) in one statement. */
  private async jobReadMany(ids: string[]): Promise<(JobRow | null | BatchItemError)[]> {
    return settleEach(ids, async (all) => {
      const rows = await this.q<JobRow>('SELECT * FROM jobs WHERE id = ANY($1::text[])', [[...new Set(all)]]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const given = new Set<string>();
      return all.map((id) => {
        const row = byId.get(id) ?? null;
        if (!row || !given.has(id)) {
          given.add(id);
          return row;
        }
        // A second caller of the same id gets its own copy: input and output are objects it may change.
        return structuredClone(row);
      });
    }, async (id) => (await this.one<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])) ?? null, unreachable);
  }

  async jobList(p: JobListFilter & { userId: string; limit: number; startingAfter?: { createdAt: Millis; id: string } }): Promise<JobRecord[]> {
    const args: unknown[] = [];
    /** Adds a parameter and returns its placeholder. */
    const $ = (value: unknown) => `$${args.push(value)}`;
    const where = [`user_id = ${$(p.userId)}`];
    if (p.status !== undefined) where.push(`status = ${$(p.status)}`);
    if (p.runType !== undefined) where.push(`run_type = ${$(p.runType)}`);
    if (p.modelId !== undefined) where.push(`model_id = ${$(p.modelId)}`);
    if (p.appId !== undefined) where.push(`app_id = ${$(p.appId)}`);
    if (p.createdAfter !== undefined) where.push(`created_at > ${$(p.createdAfter)}`);
    if (p.createdBefore !== undefined) where.push(`created_at < ${$(p.createdBefore)}`);
    if (p.startingAfter) where.push(`(created_at, id) < (${$(p.startingAfter.createdAt)}, ${$(p.startingAfter.id)})`);
    const rows = await this.q<JobRow>(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ${$(p.limit)}`, args);
    return rows.map(toJob);
  }

  async jobQueuePosition(p: { id: string; createdAt: Millis }): Promise<number> {
    return unwrap(await this.positions.add(p));
  }

  /** Queue positions asked for in one turn, counted by one statement. */
  private async queuePositionMany(items: { id: string; createdAt: Millis }[]): Promise<(number | BatchItemError)[]> {
    const one = async (p: { id: string; createdAt: Millis }) => (await this.one<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND (created_at, id) < ($1, $2) LIMIT $3) ahead`,
      [p.createdAt, p.id, QUEUE_POSITION_CAP]))?.n ?? 0;
    return settleEach(items, async (all) => {
      const rows = await this.q<{ n: number; ahead: number }>(`SELECT i.n::int AS n,
          (SELECT COUNT(*)::int FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND (created_at, id) < (i.created_at, i.id) LIMIT $3) a) AS ahead
        FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS i(created_at, id, n)`,
      [all.map((p) => p.createdAt), all.map((p) => p.id), QUEUE_POSITION_CAP]);
      const out: number[] = new Array(all.length).fill(0);
      for (const r of rows) out[r.n - 1] = r.ahead;
      return out;
    }, one, unreachable);
  }

  // ---- jobs: moves ----

  async jobCancel(p: { id: string; userId: string; now: Millis; refundFor: (job: JobRecord) => number }) {
    return this.tx(async (c) => {
      const row = await this.one<JobRow>('SELECT * FROM jobs WHERE id = $1 AND user_id = $2 FOR UPDATE', [p.id, p.userId], c);
      if (!row) return null;
      const before = toJob(row);
      if (before.status !== 'pending' && before.status !== 'processing') return { changed: false as const, job: before };
      const refund = Math.max(0, Math.min(before.creditsCharged - before.creditsRefunded, Math.floor(p.refundFor(before))));
      const updated = await this.one<JobRow>(`UPDATE jobs SET status = 'cancelled', cancelled_at = $2, completed_at = $2,
          credits_refunded = credits_refunded + $3, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND status IN ('pending', 'processing') RETURNING *`, [p.id, p.now, refund], c);
      if (refund > 0) await this.ledgerAppend(c, { userId: p.userId, jobId: p.id, kind: 'refund', amount: refund, reason: 'job cancelled', now: p.now });
      if (updated!.webhook_url) {
        await this.q(`INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
          VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`, [newId(), p.id, p.userId, updated!.webhook_url, webhookEvent('cancelled'), p.now], c);
      }
      return { changed: true as const, job: toJob(updated!), previousStatus: before.status };
    });
  }

  async jobClaim(p: { owner: string; limit: number; leaseMs: number; now: Millis; excludeModels?: string[]; onlyModels?: string[]; maxAttempts: number }): Promise<JobRecord[]> {
    if (p.limit <= 0) return [];
    // Jobs whose holder died come first (they have waited longest), then the oldest pending
    // ones. SKIP LOCKED: rows another executor is claiming right now are passed over, not waited on.
    const rows = await this.q<JobRow>(`
      WITH reclaimed AS (
        UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = $1, lease_token = lease_token + 1,
          lease_expires_at = $2, started_at = COALESCE(started_at, GREATEST($3, created_at))
        WHERE id IN (
          SELECT id FROM jobs WHERE status = 'processing' AND lease_expires_at <= $3 AND attempts < $4
            AND NOT (COALESCE(model_id, '') = ANY($5::text[])) AND ($7::text[] IS NULL OR model_id = ANY($7::text[]))
          ORDER BY lease_expires_at LIMIT $6 FOR UPDATE SKIP LOCKED)
        RETURNING *
      ), fresh AS (
        UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = $1, lease_token = lease_token + 1,
          lease_expires_at = $2, started_at = COALESCE(started_at, GREATEST($3, created_at))
        WHERE id IN (
          SELECT id FROM jobs WHERE status = 'pending' AND NOT (COALESCE(model_id, '') = ANY($5::text[]))
            AND ($7::text[] IS NULL OR model_id = ANY($7::text[]))
          ORDER BY created_at, id LIMIT GREATEST(0, $6 - (SELECT COUNT(*) FROM reclaimed)) FOR UPDATE SKIP LOCKED)
        RETURNING *
      )
      SELECT * FROM reclaimed UNION ALL SELECT * FROM fresh`,
    [p.owner, p.now + p.leaseMs, p.now, p.maxAttempts, p.excludeModels ?? [], p.limit, p.onlyModels ?? null]);
    return rows.map(toJob).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  async jobLeaseExtend(p: { owner: string; ids: string[]; leaseMs: number; now: Millis }): Promise<string[]> {
    if (p.ids.length === 0) return [];
    // Rows locked in id order, as batched completions lock them: the two never deadlock.
    const rows = await this.q<{ id: string }>(`UPDATE jobs SET lease_expires_at = $1
      WHERE id IN (SELECT id FROM jobs WHERE id = ANY($2::text[]) AND status = 'processing' AND lease_owner = $3 ORDER BY id FOR UPDATE)
        AND status = 'processing' AND lease_owner = $3 RETURNING id`, [p.now + p.leaseMs, p.ids, p.owner]);
    return rows.map((r) => r.id);
  }

  async jobComplete(p: { id: string; leaseToken: number; outputData: unknown; now: Millis }): Promise<JobRecord | null> {
    return unwrap(await this.completions.add({ ...p, output: JSON.stringify(p.outputData ?? null) }));
  }

  /** One completion alone: the statement every batched one stands for. */
  private async completeOne(c: CompleteItem): Promise<JobRecord | null> {
    const row = await this.one<JobRow>(`
      WITH done AS (
        UPDATE jobs SET status = 'completed', output_data = $3, completed_at = $4, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING *
      ), ${OUTBOX('done', '$5', '$4')}
      SELECT * FROM done`, [c.id, c.leaseToken, c.output, c.now, newId()]);
    return row ? toJob(row) : null;
  }

  /**
   * Completions of one turn in one statement: each row is moved only if its own lease token
   * still matches, and gets its own outbox row when it has a webhook_url. A job named twice in
   * a batch is done in order, the later call after the earlier one.
   */
  private async completeMany(items: CompleteItem[]): Promise<(JobRecord | null | BatchItemError)[]> {
    const seen = new Set<string>();
    const first: number[] = [];
    const later: number[] = [];
    items.forEach((c, i) => {
      if (seen.has(c.id)) later.push(i);
      else {
        seen.add(c.id);
        first.push(i);
      }
    });
    const out: (JobRecord | null | BatchItemError)[] = new Array(items.length).fill(null);
    const batch = first.map((i) => items[i]!);
    const results = await settleEach(batch, async (cs) => {
      // In id order, so two batches (or a batch and a lease renewal) lock shared rows in the same order.
      const order = cs.map((_, i) => i).sort((a, b) => (cs[a]!.id < cs[b]!.id ? -1 : 1));
      const rows = await this.q<JobRow>(`
        WITH i AS (
          SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::bigint[], $5::text[]) AS i(id, lease_token, output_data, now, delivery_id)
        ), done AS (
          UPDATE jobs SET status = 'completed', output_data = i.output_data, completed_at = i.now, lease_owner = NULL, lease_expires_at = NULL
          FROM i WHERE jobs.id = i.id AND jobs.status = 'processing' AND jobs.lease_token = i.lease_token
          RETURNING jobs.*
        ), outbox AS (
          INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
          SELECT i.delivery_id, done.id, done.user_id, done.webhook_url, 'job.' || done.status, 'pending', done.completed_at, done.completed_at
          FROM done JOIN i ON i.id = done.id WHERE done.webhook_url IS NOT NULL
        )
        SELECT * FROM done`,
      [order.map((i) => cs[i]!.id), order.map((i) => cs[i]!.leaseToken), order.map((i) => cs[i]!.output),
        order.map((i) => cs[i]!.now), order.map(() => newId())]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return cs.map((c) => {
        const row = byId.get(c.id);
        return row ? toJob(row) : null;
      });
    }, (c) => this.completeOne(c), unreachable);
    first.forEach((i, k) => { out[i] = results[k]!; });
    if (later.length > 0) {
      const rest = await this.completeMany(later.map((i) => items[i]!));
      later.forEach((i, k) => { out[i] = rest[k]!; });
    }
    return out;
  }

  /** processing -> failed with a full refund, in one statement, only for the lease `leaseToken`. */
  private async failAndRefund(db: Db, id: string, leaseToken: number, errorMessage: string, now: Millis): Promise<JobRecord | null> {
    const row = await this.one<JobRow>(`
      WITH failed AS (
        UPDATE jobs SET status = 'failed', error_message = $3, completed_at = $4, credits_refunded = credits_charged,
          lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING *
      ), credited AS (
        UPDATE users SET credits = users.credits + failed.credits_charged FROM failed
        WHERE users.id = failed.user_id AND failed.credits_charged > 0 RETURNING users.credits
      ), refund AS (
        INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
        SELECT $5, failed.user_id, failed.id, 'refund', failed.credits_charged, credited.credits, 'job failed', $4 FROM failed, credited
      ), ${OUTBOX('failed', '$6', '$4')}
      SELECT * FROM failed`, [id, leaseToken, errorMessage, now, newId(), newId()], db);
    return row ? toJob(row) : null;
  }

  async jobFail(p: { id: string; leaseToken: number; errorMessage: string; now: Millis }): Promise<JobRecord | null> {
    return this.failAndRefund(this.pool, p.id, p.leaseToken, p.errorMessage, p.now);
  }

  async jobSetOutput(p: { id: string; leaseToken: number; outputData: unknown }): Promise<boolean> {
    const rows = await this.q(`UPDATE jobs SET output_data = $3 WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`,
      [p.id, p.leaseToken, JSON.stringify(p.outputData ?? null)]);
    return rows.length === 1;
  }

  async jobRelease(p: { id: string; leaseToken: number; now: Millis }): Promise<boolean> {
    const rows = await this.q(`UPDATE jobs SET lease_owner = NULL, lease_expires_at = $3, attempts = GREATEST(attempts - 1, 0)
      WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`, [p.id, p.leaseToken, p.now]);
    return rows.length === 1;
  }

  async jobFailAbandoned(p: { now: Millis; maxAttempts: number }): Promise<JobRecord[]> {
    const message = `The job was abandoned: its executor stopped renewing the lease on each of ${p.maxAttempts} attempts.`;
    return this.tx(async (c) => {
      const rows = await this.q<{ id: string; lease_token: number }>(`SELECT id, lease_token FROM jobs
        WHERE status = 'processing' AND lease_expires_at <= $1 AND attempts >= $2 FOR UPDATE SKIP LOCKED`, [p.now, p.maxAttempts], c);
      const failed: JobRecord[] = [];
      for (const r of rows) {
        const job = await this.failAndRefund(c, r.id, r.lease_token, message, p.now);
        if (job) failed.push(job);
      }
      return failed;
    });
  }

  async jobListPastDeadline(p: { now: Millis; limit: number }): Promise<{ id: string; userId: string }[]> {
    const rows = await this.q<{ id: string; user_id: string }>(`SELECT id, user_id FROM jobs
      WHERE cancel_after_at IS NOT NULL AND cancel_after_at <= $1 AND status IN ('pending', 'processing') LIMIT $2`, [p.now, p.limit]);
    return rows.map((r) => ({ id: r.id, userId: r.user_id }));
  }

  async jobReportProgress(p: { id: string; leaseToken: number; progress: number | null; logs: string[]; now: Millis }): Promise<boolean> {
    return this.tx(async (c) => {
      const held = await this.one(`UPDATE jobs SET progress = COALESCE($3, progress) WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`,
        [p.id, p.leaseToken, p.progress], c);
      if (!held) return false;
      if (p.logs.length > 0) {
        await this.q(`INSERT INTO job_logs (job_id, seq, line, created_at)
          SELECT $1, (SELECT COALESCE(MAX(seq), 0) FROM job_logs WHERE job_id = $1) + n, line, $3
          FROM unnest($2::text[]) WITH ORDINALITY AS l(line, n)`, [p.id, p.logs, p.now], c);
      }
      return true;
    });
  }

  async jobLogList(p: { id: string; limit: number }): Promise<JobLogLine[]> {
    const rows = await this.q<{ seq: number; line: string; created_at: number }>('SELECT seq, line, created_at FROM job_logs WHERE job_id = $1 ORDER BY seq LIMIT $2', [p.id, p.limit]);
    return rows.map((r) => ({ seq: r.seq, line: r.line, createdAt: r.created_at }));
  }

  // ---- webhooks ----

  async webhookClaimDue(p: { owner: string; now: Millis; limit: number; leaseMs: number }): Promise<WebhookDeliveryRecord[]> {
    // A read first: the dispatcher looks after every finished job, and most have no webhook.
    if (!(await this.one(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1`, [p.now]))) return [];
    const rows = await this.q<DeliveryRow>(`UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2
      WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $3
                   AND (lease_expires_at IS NULL OR lease_expires_at <= $3) ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
      RETURNING *`, [p.owner, p.now + p.leaseMs, p.now, p.limit]);
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  }

  async webhookRecordAttempt(p: {
    id: string; owner: string; attempt: WebhookAttemptRecord; result: 'delivered' | 'retry' | 'failed'; nextAttemptAt: Millis; payload: string;
  }): Promise<boolean> {
    const row = await this.one<{ job_id: string }>(`
      WITH d AS (
        UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4, last_status_code = $5, last_error = $6,
          payload = COALESCE(payload, $7), delivered_at = $8, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING job_id, attempts
      ), a AS (
        INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error, duration_ms) SELECT $1, d.attempts, $9, $5, $6, $10 FROM d
      ), j AS (
        UPDATE jobs SET webhook_delivered = true FROM d WHERE jobs.id = d.job_id AND $3 = 'delivered'
      )
      SELECT job_id FROM d`,
    [p.id, p.owner, p.result === 'retry' ? 'pending' : p.result, p.nextAttemptAt, p.attempt.statusCode, p.attempt.error, p.payload,
      p.result === 'delivered' ? p.attempt.at : null, p.attempt.at, p.attempt.durationMs]);
    return row !== undefined;
  }

  async webhookFailEndpoint(p: { userId: string; url: string; reason: string; now: Millis }): Promise<number> {
    const rows = await this.q(`UPDATE webhook_deliveries SET status = 'failed', last_error = $1 WHERE user_id = $2 AND url = $3 AND status = 'pending' RETURNING id`,
      [p.reason, p.userId, p.url]);
    return rows.length;
  }

  async webhookListByJob(p: { jobId: string }) {
    const deliveries = (await this.q<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE job_id = $1 ORDER BY created_at, id', [p.jobId])).map(toDelivery);
    const attempts = await this.q<{ delivery_id: string; n: number; at: number; status_code: number | null; error: string | null; duration_ms: number }>(
      'SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY n', [deliveries.map((d) => d.id)]);
    return deliveries.map((d) => ({
      ...d,
      attemptLog: attempts.filter((a) => a.delivery_id === d.id)
        .map((a) => ({ n: a.n, at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
    }));
  }

  async userWebhookSecrets(p: { userId: string }): Promise<WebhookSecrets | null> {
    const row = await this.one<{ webhook_secret: string | null; webhook_secret_previous: string | null; webhook_secret_previous_until: number | null }>(
      'SELECT webhook_secret, webhook_secret_previous, webhook_secret_previous_until FROM users WHERE id = $1', [p.userId]);
    return row ? { current: row.webhook_secret, previous: row.webhook_secret_previous, previousUntil: row.webhook_secret_previous_until } : null;
  }

  async userSetWebhookSecret(p: { userId: string; secret: string; previousUntil: Millis | null; onlyIfUnset: boolean }): Promise<WebhookSecrets | null> {
    if (p.onlyIfUnset) {
      await this.q('UPDATE users SET webhook_secret = $1 WHERE id = $2 AND webhook_secret IS NULL', [p.secret, p.userId]);
    } else {
      await this.q(`UPDATE users SET webhook_secret_previous = CASE WHEN $1::bigint IS NULL THEN NULL ELSE webhook_secret END,
        webhook_secret_previous_until = $1, webhook_secret = $2 WHERE id = $3`, [p.previousUntil, p.secret, p.userId]);
    }
    return this.userWebhookSecrets({ userId: p.userId });
  }

  // ---- workers ----

  async workerCreate(p: { id: string; name: string | null; tokenHash: string; models: string[]; now: Millis }): Promise<WorkerRecord> {
    const row = await this.one<WorkerRow>(`INSERT INTO workers (id, name, token_hash, models, is_active, created_at)
      VALUES ($1, $2, $3, $4, true, $5) RETURNING *`, [p.id, p.name, p.tokenHash, JSON.stringify(p.models), p.now]);
    return toWorker(row!);
  }

  async workerAuthenticate(p: { tokenHash: string; now: Millis }): Promise<WorkerRecord | null> {
    const row = await this.one<WorkerRow>('UPDATE workers SET last_seen_at = $2 WHERE token_hash = $1 AND is_active RETURNING *', [p.tokenHash, p.now]);
    return row ? toWorker(row) : null;
  }

  // ---- operator views ----

  async jobQueueSummary(): Promise<QueueSummaryRecord> {
    const rows = await this.q<{ status: 'pending' | 'processing'; run_type: RunType; model_id: string | null; app_id: string | null; n: number }>(
      `SELECT status, run_type, model_id, app_id, COUNT(*)::int AS n FROM jobs WHERE status = 'pending' GROUP BY status, run_type, model_id, app_id
       UNION ALL
       SELECT status, run_type, model_id, app_id, COUNT(*)::int AS n FROM jobs WHERE status = 'processing' GROUP BY status, run_type, model_id, app_id
       ORDER BY status, n DESC`);
    const oldest = await this.one<{ t: string | number | null }>(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'pending'`);
    return {
      groups: rows.map((r) => ({ status: r.status, runType: r.run_type, modelId: r.model_id, appId: r.app_id, count: r.n })),
      oldestPendingCreatedAt: oldest?.t == null ? null : Number(oldest.t),
    };
  }

  async workerList(): Promise<WorkerRecord[]> {
    return (await this.q<WorkerRow>('SELECT * FROM workers ORDER BY created_at, id')).map(toWorker);
  }

  async workerRevoke(p: { id: string }): Promise<WorkerRecord | null> {
    const row = await this.one<WorkerRow>('UPDATE workers SET is_active = false WHERE id = $1 RETURNING *', [p.id]);
    return row ? toWorker(row) : null;
  }

  // ---- ledger and usage ----

  async ledgerList(p: { userId: string; limit: number; jobId?: string }) {
    const rows = p.jobId === undefined
      ? await this.q<LedgerRow>('SELECT * FROM ledger_entries WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [p.userId, p.limit])
      : await this.q<LedgerRow>('SELECT * FROM ledger_entries WHERE user_id = $1 AND job_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3', [p.userId, p.jobId, p.limit]);
    return rows.map(toLedger);
  }

  async accountUsage(p: { userId: string; since: Millis; now: Millis }) {
    const row = await this.one<{ used: number; since: number; total: number; keys: number }>(`SELECT
      (SELECT COALESCE(-SUM(amount), 0)::bigint FROM ledger_entries WHERE user_id = $1 AND kind IN ('charge', 'refund') AND created_at >= $2) AS used,
      (SELECT COUNT(*)::int FROM jobs WHERE user_id = $1 AND created_at >= $2) AS since,
      (SELECT COUNT(*)::int FROM jobs WHERE user_id = $1) AS total,
      (SELECT COUNT(*)::int FROM api_keys WHERE user_id = $1 AND is_active AND (expires_at IS NULL OR expires_at > $3)) AS keys`,
    [p.userId, p.since, p.now]);
    return { creditsUsed: row!.used, jobsSince: row!.since, totalJobs: row!.total, activeKeys: row!.keys };
  }

  // ---- across processes ----

  async rateLimitConsume(p: { keyId: string; limit: number; now: Millis }) {
    return this.limiter.consume(p.keyId, p.limit, p.now);
  }

  async subscribe(onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>> {
    const listener = new PgListener(this.config, `genjobs:${this.schemaName}`, onNotice, this.onBackgroundError);
    await listener.start();
    return () => listener.stop();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.limiter.releaseAll();
    await this.pool.end();
  }
}
