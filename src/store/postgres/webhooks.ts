import { newId } from '../../ids.js';
import { byNextAttempt, deliveryAfterAttempt, webhookEvent } from '../rules.js';
import type {
  UserSetWebhookSecretParams, UserWebhookSecretsParams, WebhookClaimDueParams, WebhookDeliveryRecord, WebhookDeliveryWithAttempts,
  WebhookFailEndpointParams, WebhookListByJobParams, WebhookRecordAttemptParams, WebhookSecrets,
} from '../store.js';
import type { JobStatus, Millis } from '../vocabulary.js';
import type { Sql } from './db.js';
import { toDelivery, type DeliveryRow } from './rows.js';

/**
 * The SQL of webhooks: the outbox (one delivery per terminal status of a job with a
 * webhook_url, written by the statement that moves the job), the dispatcher's leases and
 * attempts, and each account's signing secrets.
 */

/**
 * A CTE named `outbox` that writes the delivery a moved job owes, if it has a webhook_url, in the
 * statement that moves it. `from` yields the moved rows as `moved` (it may join more tables);
 * `id`, `now` and `event` are SQL expressions for the delivery's id, its time and its event.
 */
export function outboxCte(p: { from: string; id: string; now: string; event: string }): string {
  return `outbox AS (
      INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
      SELECT ${p.id}, moved.id, moved.user_id, moved.webhook_url, ${p.event}, 'pending', ${p.now}, ${p.now}
      FROM ${p.from} WHERE moved.webhook_url IS NOT NULL
    )`;
}

/** Writes the delivery a job owes for reaching `status`, inside the caller's transaction. */
export async function outboxInsert(sql: Sql, job: { id: string; user_id: string; webhook_url: string | null }, status: JobStatus, now: Millis): Promise<void> {
  if (!job.webhook_url) return;
  await sql.q(`INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
    VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`, [newId(), job.id, job.user_id, job.webhook_url, webhookEvent(status), now]);
}

export async function claimDue(sql: Sql, p: WebhookClaimDueParams): Promise<WebhookDeliveryRecord[]> {
  // A read first: the dispatcher looks after every finished job, and most have no webhook.
  if (!(await sql.one(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1`, [p.now]))) return [];
  const rows = await sql.q<DeliveryRow>(`UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2
    WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $3
                 AND (lease_expires_at IS NULL OR lease_expires_at <= $3) ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING *`, [p.owner, p.now + p.leaseMs, p.now, p.limit]);
  return rows.map(toDelivery).sort(byNextAttempt);
}

export async function recordAttempt(sql: Sql, p: WebhookRecordAttemptParams): Promise<boolean> {
  const after = deliveryAfterAttempt(p.result, p.attempt.at);
  const row = await sql.one<{ job_id: string }>(`
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
  [p.id, p.owner, after.status, p.nextAttemptAt, p.attempt.statusCode, p.attempt.error, p.payload, after.deliveredAt, p.attempt.at, p.attempt.durationMs]);
  return row !== undefined;
}

export async function failEndpoint(sql: Sql, p: WebhookFailEndpointParams): Promise<number> {
  const rows = await sql.q(`UPDATE webhook_deliveries SET status = 'failed', last_error = $1 WHERE user_id = $2 AND url = $3 AND status = 'pending' RETURNING id`,
    [p.reason, p.userId, p.url]);
  return rows.length;
}

export async function listByJob(sql: Sql, p: WebhookListByJobParams): Promise<WebhookDeliveryWithAttempts[]> {
  const deliveries = (await sql.q<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE job_id = $1 ORDER BY created_at, id', [p.jobId])).map(toDelivery);
  const attempts = await sql.q<{ delivery_id: string; n: number; at: number; status_code: number | null; error: string | null; duration_ms: number }>(
    'SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY n', [deliveries.map((d) => d.id)]);
  return deliveries.map((d) => ({
    ...d,
    attemptLog: attempts.filter((a) => a.delivery_id === d.id)
      .map((a) => ({ n: a.n, at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
  }));
}

export async function secrets(sql: Sql, p: UserWebhookSecretsParams): Promise<WebhookSecrets | null> {
  const row = await sql.one<{ webhook_secret: string | null; webhook_secret_previous: string | null; webhook_secret_previous_until: number | null }>(
    'SELECT webhook_secret, webhook_secret_previous, webhook_secret_previous_until FROM users WHERE id = $1', [p.userId]);
  return row ? { current: row.webhook_secret, previous: row.webhook_secret_previous, previousUntil: row.webhook_secret_previous_until } : null;
}

export async function setSecret(sql: Sql, p: UserSetWebhookSecretParams): Promise<WebhookSecrets | null> {
  if (p.onlyIfUnset) {
    await sql.q('UPDATE users SET webhook_secret = $1 WHERE id = $2 AND webhook_secret IS NULL', [p.secret, p.userId]);
  } else {
    await sql.q(`UPDATE users SET webhook_secret_previous = CASE WHEN $1::bigint IS NULL THEN NULL ELSE webhook_secret END,
      webhook_secret_previous_until = $1, webhook_secret = $2 WHERE id = $3`, [p.previousUntil, p.secret, p.userId]);
  }
  return secrets(sql, { userId: p.userId });
}
