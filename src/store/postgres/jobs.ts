import { newId } from '../../ids.js';
import { abandonedMessage, IDEMPOTENCY_WINDOW_MS, LedgerReason, refundOnCancel, webhookEvent } from '../rules.js';
import {
  type JobCancelParams, type JobCancelResult, type JobCompleteParams, type JobCreateChargedParams,
  type JobCreateChargedResult, type JobFailAbandonedParams, type JobFailParams, type JobLeaseExtendParams, type JobListParams,
  type JobListPastDeadlineParams, type JobLogListParams, type JobPastDeadline, type JobRecord,
  type JobReleaseParams, type JobReportProgressParams, type JobSetOutputParams, type JobLogLine,
} from '../store.js';
import { canMove, priorityRank, type Millis } from '../vocabulary.js';
import { settleEach, type BatchItemError } from './batch.js';
import { unreachable, type PgDb, type Sql } from './db.js';
import * as ledger from './ledger.js';
import { toJob, type JobRow } from './rows.js';
import { outboxCte, outboxInsert } from './webhooks.js';

/**
 * The SQL of jobs: creating them with their charge, reading them, and every move of their
 * status. Each move is one guarded statement (or one short transaction) that writes the
 * refund and the webhook delivery it owes with it. The calls `PgBatched` gathers have a
 * `...Many` form here: one statement for a turn's calls, each item decided as it would be alone.
 */

/** A creation without idempotency key: the kind that is batched. */
export type CreateItem = Omit<JobCreateChargedParams, 'idempotency'>;
export type CreateOutcome = Extract<JobCreateChargedResult, { ok: true } | { reason: 'insufficient' }>;
/** A completion with its output already serialised. */
export interface CompleteItem { id: string; leaseToken: number; output: string; now: Millis }

// ---- creation ----

/** A creation with an Idempotency-Key, in one transaction that takes the key first. */
export async function createIdempotent(db: PgDb, p: JobCreateChargedParams & { idempotency: { key: string; requestHash: string } }): Promise<JobCreateChargedResult> {
  const key = p.idempotency;
  const rollback = new Error('rollback');
  let short: CreateOutcome | undefined;
  try {
    return await db.tx(async (sql) => {
      // The key is taken first: a concurrent request with the same key waits here until this
      // transaction ends, then finds its job. A key older than the window is taken over.
      const taken = await sql.one(`INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, created_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id, created_at = EXCLUDED.created_at
        WHERE idempotency_keys.created_at <= $6 RETURNING job_id`, [p.userId, key.key, key.requestHash, p.id, p.now, p.now - IDEMPOTENCY_WINDOW_MS]);
      if (!taken) {
        const seen = (await sql.one<{ request_hash: string; job_id: string }>('SELECT request_hash, job_id FROM idempotency_keys WHERE user_id = $1 AND key = $2', [p.userId, key.key]))!;
        if (seen.request_hash !== key.requestHash) return { ok: false, reason: 'idempotency_conflict', jobId: seen.job_id };
        const job = toJob((await sql.one<JobRow>('SELECT * FROM jobs WHERE id = $1', [seen.job_id]))!);
        const user = await sql.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1', [p.userId]);
        return { ok: true, job, balance: user?.credits ?? 0, replayed: true };
      }
      const created = await createCharged(sql, p);
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

/** A run's spec as the jsonb parameter it is stored from. */
const specJson = (p: CreateItem): string | null => (p.runSpec === undefined || p.runSpec === null ? null : JSON.stringify(p.runSpec));

/** Debits and inserts in one statement: the debit's WHERE re-checks the balance on the latest row version, so concurrent runs queue on the account row and can never overdraw it. */
export async function createCharged(sql: Sql, p: CreateItem): Promise<CreateOutcome> {
  const row = await sql.one<JobRow & { balance: number }>(`
    WITH debit AS (
      UPDATE users SET credits = credits - $7 WHERE id = $2 AND credits >= $7 RETURNING credits
    ), job AS (
      INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at, cancel_after_at, retry_of, run_spec,
                        priority)
      SELECT $1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $12, $13, $14, $15 FROM debit RETURNING *
    ), charge AS (
      INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
      SELECT $10, $2, $1, 'charge', -$7, debit.credits, $11, $9 FROM debit WHERE $7 > 0
    )
    SELECT job.*, debit.credits AS balance FROM job, debit`,
  [p.id, p.userId, p.runType, p.modelId, p.appId, JSON.stringify(p.inputData), p.cost, p.webhookUrl, p.now, newId(), LedgerReason.charge(p),
    p.cancelAfterAt ?? null, p.retryOf ?? null, specJson(p), priorityRank(p.priority ?? 'normal')]);
  if (!row) {
    const user = await sql.one<{ credits: number }>('SELECT credits FROM users WHERE id = $1', [p.userId]);
    return { ok: false, reason: 'insufficient', available: user?.credits ?? 0 };
  }
  const { balance, ...job } = row;
  return { ok: true, job: toJob(job), balance, replayed: false };
}

/**
 * Runs created in one turn, charged and inserted by one statement (genjobs_create_charged):
 * each item exactly as `createCharged` would do it alone, one after another. Items are taken
 * in account order (call order within an account), so batches lock accounts in one order.
 */
export async function createMany(sql: Sql, items: CreateItem[]): Promise<(CreateOutcome | BatchItemError)[]> {
  return settleEach(items, async (all) => {
    const order = all.map((_, i) => i).sort((a, b) => (all[a]!.userId < all[b]!.userId ? -1 : all[a]!.userId > all[b]!.userId ? 1 : a - b));
    const col = <T>(f: (p: CreateItem) => T) => order.map((i) => f(all[i]!));
    const rows = await sql.q<Partial<JobRow> & { idx: number; balance: number }>(`SELECT r.idx, r.balance, (r.job).*
      FROM genjobs_create_charged($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::text[],
        $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::jsonb[]) r`,
    [col((p) => p.id), col((p) => p.userId), col((p) => p.runType), col((p) => p.modelId), col((p) => p.appId),
      col((p) => JSON.stringify(p.inputData)), col((p) => p.cost), col((p) => p.webhookUrl), col((p) => p.now), col(() => newId()),
      col((p) => LedgerReason.charge(p)), col((p) => p.cancelAfterAt ?? null), col((p) => p.retryOf ?? null), col(specJson)]);
    const out: CreateOutcome[] = new Array(all.length);
    for (const { idx, balance, ...job } of rows) {
      out[order[idx - 1]!] = job.id === null || job.id === undefined
        ? { ok: false, reason: 'insufficient', available: balance }
        : { ok: true, job: toJob(job as JobRow), balance, replayed: false };
    }
    return out;
  }, (p) => createCharged(sql, p), unreachable);
}

// ---- reads ----

/** Job reads of one turn (polls, waiting requests, event streams) in one statement. */
export async function readMany(sql: Sql, ids: string[]): Promise<(JobRow | null | BatchItemError)[]> {
  return settleEach(ids, async (all) => {
    const rows = await sql.q<JobRow>('SELECT * FROM jobs WHERE id = ANY($1::text[])', [[...new Set(all)]]);
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
  }, async (id) => (await sql.one<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])) ?? null, unreachable);
}

export async function list(sql: Sql, p: JobListParams): Promise<JobRecord[]> {
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
  const rows = await sql.q<JobRow>(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ${$(p.limit)}`, args);
  return rows.map(toJob);
}

export async function listPastDeadline(sql: Sql, p: JobListPastDeadlineParams): Promise<JobPastDeadline[]> {
  const rows = await sql.q<{ id: string; user_id: string }>(`SELECT id, user_id FROM jobs
    WHERE cancel_after_at IS NOT NULL AND cancel_after_at <= $1 AND status IN ('pending', 'processing') LIMIT $2`, [p.now, p.limit]);
  return rows.map((r) => ({ id: r.id, userId: r.user_id }));
}

// ---- moves ----

export async function cancel(db: PgDb, p: JobCancelParams): Promise<JobCancelResult | null> {
  return db.tx(async (sql) => {
    const row = await sql.one<JobRow>('SELECT * FROM jobs WHERE id = $1 AND user_id = $2 FOR UPDATE', [p.id, p.userId]);
    if (!row) return null;
    const before = toJob(row);
    if (!canMove(before.status, 'cancelled')) return { changed: false, job: before };
    const refund = refundOnCancel(before, p.refundFor(before));
    // The refund (the users row) before the move (whose trigger updates the fair_accounts row):
    // a creation takes the same two rows in that order, and the opposite order deadlocks with it.
    if (refund > 0) await ledger.append(sql, { userId: p.userId, jobId: p.id, kind: 'refund', amount: refund, reason: LedgerReason.cancelled, now: p.now });
    const updated = (await sql.one<JobRow>(`UPDATE jobs SET status = 'cancelled', cancelled_at = $2, completed_at = $2,
        credits_refunded = credits_refunded + $3, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = $1 AND status IN ('pending', 'processing') RETURNING *`, [p.id, p.now, refund]))!;
    await outboxInsert(sql, updated, 'cancelled', p.now);
    return { changed: true, job: toJob(updated), previousStatus: before.status };
  });
}

export async function leaseExtend(sql: Sql, p: JobLeaseExtendParams): Promise<string[]> {
  if (p.ids.length === 0) return [];
  // Rows locked in id order, as batched completions lock them: the two never deadlock.
  const rows = await sql.q<{ id: string }>(`UPDATE jobs SET lease_expires_at = $1
    WHERE id IN (SELECT id FROM jobs WHERE id = ANY($2::text[]) AND status = 'processing' AND lease_owner = $3 ORDER BY id FOR UPDATE)
      AND status = 'processing' AND lease_owner = $3 RETURNING id`, [p.now + p.leaseMs, p.ids, p.owner]);
  return rows.map((r) => r.id);
}

export function completeItem(p: JobCompleteParams): CompleteItem {
  return { id: p.id, leaseToken: p.leaseToken, now: p.now, output: JSON.stringify(p.outputData ?? null) };
}

/** One completion alone: the statement every batched one stands for. */
export async function completeOne(sql: Sql, c: CompleteItem): Promise<JobRecord | null> {
  const row = await sql.one<JobRow>(`
    WITH moved AS (
      UPDATE jobs SET status = 'completed', output_data = $3, completed_at = $4, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING *
    ), ${outboxCte({ from: 'moved', id: '$5', now: '$4', event: '$6::text' })}
    SELECT * FROM moved`, [c.id, c.leaseToken, c.output, c.now, newId(), webhookEvent('completed')]);
  return row ? toJob(row) : null;
}

/**
 * Completions of one turn in one statement: each row is moved only if its own lease token
 * still matches, and gets its own outbox row when it has a webhook_url. A job named twice in
 * a batch is done in order, the later call after the earlier one.
 */
export async function completeMany(sql: Sql, items: CompleteItem[]): Promise<(JobRecord | null | BatchItemError)[]> {
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
    const rows = await sql.q<JobRow>(`
      WITH i AS (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::bigint[], $5::text[]) AS i(id, lease_token, output_data, now, delivery_id)
      ), moved AS (
        UPDATE jobs SET status = 'completed', output_data = i.output_data, completed_at = i.now, lease_owner = NULL, lease_expires_at = NULL
        FROM i WHERE jobs.id = i.id AND jobs.status = 'processing' AND jobs.lease_token = i.lease_token
        RETURNING jobs.*
      ), ${outboxCte({ from: 'moved JOIN i ON i.id = moved.id', id: 'i.delivery_id', now: 'moved.completed_at', event: '$6::text' })}
      SELECT * FROM moved`,
    [order.map((i) => cs[i]!.id), order.map((i) => cs[i]!.leaseToken), order.map((i) => cs[i]!.output),
      order.map((i) => cs[i]!.now), order.map(() => newId()), webhookEvent('completed')]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return cs.map((c) => {
      const row = byId.get(c.id);
      return row ? toJob(row) : null;
    });
  }, (c) => completeOne(sql, c), unreachable);
  first.forEach((i, k) => { out[i] = results[k]!; });
  if (later.length > 0) {
    const rest = await completeMany(sql, later.map((i) => items[i]!));
    later.forEach((i, k) => { out[i] = rest[k]!; });
  }
  return out;
}

/** processing -> failed with a full refund, in one statement, only for the lease `leaseToken`. */
async function failAndRefund(sql: Sql, id: string, leaseToken: number, errorMessage: string, now: Millis): Promise<JobRecord | null> {
  const row = await sql.one<JobRow>(`
    WITH moved AS (
      UPDATE jobs SET status = 'failed', error_message = $3, completed_at = $4, credits_refunded = credits_charged,
        lease_owner = NULL, lease_expires_at = NULL
      WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING *
    ), credited AS (
      UPDATE users SET credits = users.credits + moved.credits_charged FROM moved
      WHERE users.id = moved.user_id AND moved.credits_charged > 0 RETURNING users.credits
    ), refund AS (
      INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
      SELECT $5, moved.user_id, moved.id, 'refund', moved.credits_charged, credited.credits, $7, $4 FROM moved, credited
    ), ${outboxCte({ from: 'moved', id: '$6', now: '$4', event: '$8::text' })}
    SELECT * FROM moved`, [id, leaseToken, errorMessage, now, newId(), newId(), LedgerReason.failed, webhookEvent('failed')]);
  return row ? toJob(row) : null;
}

export async function fail(sql: Sql, p: JobFailParams): Promise<JobRecord | null> {
  return failAndRefund(sql, p.id, p.leaseToken, p.errorMessage, p.now);
}

export async function failAbandoned(db: PgDb, p: JobFailAbandonedParams): Promise<JobRecord[]> {
  const message = abandonedMessage(p.maxAttempts);
  return db.tx(async (sql) => {
    const rows = await sql.q<{ id: string; lease_token: number }>(`SELECT id, lease_token FROM jobs
      WHERE status = 'processing' AND lease_expires_at <= $1 AND attempts >= $2 FOR UPDATE SKIP LOCKED`, [p.now, p.maxAttempts]);
    const failed: JobRecord[] = [];
    for (const r of rows) {
      const job = await failAndRefund(sql, r.id, r.lease_token, message, p.now);
      if (job) failed.push(job);
    }
    return failed;
  });
}

export async function setOutput(sql: Sql, p: JobSetOutputParams): Promise<boolean> {
  const rows = await sql.q(`UPDATE jobs SET output_data = $3 WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`,
    [p.id, p.leaseToken, JSON.stringify(p.outputData ?? null)]);
  return rows.length === 1;
}

export async function release(sql: Sql, p: JobReleaseParams): Promise<boolean> {
  const rows = await sql.q(`UPDATE jobs SET lease_owner = NULL, lease_expires_at = $3, attempts = GREATEST(attempts - 1, 0)
    WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`, [p.id, p.leaseToken, p.now]);
  return rows.length === 1;
}

// ---- progress and logs ----

export async function reportProgress(db: PgDb, p: JobReportProgressParams): Promise<boolean> {
  return db.tx(async (sql) => {
    const held = await sql.one(`UPDATE jobs SET progress = COALESCE($3, progress) WHERE id = $1 AND status = 'processing' AND lease_token = $2 RETURNING id`,
      [p.id, p.leaseToken, p.progress]);
    if (!held) return false;
    if (p.logs.length > 0) {
      await sql.q(`INSERT INTO job_logs (job_id, seq, line, created_at)
        SELECT $1, (SELECT COALESCE(MAX(seq), 0) FROM job_logs WHERE job_id = $1) + n, line, $3
        FROM unnest($2::text[]) WITH ORDINALITY AS l(line, n)`, [p.id, p.logs, p.now]);
    }
    return true;
  });
}

export async function logList(sql: Sql, p: JobLogListParams): Promise<JobLogLine[]> {
  const rows = await sql.q<{ seq: number; line: string; created_at: number }>('SELECT seq, line, created_at FROM job_logs WHERE job_id = $1 ORDER BY seq LIMIT $2', [p.id, p.limit]);
  return rows.map((r) => ({ seq: r.seq, line: r.line, createdAt: r.created_at }));
}
