-- Retention (src/maintenance/retention.ts) deletes finished jobs once their final status is old
-- enough. It looks them up per status, oldest first; the condition repeats the index's own, so
-- SQLite may use this partial index. Unfinished jobs are not in it and cost it nothing.
CREATE INDEX jobs_finished ON jobs (status, completed_at) WHERE status IN ('completed', 'failed', 'cancelled');
-- A deleted job's idempotency records go with it, found by job.
CREATE INDEX idempotency_keys_by_job ON idempotency_keys (job_id);
