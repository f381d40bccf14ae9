import type { JobOutputRewrite, JobOutputRewriteParams, JobOutputRewritesNextParams } from '../store.js';
import type { PgDb, Sql } from './db.js';

// Outputs stored with file URLs before references: the list migration 0010 made, and its rewrite.

export async function next(sql: Sql, p: JobOutputRewritesNextParams): Promise<JobOutputRewrite[]> {
  const rows = await sql.q<{ id: string; found: string | null; output: unknown }>(
    `SELECT r.job_id AS id, j.id AS found, j.output_data AS output FROM job_output_rewrites r
     LEFT JOIN jobs j ON j.id = r.job_id
     WHERE j.id IS NULL OR j.status IN ('completed', 'failed', 'cancelled')
     ORDER BY r.job_id LIMIT $1`, [p.limit]);
  return rows.map((r) => ({ id: r.id, exists: r.found !== null, outputData: r.output ?? null }));
}

export async function rewrite(db: PgDb, p: JobOutputRewriteParams): Promise<boolean> {
  return db.tx(async (tx) => {
    const job = await tx.one<{ status: string }>(`SELECT status FROM jobs WHERE id = $1 FOR UPDATE`, [p.id]);
    if (job && !['completed', 'failed', 'cancelled'].includes(job.status)) return false;
    if (job && p.outputData !== undefined) await tx.q(`UPDATE jobs SET output_data = $2 WHERE id = $1`, [p.id, JSON.stringify(p.outputData)]);
    await tx.q(`DELETE FROM job_output_rewrites WHERE job_id = $1`, [p.id]);
    return true;
  });
}

export async function left(sql: Sql): Promise<number> {
  const row = await sql.one<{ n: string }>(`SELECT COUNT(*) AS n FROM job_output_rewrites`);
  return Number(row?.n ?? 0);
}
