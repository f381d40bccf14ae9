import type { JobOutputRewrite, JobOutputRewriteParams, JobOutputRewritesNextParams } from '../store.js';
import type { SqliteDb } from './db.js';

// Outputs stored with file URLs before references: the list migration 0009 made, and its rewrite.

export function next(db: SqliteDb, p: JobOutputRewritesNextParams): JobOutputRewrite[] {
  const rows = db.sql(`SELECT r.job_id AS id, j.id AS found, j.output_data AS output FROM job_output_rewrites r
                       LEFT JOIN jobs j ON j.id = r.job_id
                       WHERE j.id IS NULL OR j.status IN ('completed', 'failed', 'cancelled')
                       ORDER BY r.job_id LIMIT ?`)
    .all(p.limit) as { id: string; found: string | null; output: string | null }[];
  return rows.map((r) => ({ id: r.id, exists: r.found !== null, outputData: r.output === null ? null : JSON.parse(r.output) }));
}

export function rewrite(db: SqliteDb, p: JobOutputRewriteParams): boolean {
  return db.tx(() => {
    const job = db.sql(`SELECT status FROM jobs WHERE id = ?`).get(p.id) as { status: string } | undefined;
    if (job && !['completed', 'failed', 'cancelled'].includes(job.status)) return false;
    if (job && p.outputData !== undefined) db.sql(`UPDATE jobs SET output_data = ? WHERE id = ?`).run(JSON.stringify(p.outputData), p.id);
    db.sql(`DELETE FROM job_output_rewrites WHERE job_id = ?`).run(p.id);
    return true;
  });
}

export function left(db: SqliteDb): number {
  return (db.sql(`SELECT COUNT(*) AS n FROM job_output_rewrites`).get() as { n: number }).n;
}
