import type { FinalStatus, RetentionDeleted, RetentionDeleteJobsParams } from '../store.js';
import type { PgDb } from './db.js';

/**
 * The SQL of retention: one batch of old finished jobs and every row that hangs on them, deleted
 * in one short transaction. The jobs are locked with SKIP LOCKED, so the batch never waits on a
 * row another transaction holds (it takes that job at a later pass), and rows of other jobs are
 * not touched: requests and executors go on while it runs.
 */

/** One statement per status: a literal status lets PostgreSQL use the partial index jobs_finished. */
const PICK: Record<FinalStatus, string> = {
  completed: pick('completed'),
  failed: pick('failed'),
  cancelled: pick('cancelled'),
};

function pick(status: FinalStatus): string {
  return `SELECT id FROM jobs j WHERE j.status = '${status}' AND j.completed_at < $1
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.job_id = j.id AND d.status = 'pending')
    ORDER BY j.completed_at LIMIT $2 FOR UPDATE SKIP LOCKED`;
}

/** How many rows a data-modifying CTE named `gone` touched. */
const count = (cte: string) => `WITH gone AS (${cte} RETURNING 1) SELECT COUNT(*)::int AS n FROM gone`;

export function deleteJobs(db: PgDb, p: RetentionDeleteJobsParams): Promise<RetentionDeleted> {
  return db.tx(async (sql) => {
    const ids: string[] = [];
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      const before = p.finishedBefore[status];
      if (before === undefined || ids.length >= p.limit) continue;
      for (const r of await sql.q<{ id: string }>(PICK[status], [before, p.limit - ids.length])) ids.push(r.id);
    }
    if (ids.length === 0) return { jobIds: [], jobLogs: 0, webhookDeliveries: 0, webhookAttempts: 0, idempotencyKeys: 0, ledgerUnlinked: 0 };
    const n = async (text: string) => (await sql.one<{ n: number }>(count(text), [ids]))?.n ?? 0;
    const webhookAttempts = await n(`DELETE FROM webhook_attempts WHERE delivery_id IN
      (SELECT id FROM webhook_deliveries WHERE job_id = ANY($1::text[]))`);
    const webhookDeliveries = await n('DELETE FROM webhook_deliveries WHERE job_id = ANY($1::text[])');
    const jobLogs = await n('DELETE FROM job_logs WHERE job_id = ANY($1::text[])');
    const idempotencyKeys = await n('DELETE FROM idempotency_keys WHERE job_id = ANY($1::text[])');
    const ledgerUnlinked = await n('UPDATE ledger_entries SET job_id = NULL WHERE job_id IS NOT NULL AND job_id = ANY($1::text[])');
    await sql.q('DELETE FROM jobs WHERE id = ANY($1::text[])', [ids]);
    return { jobIds: ids, jobLogs, webhookDeliveries, webhookAttempts, idempotencyKeys, ledgerUnlinked };
  });
}
