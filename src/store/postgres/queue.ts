import type { QueueSummaryRecord, RunType } from '../store.js';
import type { Sql } from './db.js';

/** The SQL of the operator's look at the queue: unfinished jobs counted by what they run. */

export async function summary(sql: Sql): Promise<QueueSummaryRecord> {
  // One branch per status, so each reads only its partial index's jobs (jobs_pending, jobs_leases).
  const rows = await sql.q<{ status: 'pending' | 'processing'; run_type: RunType; model_id: string | null; app_id: string | null; n: number }>(
    `SELECT status, run_type, model_id, app_id, COUNT(*)::int AS n FROM jobs WHERE status = 'pending' GROUP BY status, run_type, model_id, app_id
     UNION ALL
     SELECT status, run_type, model_id, app_id, COUNT(*)::int AS n FROM jobs WHERE status = 'processing' GROUP BY status, run_type, model_id, app_id
     ORDER BY status, n DESC`);
  const oldest = await sql.one<{ t: string | number | null }>(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'pending'`);
  return {
    groups: rows.map((r) => ({ status: r.status, runType: r.run_type, modelId: r.model_id, appId: r.app_id, count: r.n })),
    oldestPendingCreatedAt: oldest?.t == null ? null : Number(oldest.t),
  };
}
