import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { newId } from '../../ids.js';
import { QUEUE_POSITION_CAP, type JobListFilter, type Store } from '../store.js';
import type { ApiKeyRecord, AppRecord, JobLogLine, JobRecord, WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSecrets, WorkerRecord, LedgerKind, Millis, QueueSummaryRecord, RunType, UserRecord } from '../records.js';
import { migrateSqlite } from './migrate.js';
import { GroupCommit } from './group-commit.js';
import { IDEMPOTENCY_WINDOW_MS, webhookEvent } from '../webhook-outbox.js';
import { SlidingWindowLimiter } from '../../ratelimit/sliding-window.js';
import type { JobNotice } from '../../jobs/events.js';
import {
  newJobRecord, toApiKey, toApp, toDelivery, toJob, toLedger, toUser, toWorker,
  type ApiKeyRow, type AppRow, type DeliveryRow, type JobRow, type LedgerRow, type UserRow, type WorkerRow,
} from './rows.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  filename: string;
}

/** Queue positions below this are counted from the front of the queue, larger ones from the back. */
const NEAR_FRONT = 128;

/** The embedded store: one SQLite file in WAL mode, written through immediate transactions. */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  /** SQLite serves one process, so the rate-limit window lives in its memory. */
  private readonly limiter = new SlidingWindowLimiter();
  /** Job creations and outcomes made in one event-loop turn share a commit. */
  private readonly group: GroupCommit;

  constructor(opts: SqliteStoreOptions) {
    if (opts.filename !== ':memory:') fs.mkdirSync(path.dirname(opts.filename), { recursive: true });
    this.db = new Database(opts.filename);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only an OS crash can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrateSqlite(this.db);
    this.group = new GroupCommit(this.db);
  }

  /** Prepares each distinct SQL text once. */
  private sql(text: string): Database.Statement {
    let st = this.cache.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.cache.set(text, st);
    }
    return st;
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Writes the webhook delivery a terminal job owes, if it has a webhook_url; the caller holds the transaction. */
  private outbox(job: JobRow, now: Millis): void {
    if (!job.webhook_url) return;
    this.sql(`INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
              VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`)
      .run(newId(), job.id, job.user_id, job.webhook_url, webhookEvent(job.status), now, now);
  }

  /** Moves a balance and writes the ledger entry for it; the caller holds the transaction. */
  private ledgerAppend(p: { userId: string; jobId: string | null; kind: LedgerKind; amount: number; reason: string | null; now: Millis }): number {
    const row = this.sql('UPDATE users SET credits = credits + ? WHERE id = ? RETURNING credits').get(p.amount, p.userId) as { credits: number };
    this.sql(`INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(newId(), p.userId, p.jobId, p.kind, p.amount, row.credits, p.reason, p.now);
    return row.credits;
  }

  // ---- users and credits ----

  async userCreate(p: { name: string | null; credits: number; apiAccess?: boolean; now: Millis }): Promise<UserRecord> {
    return this.tx(() => {
      const id = newId();
      this.sql('INSERT INTO users (id, name, credits, api_access, created_at) VALUES (?, ?, 0, ?, ?)')
        .run(id, p.name, p.apiAccess === false ? 0 : 1, p.now);
      if (p.credits > 0) this.ledgerAppend({ userId: id, jobId: null, kind: 'grant', amount: p.credits, reason: 'initial credits', now: p.now });
      return toUser(this.sql('SELECT * FROM users WHERE id = ?').get(id) as UserRow);
    });
  }

  async userGetById(p: { id: string }): Promise<UserRecord | null> {
    const row = this.sql('SELECT * FROM users WHERE id = ?').get(p.id) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async userList(p: { limit: number; afterId?: string; order?: 'asc' | 'desc' }): Promise<UserRecord[]> {
    const [after, order] = p.order === 'desc' ? ['<', 'DESC'] : ['>', 'ASC'];
    const rows = p.afterId === undefined
      ? this.sql(`SELECT * FROM users ORDER BY id ${order} LIMIT ?`).all(p.limit)
      : this.sql(`SELECT * FROM users WHERE id ${after} ? ORDER BY id ${order} LIMIT ?`).all(p.afterId, p.limit);
    return (rows as UserRow[]).map(toUser);
  }

  async userGrantCredits(p: { userId: string; amount: number; reason: string | null; now: Millis }) {
    return this.tx(() => {
      const row = this.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number } | undefined;
      if (!row) return { ok: false as const, reason: 'not_found' as const };
      if (row.credits + p.amount < 0) return { ok: false as const, reason: 'insufficient' as const, available: row.credits };
      if (p.amount !== 0) this.ledgerAppend({ userId: p.userId, jobId: null, kind: 'grant', amount: p.amount, reason: p.reason, now: p.now });
      return { ok: true as const, user: toUser(this.sql('SELECT * FROM users WHERE id = ?').get(p.userId) as UserRow) };
    });
  }

  async userSetApiAccess(p: { userId: string; apiAccess: boolean }): Promise<UserRecord | null> {
    const row = this.sql('UPDATE users SET api_access = ? WHERE id = ? RETURNING *').get(p.apiAccess ? 1 : 0, p.userId) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  // ---- API keys ----

  async apiKeyCreate(p: {
    userId: string; name: string | null; keyPrefix: string; keyHash: string; expiresAt: Millis | null; rateLimitPerMinute: number; now: Millis;
  }): Promise<ApiKeyRecord> {
    const row = this.sql(`INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, expires_at, rate_limit_per_minute, is_active, created_at)
                          VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING *`)
      .get(newId(), p.userId, p.name, p.keyPrefix, p.keyHash, p.expiresAt, p.rateLimitPerMinute, p.now) as ApiKeyRow;
    return toApiKey(row);
  }

  async apiKeyGetByHash(p: { keyHash: string }) {
    // Every authenticated request asks: one statement for the key and its account.
    const row = this.sql(`SELECT k.*, u.name AS u_name, u.credits AS u_credits, u.api_access AS u_api_access,
        u.subscription AS u_subscription, u.created_at AS u_created_at
      FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?`).get(p.keyHash) as
      (ApiKeyRow & { u_name: string | null; u_credits: number; u_api_access: number; u_subscription: string | null; u_created_at: number }) | undefined;
    if (!row) return null;
    const user: UserRow = {
      id: row.user_id, name: row.u_name, credits: row.u_credits, api_access: row.u_api_access, subscription: row.u_subscription, created_at: row.u_created_at,
    };
    return { key: toApiKey(row), user: toUser(user) };
  }

  async apiKeyListByUser(p: { userId: string }): Promise<ApiKeyRecord[]> {
    return (this.sql('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id').all(p.userId) as ApiKeyRow[]).map(toApiKey);
  }

  async apiKeyRevoke(p: { userId: string; keyId: string }): Promise<ApiKeyRecord | null> {
    const row = this.sql('UPDATE api_keys SET is_active = 0 WHERE id = ? AND user_id = ? RETURNING *').get(p.keyId, p.userId) as ApiKeyRow | undefined;
    return row ? toApiKey(row) : null;
  }

  // ---- private apps ----

  async appCreate(p: { id: string; userId: string; definition: unknown; now: Millis }): Promise<AppRecord> {
    const row = this.sql(`INSERT INTO apps (id, user_id, definition, is_active, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?) RETURNING *`)
      .get(p.id, p.userId, JSON.stringify(p.definition), p.now, p.now) as AppRow;
    return toApp(row);
  }

  async appUpdate(p: { id: string; definition: unknown; now: Millis }): Promise<AppRecord | null> {
    const row = this.sql('UPDATE apps SET definition = ?, updated_at = ? WHERE id = ? RETURNING *').get(JSON.stringify(p.definition), p.now, p.id) as AppRow | undefined;
    return row ? toApp(row) : null;
  }

  async appSetActive(p: { id: string; isActive: boolean; now: Millis }): Promise<AppRecord | null> {
    const row = this.sql('UPDATE apps SET is_active = ?, updated_at = ? WHERE id = ? RETURNING *').get(p.isActive ? 1 : 0, p.now, p.id) as AppRow | undefined;
    return row ? toApp(row) : null;
  }

  async appGetById(p: { id: string }): Promise<AppRecord | null> {
    const row = this.sql('SELECT * FROM apps WHERE id = ?').get(p.id) as AppRow | undefined;
    return row ? toApp(row) : null;
  }

  async appListByUser(p: { userId: string }): Promise<AppRecord[]> {
    return (this.sql('SELECT * FROM apps WHERE user_id = ? ORDER BY created_at, id').all(p.userId) as AppRow[]).map(toApp);
  }

  // ---- jobs: creation and reads ----

  async jobCreateCharged(p: {
    id: string; userId: string; runType: 'model' | 'app'; modelId: string | null; appId: string | null;
    inputData: unknown; webhookUrl: string | null; cost: number; now: Millis;
    cancelAfterAt?: Millis | null; retryOf?: string | null; idempotency?: { key: string; requestHash: string };
  }) {
    return this.group.submit(() => {
      if (p.idempotency) {
        const seen = this.sql('SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?')
          .get(p.userId, p.idempotency.key) as { request_hash: string; job_id: string; created_at: number } | undefined;
        if (seen && seen.created_at > p.now - IDEMPOTENCY_WINDOW_MS) {
          if (seen.request_hash !== p.idempotency.requestHash) return { ok: false as const, reason: 'idempotency_conflict' as const, jobId: seen.job_id };
          const job = toJob(this.sql('SELECT * FROM jobs WHERE id = ?').get(seen.job_id) as JobRow);
          const { credits } = this.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number };
          return { ok: true as const, job, balance: credits, replayed: true };
        }
        if (seen) this.sql('DELETE FROM idempotency_keys WHERE user_id = ? AND key = ?').run(p.userId, p.idempotency.key);
      }
      const debited = this.sql('UPDATE users SET credits = credits - ? WHERE id = ? AND credits >= ? RETURNING credits')
        .get(p.cost, p.userId, p.cost) as { credits: number } | undefined;
      if (!debited) {
        const row = this.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number } | undefined;
        return { ok: false as const, reason: 'insufficient' as const, available: row?.credits ?? 0 };
      }
      const inputJson = JSON.stringify(p.inputData);
      this.sql(`INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at, cancel_after_at, retry_of)
                VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`)
        .run(p.id, p.userId, p.runType, p.modelId, p.appId, inputJson, p.cost, p.webhookUrl, p.now, p.cancelAfterAt ?? null, p.retryOf ?? null);
      if (p.cost > 0) {
        this.sql(`INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
                  VALUES (?, ?, ?, 'charge', ?, ?, ?, ?)`)
          .run(newId(), p.userId, p.id, -p.cost, debited.credits, `run of ${p.modelId ?? p.appId}`, p.now);
      }
      if (p.idempotency) {
        this.sql('INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(p.userId, p.idempotency.key, p.idempotency.requestHash, p.id, p.now);
      }
      // The new row is known from what was inserted: no read back.
      const job = newJobRecord({
        id: p.id, userId: p.userId, runType: p.runType, modelId: p.modelId, appId: p.appId, inputJson, cost: p.cost,
        webhookUrl: p.webhookUrl, now: p.now, cancelAfterAt: p.cancelAfterAt ?? null, retryOf: p.retryOf ?? null,
      });
      return { ok: true as const, job, balance: debited.credits, replayed: false };
    });
  }

  async jobGetById(p: { id: string; userId?: string }): Promise<JobRecord | null> {
    const row = (p.userId === undefined
      ? this.sql('SELECT * FROM jobs WHERE id = ?').get(p.id)
      : this.sql('SELECT * FROM jobs WHERE id = ? AND user_id = ?').get(p.id, p.userId)) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  async jobList(p: JobListFilter & { userId: string; limit: number; startingAfter?: { createdAt: Millis; id: string } }): Promise<JobRecord[]> {
    const where = ['user_id = ?'];
    const args: unknown[] = [p.userId];
    const add = (clause: string, ...values: unknown[]) => { where.push(clause); args.push(...values); };
    if (p.status !== undefined) add('status = ?', p.status);
    if (p.runType !== undefined) add('run_type = ?', p.runType);
    if (p.modelId !== undefined) add('model_id = ?', p.modelId);
    if (p.appId !== undefined) add('app_id = ?', p.appId);
    if (p.createdAfter !== undefined) add('created_at > ?', p.createdAfter);
    if (p.createdBefore !== undefined) add('created_at < ?', p.createdBefore);
    // A row value, so the (user_id, created_at, id) index serves deep cursor pages too.
    if (p.startingAfter) add('(created_at, id) < (?, ?)', p.startingAfter.createdAt, p.startingAfter.id);
    const text = `SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.sql(text).all(...args, p.limit) as JobRow[]).map(toJob);
  }

  async jobQueuePosition(p: { id: string; createdAt: Millis }): Promise<number> {
    // Counted from whichever end of the queue is nearer, so that a job near either end costs a
    // few index entries: first the jobs ahead, up to a few; if there are more, the jobs from this
    // one to the back, subtracted from the pending count (kept by triggers). (Separate reads: a
    // commit of another process between them can move the answer by what it changed, as it
    // could a moment later anyway.)
    const from = { createdAt: p.createdAt, id: p.id, cap: QUEUE_POSITION_CAP, near: NEAR_FRONT };
    const ahead = this.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND (created_at, id) < (@createdAt, @id) LIMIT @near)`)
      .get(from) as { n: number };
    if (ahead.n < NEAR_FRONT) return ahead.n;
    const { pending } = this.sql('SELECT pending FROM job_queue_count WHERE id = 1').get() as { pending: number };
    // A short queue is counted whole (a plain COUNT is several times cheaper than one under a LIMIT); a long one up to the cap.
    const behind = (pending <= QUEUE_POSITION_CAP
      ? this.sql(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'pending' AND (created_at, id) >= (@createdAt, @id)`).get(from)
      : this.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND (created_at, id) >= (@createdAt, @id) LIMIT @cap)`).get(from)) as { n: number };
    if (behind.n < QUEUE_POSITION_CAP) return Math.min(QUEUE_POSITION_CAP, Math.max(NEAR_FRONT, pending - behind.n));
    // Deep in a long queue: counted from the front.
    const counted = this.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND (created_at, id) < (@createdAt, @id) LIMIT @cap)`)
      .get(from) as { n: number };
    return counted.n;
  }

  // ---- jobs: moves ----

  async jobCancel(p: { id: string; userId: string; now: Millis; refundFor: (job: JobRecord) => number }) {
    return this.tx(() => {
      const row = this.sql('SELECT * FROM jobs WHERE id = ? AND user_id = ?').get(p.id, p.userId) as JobRow | undefined;
      if (!row) return null;
      const before = toJob(row);
      if (before.status !== 'pending' && before.status !== 'processing') return { changed: false as const, job: before };
      const refund = Math.max(0, Math.min(before.creditsCharged - before.creditsRefunded, Math.floor(p.refundFor(before))));
      const updated = this.sql(`UPDATE jobs SET status = 'cancelled', cancelled_at = ?, completed_at = ?, credits_refunded = credits_refunded + ?,
                                  lease_owner = NULL, lease_expires_at = NULL
                                WHERE id = ? AND status IN ('pending', 'processing') RETURNING *`)
        .get(p.now, p.now, refund, p.id) as JobRow;
      if (refund > 0) this.ledgerAppend({ userId: p.userId, jobId: p.id, kind: 'refund', amount: refund, reason: 'job cancelled', now: p.now });
      this.outbox(updated, p.now);
      return { changed: true as const, job: toJob(updated), previousStatus: before.status };
    });
  }

  async jobClaim(p: { owner: string; limit: number; leaseMs: number; now: Millis; excludeModels?: string[]; onlyModels?: string[]; maxAttempts: number }): Promise<JobRecord[]> {
    if (p.limit <= 0) return [];
    const args = {
      owner: p.owner, expiry: p.now + p.leaseMs, now: p.now, maxAttempts: p.maxAttempts,
      exclude: JSON.stringify(p.excludeModels ?? []), only: JSON.stringify(p.onlyModels ?? []), limit: p.limit,
    };
    const models = `COALESCE(model_id, '') NOT IN (SELECT value FROM json_each(@exclude))`
      + (p.onlyModels ? ` AND model_id IN (SELECT value FROM json_each(@only))` : '');
    const set = `SET status = 'processing', attempts = attempts + 1, lease_owner = @owner, lease_token = lease_token + 1,
                     lease_expires_at = @expiry, started_at = COALESCE(started_at, MAX(@now, created_at))`;
    // A read first, outside any write transaction: most claims find nothing (an idle queue, or an
    // executor keeping up), and those must not wait for the write lock nor pay for a commit.
    const expiredSql = `SELECT id FROM jobs WHERE status = 'processing' AND lease_expires_at <= @now AND attempts < @maxAttempts AND ${models}
                        ORDER BY lease_expires_at LIMIT @limit`;
    const pendingSql = `SELECT id FROM jobs WHERE status = 'pending' AND ${models} ORDER BY created_at, id LIMIT @limit`;
    const anyExpired = this.sql(expiredSql).get({ ...args, limit: 1 }) !== undefined;
    if (!anyExpired && this.sql(pendingSql).get({ ...args, limit: 1 }) === undefined) return [];
    // The claim itself picks again inside the write transaction, so claims made at once (this
    // process's, or the CLI's) each get different jobs, and as many as there are.
    const rows = await this.group.submit(() => {
      // Jobs whose holder died come first: they have waited longest.
      const reclaimed = anyExpired ? this.sql(`UPDATE jobs ${set} WHERE id IN (${expiredSql}) RETURNING *`).all(args) as JobRow[] : [];
      const rest = p.limit - reclaimed.length;
      const fresh = rest <= 0 ? [] : this.sql(`UPDATE jobs ${set} WHERE id IN (${pendingSql}) RETURNING *`).all({ ...args, limit: rest }) as JobRow[];
      return [...reclaimed, ...fresh];
    });
    return rows.map(toJob).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  async jobLeaseExtend(p: { owner: string; ids: string[]; leaseMs: number; now: Millis }): Promise<string[]> {
    if (p.ids.length === 0) return [];
    const rows = this.sql(`UPDATE jobs SET lease_expires_at = ? WHERE id IN (SELECT value FROM json_each(?))
                           AND status = 'processing' AND lease_owner = ? RETURNING id`)
      .all(p.now + p.leaseMs, JSON.stringify(p.ids), p.owner) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async jobComplete(p: { id: string; leaseToken: number; outputData: unknown; now: Millis }): Promise<JobRecord | null> {
    return this.group.submit(() => {
      const row = this.sql(`UPDATE jobs SET status = 'completed', output_data = ?, completed_at = ?, lease_owner = NULL, lease_expires_at = NULL
                            WHERE id = ? AND status = 'processing' AND lease_token = ? RETURNING *`)
        .get(JSON.stringify(p.outputData ?? null), p.now, p.id, p.leaseToken) as JobRow | undefined;
      if (!row) return null;
      this.outbox(row, p.now);
      return toJob(row);
    });
  }

  private failAndRefund(id: string, guard: string, guardArgs: unknown[], errorMessage: string, now: Millis): JobRecord | null {
    const row = this.sql(`UPDATE jobs SET status = 'failed', error_message = ?, completed_at = ?, credits_refunded = credits_charged,
                            lease_owner = NULL, lease_expires_at = NULL
                          WHERE id = ? AND status = 'processing' AND ${guard}
                          RETURNING *`)
      .get(errorMessage, now, id, ...guardArgs) as JobRow | undefined;
    if (!row) return null;
    this.outbox(row, now);
    const job = toJob(row);
    // credits_refunded was 0 before: only a cancel refunds otherwise, and a cancelled job is not processing.
    if (job.creditsCharged > 0) this.ledgerAppend({ userId: job.userId, jobId: job.id, kind: 'refund', amount: job.creditsCharged, reason: 'job failed', now });
    return job;
  }

  async jobFail(p: { id: string; leaseToken: number; errorMessage: string; now: Millis }): Promise<JobRecord | null> {
    return this.group.submit(() => this.failAndRefund(p.id, 'lease_token = ?', [p.leaseToken], p.errorMessage, p.now));
  }

  async jobSetOutput(p: { id: string; leaseToken: number; outputData: unknown }): Promise<boolean> {
    const info = this.sql(`UPDATE jobs SET output_data = ? WHERE id = ? AND status = 'processing' AND lease_token = ?`)
      .run(JSON.stringify(p.outputData ?? null), p.id, p.leaseToken);
    return info.changes === 1;
  }

  async jobRelease(p: { id: string; leaseToken: number; now: Millis }): Promise<boolean> {
    const info = this.sql(`UPDATE jobs SET lease_owner = NULL, lease_expires_at = ?, attempts = MAX(attempts - 1, 0)
                           WHERE id = ? AND status = 'processing' AND lease_token = ?`)
      .run(p.now, p.id, p.leaseToken);
    return info.changes === 1;
  }

  async jobFailAbandoned(p: { now: Millis; maxAttempts: number }): Promise<JobRecord[]> {
    return this.tx(() => {
      const ids = this.sql(`SELECT id FROM jobs WHERE status = 'processing' AND lease_expires_at <= ? AND attempts >= ?`)
        .all(p.now, p.maxAttempts) as { id: string }[];
      const message = `The job was abandoned: its executor stopped renewing the lease on each of ${p.maxAttempts} attempts.`;
      return ids
        .map(({ id }) => this.failAndRefund(id, 'lease_expires_at <= ?', [p.now], message, p.now))
        .filter((j): j is JobRecord => j !== null);
    });
  }

  async jobListPastDeadline(p: { now: Millis; limit: number }): Promise<{ id: string; userId: string }[]> {
    const rows = this.sql(`SELECT id, user_id FROM jobs WHERE cancel_after_at IS NOT NULL AND cancel_after_at <= ?
                           AND status IN ('pending', 'processing') LIMIT ?`).all(p.now, p.limit) as { id: string; user_id: string }[];
    return rows.map((r) => ({ id: r.id, userId: r.user_id }));
  }

  async jobReportProgress(p: { id: string; leaseToken: number; progress: number | null; logs: string[]; now: Millis }): Promise<boolean> {
    return this.tx(() => {
      const held = this.sql(`UPDATE jobs SET progress = COALESCE(?, progress) WHERE id = ? AND status = 'processing' AND lease_token = ? RETURNING id`)
        .get(p.progress, p.id, p.leaseToken);
      if (!held) return false;
      if (p.logs.length > 0) {
        const { next } = this.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM job_logs WHERE job_id = ?').get(p.id) as { next: number };
        const insert = this.sql('INSERT INTO job_logs (job_id, seq, line, created_at) VALUES (?, ?, ?, ?)');
        p.logs.forEach((line, i) => insert.run(p.id, next + i, line, p.now));
      }
      return true;
    });
  }

  async jobLogList(p: { id: string; limit: number }): Promise<JobLogLine[]> {
    const rows = this.sql('SELECT seq, line, created_at FROM job_logs WHERE job_id = ? ORDER BY seq LIMIT ?').all(p.id, p.limit) as { seq: number; line: string; created_at: number }[];
    return rows.map((r) => ({ seq: r.seq, line: r.line, createdAt: r.created_at }));
  }

  // ---- webhooks ----

  async webhookClaimDue(p: { owner: string; now: Millis; limit: number; leaseMs: number }): Promise<WebhookDeliveryRecord[]> {
    // A read first: the dispatcher looks after every finished job, and most have no webhook.
    if (!this.sql(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1`).get(p.now)) return [];
    const rows = this.sql(`UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ?
      WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
                   AND (lease_expires_at IS NULL OR lease_expires_at <= ?) ORDER BY next_attempt_at LIMIT ?)
      RETURNING *`).all(p.owner, p.now + p.leaseMs, p.now, p.now, p.limit) as DeliveryRow[];
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  }

  async webhookRecordAttempt(p: {
    id: string; owner: string; attempt: WebhookAttemptRecord; result: 'delivered' | 'retry' | 'failed'; nextAttemptAt: Millis; payload: string;
  }): Promise<boolean> {
    return this.tx(() => {
      const status = p.result === 'retry' ? 'pending' : p.result;
      const row = this.sql(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_status_code = ?,
          last_error = ?, payload = COALESCE(payload, ?), delivered_at = ?, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = ? AND lease_owner = ? AND status = 'pending' RETURNING job_id, attempts`)
        .get(status, p.nextAttemptAt, p.attempt.statusCode, p.attempt.error, p.payload, p.result === 'delivered' ? p.attempt.at : null, p.id, p.owner) as
        { job_id: string; attempts: number } | undefined;
      if (!row) return false;
      this.sql('INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(p.id, row.attempts, p.attempt.at, p.attempt.statusCode, p.attempt.error, p.attempt.durationMs);
      if (p.result === 'delivered') this.sql('UPDATE jobs SET webhook_delivered = 1 WHERE id = ?').run(row.job_id);
      return true;
    });
  }

  async webhookFailEndpoint(p: { userId: string; url: string; reason: string; now: Millis }): Promise<number> {
    return this.sql(`UPDATE webhook_deliveries SET status = 'failed', last_error = ? WHERE user_id = ? AND url = ? AND status = 'pending'`)
      .run(p.reason, p.userId, p.url).changes;
  }

  async webhookListByJob(p: { jobId: string }) {
    const deliveries = (this.sql('SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at, id').all(p.jobId) as DeliveryRow[]).map(toDelivery);
    return deliveries.map((d) => ({
      ...d,
      attemptLog: (this.sql('SELECT n, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY n').all(d.id) as
        { n: number; at: number; status_code: number | null; error: string | null; duration_ms: number }[])
        .map((a) => ({ n: a.n, at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
    }));
  }

  async userWebhookSecrets(p: { userId: string }): Promise<WebhookSecrets | null> {
    const row = this.sql('SELECT webhook_secret, webhook_secret_previous, webhook_secret_previous_until FROM users WHERE id = ?').get(p.userId) as
      { webhook_secret: string | null; webhook_secret_previous: string | null; webhook_secret_previous_until: number | null } | undefined;
    return row ? { current: row.webhook_secret, previous: row.webhook_secret_previous, previousUntil: row.webhook_secret_previous_until } : null;
  }

  async userSetWebhookSecret(p: { userId: string; secret: string; previousUntil: Millis | null; onlyIfUnset: boolean }): Promise<WebhookSecrets | null> {
    this.tx(() => {
      if (p.onlyIfUnset) {
        this.sql('UPDATE users SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL').run(p.secret, p.userId);
      } else {
        this.sql(`UPDATE users SET webhook_secret_previous = CASE WHEN ? IS NULL THEN NULL ELSE webhook_secret END,
                    webhook_secret_previous_until = ?, webhook_secret = ? WHERE id = ?`).run(p.previousUntil, p.previousUntil, p.secret, p.userId);
      }
    });
    return this.userWebhookSecrets({ userId: p.userId });
  }

  // ---- workers ----

  async workerCreate(p: { id: string; name: string | null; tokenHash: string; models: string[]; now: Millis }): Promise<WorkerRecord> {
    const row = this.sql('INSERT INTO workers (id, name, token_hash, models, is_active, created_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING *')
      .get(p.id, p.name, p.tokenHash, JSON.stringify(p.models), p.now) as WorkerRow;
    return toWorker(row);
  }

  async workerAuthenticate(p: { tokenHash: string; now: Millis }): Promise<WorkerRecord | null> {
    const row = this.sql('UPDATE workers SET last_seen_at = ? WHERE token_hash = ? AND is_active = 1 RETURNING *').get(p.now, p.tokenHash) as WorkerRow | undefined;
    return row ? toWorker(row) : null;
  }

  // ---- operator views ----

  async jobQueueSummary(): Promise<QueueSummaryRecord> {
    // One statement per status, so each reads only its partial index's jobs.
    const group = (status: 'pending' | 'processing') => (this.sql(
      `SELECT run_type, model_id, app_id, COUNT(*) AS n FROM jobs WHERE status = '${status}' GROUP BY run_type, model_id, app_id ORDER BY n DESC`,
    ).all() as { run_type: RunType; model_id: string | null; app_id: string | null; n: number }[])
      .map((r) => ({ status, runType: r.run_type, modelId: r.model_id, appId: r.app_id, count: r.n }));
    const oldest = this.sql(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'pending'`).get() as { t: number | null };
    return { groups: [...group('pending'), ...group('processing')], oldestPendingCreatedAt: oldest.t };
  }

  async workerList(): Promise<WorkerRecord[]> {
    return (this.sql('SELECT * FROM workers ORDER BY created_at, id').all() as WorkerRow[]).map(toWorker);
  }

  async workerRevoke(p: { id: string }): Promise<WorkerRecord | null> {
    const row = this.sql('UPDATE workers SET is_active = 0 WHERE id = ? RETURNING *').get(p.id) as WorkerRow | undefined;
    return row ? toWorker(row) : null;
  }

  // ---- ledger and usage ----

  async ledgerList(p: { userId: string; limit: number; jobId?: string }) {
    const rows = (p.jobId === undefined
      ? this.sql('SELECT * FROM ledger_entries WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?').all(p.userId, p.limit)
      : this.sql('SELECT * FROM ledger_entries WHERE user_id = ? AND job_id = ? ORDER BY created_at DESC, id DESC LIMIT ?').all(p.userId, p.jobId, p.limit)) as LedgerRow[];
    return rows.map(toLedger);
  }

  async accountUsage(p: { userId: string; since: Millis; now: Millis }) {
    const used = this.sql(`SELECT COALESCE(-SUM(amount), 0) AS n FROM ledger_entries
                           WHERE user_id = ? AND kind IN ('charge', 'refund') AND created_at >= ?`).get(p.userId, p.since) as { n: number };
    const since = this.sql('SELECT COUNT(*) AS n FROM jobs WHERE user_id = ? AND created_at >= ?').get(p.userId, p.since) as { n: number };
    const total = this.sql('SELECT COUNT(*) AS n FROM jobs WHERE user_id = ?').get(p.userId) as { n: number };
    const keys = this.sql('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND is_active = 1 AND (expires_at IS NULL OR expires_at > ?)')
      .get(p.userId, p.now) as { n: number };
    return { creditsUsed: used.n, jobsSince: since.n, totalJobs: total.n, activeKeys: keys.n };
  }

  // ---- across processes ----

  async rateLimitConsume(p: { keyId: string; limit: number; now: Millis }) {
    return this.limiter.consume(p.keyId, p.limit, p.now);
  }

  /** One process: its own in-process events say everything, so there is nothing to hear. */
  async subscribe(_onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>> {
    return async () => {};
  }

  async close(): Promise<void> {
    // Writes already asked for are committed before the database closes.
    if (this.db.open) this.group.flush();
    this.cache.clear();
    if (this.db.open) this.db.close();
  }
}
