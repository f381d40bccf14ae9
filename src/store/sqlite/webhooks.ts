import { newId } from '../../ids.js';
import { byNextAttempt, deliveryAfterAttempt, webhookEvent } from '../rules.js';
import type {
  UserSetWebhookSecretParams, UserWebhookSecretsParams, WebhookClaimDueParams, WebhookDeliveryRecord, WebhookDeliveryWithAttempts,
  WebhookFailEndpointParams, WebhookListByJobParams, WebhookRecordAttemptParams, WebhookSecrets,
} from '../store.js';
import type { Millis } from '../vocabulary.js';
import type { SqliteDb } from './db.js';
import { toDelivery, type DeliveryRow, type JobRow } from './rows.js';

/**
 * The SQL of webhooks: the outbox (one delivery per terminal status of a job with a
 * webhook_url, written in the transaction that moves the job), the dispatcher's leases and
 * attempts, and each account's signing secrets.
 */

/** Writes the webhook delivery a job that just reached a terminal status owes, if it has a webhook_url; the caller holds the transaction. */
export function outboxInsert(db: SqliteDb, job: JobRow, now: Millis): void {
  if (!job.webhook_url) return;
  db.sql(`INSERT INTO webhook_deliveries (id, job_id, user_id, url, event, status, next_attempt_at, created_at)
          VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`)
    .run(newId(), job.id, job.user_id, job.webhook_url, webhookEvent(job.status), now, now);
}

export function claimDue(db: SqliteDb, p: WebhookClaimDueParams): WebhookDeliveryRecord[] {
  // A read first: the dispatcher looks after every finished job, and most have no webhook.
  if (!db.sql(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1`).get(p.now)) return [];
  const rows = db.sql(`UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ?
    WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
                 AND (lease_expires_at IS NULL OR lease_expires_at <= ?) ORDER BY next_attempt_at LIMIT ?)
    RETURNING *`).all(p.owner, p.now + p.leaseMs, p.now, p.now, p.limit) as DeliveryRow[];
  return rows.map(toDelivery).sort(byNextAttempt);
}

export function recordAttempt(db: SqliteDb, p: WebhookRecordAttemptParams): boolean {
  return db.tx(() => {
    const after = deliveryAfterAttempt(p.result, p.attempt.at);
    const row = db.sql(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_status_code = ?,
        last_error = ?, payload = COALESCE(payload, ?), delivered_at = ?, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = ? AND lease_owner = ? AND status = 'pending' RETURNING job_id, attempts`)
      .get(after.status, p.nextAttemptAt, p.attempt.statusCode, p.attempt.error, p.payload, after.deliveredAt, p.id, p.owner) as
      { job_id: string; attempts: number } | undefined;
    if (!row) return false;
    db.sql('INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(p.id, row.attempts, p.attempt.at, p.attempt.statusCode, p.attempt.error, p.attempt.durationMs);
    if (after.status === 'delivered') db.sql('UPDATE jobs SET webhook_delivered = 1 WHERE id = ?').run(row.job_id);
    return true;
  });
}

export function failEndpoint(db: SqliteDb, p: WebhookFailEndpointParams): number {
  return db.sql(`UPDATE webhook_deliveries SET status = 'failed', last_error = ? WHERE user_id = ? AND url = ? AND status = 'pending'`)
    .run(p.reason, p.userId, p.url).changes;
}

export function listByJob(db: SqliteDb, p: WebhookListByJobParams): WebhookDeliveryWithAttempts[] {
  const deliveries = (db.sql('SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at, id').all(p.jobId) as DeliveryRow[]).map(toDelivery);
  return deliveries.map((d) => ({
    ...d,
    attemptLog: (db.sql('SELECT n, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY n').all(d.id) as
      { n: number; at: number; status_code: number | null; error: string | null; duration_ms: number }[])
      .map((a) => ({ n: a.n, at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
  }));
}

export function secrets(db: SqliteDb, p: UserWebhookSecretsParams): WebhookSecrets | null {
  const row = db.sql('SELECT webhook_secret, webhook_secret_previous, webhook_secret_previous_until FROM users WHERE id = ?').get(p.userId) as
    { webhook_secret: string | null; webhook_secret_previous: string | null; webhook_secret_previous_until: number | null } | undefined;
  return row ? { current: row.webhook_secret, previous: row.webhook_secret_previous, previousUntil: row.webhook_secret_previous_until } : null;
}

export function setSecret(db: SqliteDb, p: UserSetWebhookSecretParams): WebhookSecrets | null {
  db.tx(() => {
    if (p.onlyIfUnset) {
      db.sql('UPDATE users SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL').run(p.secret, p.userId);
    } else {
      db.sql(`UPDATE users SET webhook_secret_previous = CASE WHEN ? IS NULL THEN NULL ELSE webhook_secret END,
                webhook_secret_previous_until = ?, webhook_secret = ? WHERE id = ?`).run(p.previousUntil, p.previousUntil, p.secret, p.userId);
    }
  });
  return secrets(db, { userId: p.userId });
}
