-- Retention (src/maintenance/retention.ts) deletes finished jobs once their final status is old
-- enough, looked up per status, oldest first. Unfinished jobs are not in this partial index.
CREATE INDEX jobs_finished ON jobs (status, completed_at) WHERE status IN ('completed', 'failed', 'cancelled');
-- A deleted job's idempotency records go with it, found by job.
CREATE INDEX idempotency_keys_by_job ON idempotency_keys (job_id);
