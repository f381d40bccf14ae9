import type { FinalStatus, RetentionDeleted, RetentionDeleteJobsParams } from '../store.js';
import type { SqliteDb } from './db.js';

/**
 * The SQL of retention: one batch of old finished jobs and every row that hangs on them, deleted
 * in one immediate transaction. The batch is bounded by `limit`, so the write lock is held for
 * the time of a few hundred index lookups, and other writers queue behind it only that long.
 */

const FINAL: readonly FinalStatus[] = ['completed', 'failed', 'cancelled'];

/** Oldest first within a status. The IN term repeats the partial index's condition, so SQLite uses jobs_finished. */
const PICK = `SELECT id FROM jobs j
  WHERE j.status IN ('completed', 'failed', 'cancelled') AND j.status = ? AND j.completed_at < ?
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.job_id = j.id AND d.status = 'pending')
  ORDER BY j.completed_at LIMIT ?`;

/** The batch's ids, given as one JSON array. */
const IDS = 'SELECT value FROM json_each(?)';

export function deleteJobs(db: SqliteDb, p: RetentionDeleteJobsParams): RetentionDeleted {
  return db.tx(() => {
    const ids: string[] = [];
    for (const status of FINAL) {
      const before = p.finishedBefore[status];
      if (before === undefined || ids.length >= p.limit) continue;
      const rows = db.sql(PICK).all(status, before, p.limit - ids.length) as { id: string }[];
      for (const r of rows) ids.push(r.id);
    }
    if (ids.length === 0) return { jobIds: [], jobLogs: 0, webhookDeliveries: 0, webhookAttempts: 0, idempotencyKeys: 0, ledgerUnlinked: 0 };
    const list = JSON.stringify(ids);
    const webhookAttempts = db.sql(`DELETE FROM webhook_attempts WHERE delivery_id IN
      (SELECT id FROM webhook_deliveries WHERE job_id IN (${IDS}))`).run(list).changes;
    const webhookDeliveries = db.sql(`DELETE FROM webhook_deliveries WHERE job_id IN (${IDS})`).run(list).changes;
    const jobLogs = db.sql(`DELETE FROM job_logs WHERE job_id IN (${IDS})`).run(list).changes;
    const idempotencyKeys = db.sql(`DELETE FROM idempotency_keys WHERE job_id IN (${IDS})`).run(list).changes;
    // IS NOT NULL repeats the condition of ledger_once_per_job, the index that finds entries by job.
    const ledgerUnlinked = db.sql(`UPDATE ledger_entries SET job_id = NULL WHERE job_id IS NOT NULL AND job_id IN (${IDS})`).run(list).changes;
    db.sql(`DELETE FROM jobs WHERE id IN (${IDS})`).run(list);
    return { jobIds: ids, jobLogs, webhookDeliveries, webhookAttempts, idempotencyKeys, ledgerUnlinked };
  });
}
