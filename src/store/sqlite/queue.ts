import type { QueueSummaryRecord, RunType } from '../store.js';
import type { SqliteDb } from './db.js';

/** The SQL of the operator's look at the queue: unfinished jobs counted by what they run. */

export function summary(db: SqliteDb): QueueSummaryRecord {
  // One statement per status, so each reads only its partial index's jobs (jobs_pending, jobs_leases).
  const group = (status: 'pending' | 'processing') => (db.sql(
    `SELECT run_type, model_id, app_id, COUNT(*) AS n FROM jobs WHERE status = '${status}' GROUP BY run_type, model_id, app_id ORDER BY n DESC`,
  ).all() as { run_type: RunType; model_id: string | null; app_id: string | null; n: number }[])
    .map((r) => ({ status, runType: r.run_type, modelId: r.model_id, appId: r.app_id, count: r.n }));
  const oldest = db.sql(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'pending'`).get() as { t: number | null };
  return { groups: [...group('pending'), ...group('processing')], oldestPendingCreatedAt: oldest.t };
}
