import { newId } from '../../ids.js';
import { abandonedMessage, byQueueOrder, IDEMPOTENCY_WINDOW_MS, LedgerReason, refundOnCancel } from '../rules.js';
import {
  type JobCancelParams, type JobCancelResult, type JobClaimParams, type JobCompleteParams, type JobCreateChargedParams,
  type JobCreateChargedResult, type JobFailAbandonedParams, type JobFailParams, type JobGetByIdParams, type JobLeaseExtendParams,
  type JobListParams, type JobListPastDeadlineParams, type JobLogLine, type JobLogListParams, type JobPastDeadline,
  type JobRecord, type JobReleaseParams, type JobReportProgressParams, type JobSetOutputParams,
} from '../store.js';
import { canMove, priorityRank, type Millis } from '../vocabulary.js';
import type { SqliteDb } from './db.js';
import * as fair from './fair.js';
import * as ledger from './ledger.js';
import { newJobRecord, toJob, type JobRow } from './rows.js';
import { outboxInsert } from './webhooks.js';

/**
 * The SQL of jobs: creating them with their charge, reading them, and every move of their
 * status. Each move is one guarded statement in a transaction that writes the refund and the
 * webhook delivery it owes with it. Creations, claims, completions and failures go through the
 * group commit (`group-commit.ts`): those of one turn share a transaction.
 */

// ---- creation ----

export function createCharged(db: SqliteDb, p: JobCreateChargedParams): Promise<JobCreateChargedResult> {
  return db.group.submit((): JobCreateChargedResult => {
    if (p.idempotency) {
      const seen = db.sql('SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?')
        .get(p.userId, p.idempotency.key) as { request_hash: string; job_id: string; created_at: number } | undefined;
      if (seen && seen.created_at > p.now - IDEMPOTENCY_WINDOW_MS) {
        if (seen.request_hash !== p.idempotency.requestHash) return { ok: false, reason: 'idempotency_conflict', jobId: seen.job_id };
        const job = toJob(db.sql('SELECT * FROM jobs WHERE id = ?').get(seen.job_id) as JobRow);
        const { credits } = db.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number };
        return { ok: true, job, balance: credits, replayed: true };
      }
      if (seen) db.sql('DELETE FROM idempotency_keys WHERE user_id = ? AND key = ?').run(p.userId, p.idempotency.key);
    }
    const debited = db.sql('UPDATE users SET credits = credits - ? WHERE id = ? AND credits >= ? RETURNING credits')
      .get(p.cost, p.userId, p.cost) as { credits: number } | undefined;
    if (!debited) {
      const row = db.sql('SELECT credits FROM users WHERE id = ?').get(p.userId) as { credits: number } | undefined;
      return { ok: false, reason: 'insufficient', available: row?.credits ?? 0 };
    }
    const inputJson = JSON.stringify(p.inputData);
    const specJson = p.runSpec === undefined || p.runSpec === null ? null : JSON.stringify(p.runSpec);
    const priority = p.priority ?? 'normal';
    db.sql(`INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at, cancel_after_at, retry_of, run_spec, priority)
            VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(p.id, p.userId, p.runType, p.modelId, p.appId, inputJson, p.cost, p.webhookUrl, p.now, p.cancelAfterAt ?? null, p.retryOf ?? null, specJson,
        priorityRank(priority));
    if (p.cost > 0) {
      db.sql(`INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at, seq)
              VALUES (?, ?, ?, 'charge', ?, ?, ?, ?, ${ledger.NEXT_SEQ})`)
        .run(newId(), p.userId, p.id, -p.cost, debited.credits, LedgerReason.charge(p), p.now, p.userId);
    }
    if (p.idempotency) {
      db.sql('INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(p.userId, p.idempotency.key, p.idempotency.requestHash, p.id, p.now);
    }
    // The new row is known from what was inserted: no read back.
    const job = newJobRecord({
      id: p.id, userId: p.userId, runType: p.runType, modelId: p.modelId, appId: p.appId, inputJson, cost: p.cost,
      webhookUrl: p.webhookUrl, now: p.now, cancelAfterAt: p.cancelAfterAt ?? null, retryOf: p.retryOf ?? null,
      runSpec: specJson === null ? null : JSON.parse(specJson), priority,
    });
    return { ok: true, job, balance: debited.credits, replayed: false };
  });
}

// ---- reads ----

export function getById(db: SqliteDb, p: JobGetByIdParams): JobRecord | null {
  const row = (p.userId === undefined
    ? db.sql('SELECT * FROM jobs WHERE id = ?').get(p.id)
    : db.sql('SELECT * FROM jobs WHERE id = ? AND user_id = ?').get(p.id, p.userId)) as JobRow | undefined;
  return row ? toJob(row) : null;
}

export function list(db: SqliteDb, p: JobListParams): JobRecord[] {
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
  return (db.sql(text).all(...args, p.limit) as JobRow[]).map(toJob);
}

export function listPastDeadline(db: SqliteDb, p: JobListPastDeadlineParams): JobPastDeadline[] {
  const rows = db.sql(`SELECT id, user_id FROM jobs WHERE cancel_after_at IS NOT NULL AND cancel_after_at <= ?
                       AND status IN ('pending', 'processing') LIMIT ?`).all(p.now, p.limit) as { id: string; user_id: string }[];
  return rows.map((r) => ({ id: r.id, userId: r.user_id }));
}

// ---- moves ----

export function cancel(db: SqliteDb, p: JobCancelParams): JobCancelResult | null {
  return db.tx((): JobCancelResult | null => {
    const row = db.sql('SELECT * FROM jobs WHERE id = ? AND user_id = ?').get(p.id, p.userId) as JobRow | undefined;
    if (!row) return null;
    const before = toJob(row);
    if (!canMove(before.status, 'cancelled')) return { changed: false, job: before };
    const refund = refundOnCancel(before, p.refundFor(before));
    const updated = db.sql(`UPDATE jobs SET status = 'cancelled', cancelled_at = ?, completed_at = ?, credits_refunded = credits_refunded + ?,
                              lease_owner = NULL, lease_expires_at = NULL
                            WHERE id = ? AND status IN ('pending', 'processing') RETURNING *`)
      .get(p.now, p.now, refund, p.id) as JobRow;
    if (refund > 0) ledger.append(db, { userId: p.userId, jobId: p.id, kind: 'refund', amount: refund, reason: LedgerReason.cancelled, now: p.now });
    outboxInsert(db, updated, p.now);
    return { changed: true, job: toJob(updated), previousStatus: before.status };
  });
}

export async function claim(db: SqliteDb, p: JobClaimParams): Promise<JobRecord[]> {
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
  const anyExpired = db.sql(expiredSql).get({ ...args, limit: 1 }) !== undefined;
  if (!anyExpired && db.sql(pendingSql).get({ ...args, limit: 1 }) === undefined) return [];
  // The claim itself picks again inside the write transaction, so claims made at once (this
  // process's, or the CLI's) each get different jobs, and as many as there are.
  const rows = await db.group.submit(() => {
    // Jobs whose holder died come first: they have waited longest.
    const reclaimed = anyExpired ? db.sql(`UPDATE jobs ${set} WHERE id IN (${expiredSql}) RETURNING *`).all(args) as JobRow[] : [];
    const rest = p.limit - reclaimed.length;
    // Then pending jobs in the fair order (fair.ts), in the order they were picked.
    return [...reclaimed.map(toJob).sort(byQueueOrder), ...(rest <= 0 ? [] : fair.pickFresh(db, p, args, models, rest).map(toJob))];
  });
  return rows;
}

export function leaseExtend(db: SqliteDb, p: JobLeaseExtendParams): string[] {
  if (p.ids.length === 0) return [];
  const rows = db.sql(`UPDATE jobs SET lease_expires_at = ? WHERE id IN (SELECT value FROM json_each(?))
                       AND status = 'processing' AND lease_owner = ? RETURNING id`)
    .all(p.now + p.leaseMs, JSON.stringify(p.ids), p.owner) as { id: string }[];
  return rows.map((r) => r.id);
}

export function complete(db: SqliteDb, p: JobCompleteParams): Promise<JobRecord | null> {
  return db.group.submit(() => {
    const row = db.sql(`UPDATE jobs SET status = 'completed', output_data = ?, completed_at = ?, lease_owner = NULL, lease_expires_at = NULL
                        WHERE id = ? AND status = 'processing' AND lease_token = ? RETURNING *`)
      .get(JSON.stringify(p.outputData ?? null), p.now, p.id, p.leaseToken) as JobRow | undefined;
    if (!row) return null;
    outboxInsert(db, row, p.now);
    return toJob(row);
  });
}

/** processing -> failed with a full refund, where `guard` (SQL) still holds; the caller holds the transaction. */
function failAndRefund(db: SqliteDb, id: string, guard: string, guardArgs: unknown[], errorMessage: string, now: Millis): JobRecord | null {
  const row = db.sql(`UPDATE jobs SET status = 'failed', error_message = ?, completed_at = ?, credits_refunded = credits_charged,
                        lease_owner = NULL, lease_expires_at = NULL
                      WHERE id = ? AND status = 'processing' AND ${guard}
                      RETURNING *`)
    .get(errorMessage, now, id, ...guardArgs) as JobRow | undefined;
  if (!row) return null;
  outboxInsert(db, row, now);
  const job = toJob(row);
  // credits_refunded was 0 before: only a cancel refunds otherwise, and a cancelled job is not processing.
  if (job.creditsCharged > 0) ledger.append(db, { userId: job.userId, jobId: job.id, kind: 'refund', amount: job.creditsCharged, reason: LedgerReason.failed, now });
  return job;
}

export function fail(db: SqliteDb, p: JobFailParams): Promise<JobRecord | null> {
  return db.group.submit(() => failAndRefund(db, p.id, 'lease_token = ?', [p.leaseToken], p.errorMessage, p.now));
}

export function failAbandoned(db: SqliteDb, p: JobFailAbandonedParams): JobRecord[] {
  return db.tx(() => {
    const ids = db.sql(`SELECT id FROM jobs WHERE status = 'processing' AND lease_expires_at <= ? AND attempts >= ?`)
      .all(p.now, p.maxAttempts) as { id: string }[];
    const message = abandonedMessage(p.maxAttempts);
    return ids
      .map(({ id }) => failAndRefund(db, id, 'lease_expires_at <= ?', [p.now], message, p.now))
      .filter((j): j is JobRecord => j !== null);
  });
}

export function setOutput(db: SqliteDb, p: JobSetOutputParams): boolean {
  const info = db.sql(`UPDATE jobs SET output_data = ? WHERE id = ? AND status = 'processing' AND lease_token = ?`)
    .run(JSON.stringify(p.outputData ?? null), p.id, p.leaseToken);
  return info.changes === 1;
}

export function release(db: SqliteDb, p: JobReleaseParams): boolean {
  const info = db.sql(`UPDATE jobs SET lease_owner = NULL, lease_expires_at = ?, attempts = MAX(attempts - 1, 0)
                       WHERE id = ? AND status = 'processing' AND lease_token = ?`)
    .run(p.now, p.id, p.leaseToken);
  return info.changes === 1;
}

// ---- progress and logs ----

export function reportProgress(db: SqliteDb, p: JobReportProgressParams): boolean {
  return db.tx(() => {
    const held = db.sql(`UPDATE jobs SET progress = COALESCE(?, progress) WHERE id = ? AND status = 'processing' AND lease_token = ? RETURNING id`)
      .get(p.progress, p.id, p.leaseToken);
    if (!held) return false;
    if (p.logs.length > 0) {
      const { next } = db.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM job_logs WHERE job_id = ?').get(p.id) as { next: number };
      const insert = db.sql('INSERT INTO job_logs (job_id, seq, line, created_at) VALUES (?, ?, ?, ?)');
      p.logs.forEach((line, i) => insert.run(p.id, next + i, line, p.now));
    }
    return true;
  });
}

export function logList(db: SqliteDb, p: JobLogListParams): JobLogLine[] {
  const rows = db.sql('SELECT seq, line, created_at FROM job_logs WHERE job_id = ? ORDER BY seq LIMIT ?').all(p.id, p.limit) as { seq: number; line: string; created_at: number }[];
  return rows.map((r) => ({ seq: r.seq, line: r.line, createdAt: r.created_at }));
}
