-- How many jobs are pending, kept by triggers in the same transaction as every status change. A
-- queue position is then counted from the back of the queue, where a new job stands: a few index
-- entries instead of every pending job ahead of it.
CREATE TABLE job_queue_count (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  pending INTEGER NOT NULL
);
INSERT INTO job_queue_count (id, pending) SELECT 1, COUNT(*) FROM jobs WHERE status = 'pending';

CREATE TRIGGER jobs_pending_count_insert AFTER INSERT ON jobs WHEN NEW.status = 'pending'
BEGIN
  UPDATE job_queue_count SET pending = pending + 1 WHERE id = 1;
END;

CREATE TRIGGER jobs_pending_count_update AFTER UPDATE OF status ON jobs WHEN (OLD.status = 'pending') <> (NEW.status = 'pending')
BEGIN
  UPDATE job_queue_count SET pending = pending + (CASE WHEN NEW.status = 'pending' THEN 1 ELSE -1 END) WHERE id = 1;
END;

CREATE TRIGGER jobs_pending_count_delete AFTER DELETE ON jobs WHEN OLD.status = 'pending'
BEGIN
  UPDATE job_queue_count SET pending = pending - 1 WHERE id = 1;
END;
