-- Webhook secrets per account (the previous one keeps signing for a grace period after a rotation).
ALTER TABLE users ADD COLUMN webhook_secret text;
ALTER TABLE users ADD COLUMN webhook_secret_previous text;
ALTER TABLE users ADD COLUMN webhook_secret_previous_until bigint;

-- Deadlines (Cancel-After) and retries of runs.
ALTER TABLE jobs ADD COLUMN cancel_after_at bigint;
ALTER TABLE jobs ADD COLUMN retry_of text;
CREATE INDEX jobs_deadlines ON jobs (cancel_after_at) WHERE cancel_after_at IS NOT NULL AND status IN ('pending', 'processing');

-- Idempotent runs: one job per account and key for 24 hours.
CREATE TABLE idempotency_keys (
  user_id      text NOT NULL REFERENCES users (id),
  key          text NOT NULL,
  request_hash text NOT NULL,
  -- Deferred: the key is taken first, so a concurrent request with the same key waits for this one.
  job_id       text NOT NULL REFERENCES jobs (id) DEFERRABLE INITIALLY DEFERRED,
  created_at   bigint NOT NULL,
  PRIMARY KEY (user_id, key)
);

-- The webhook outbox: a row is written in the same transaction as the terminal status it
-- announces, so a crash between the two loses no delivery.
CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  job_id           text NOT NULL REFERENCES jobs (id),
  user_id          text NOT NULL REFERENCES users (id),
  url              text NOT NULL,
  event            text NOT NULL,
  payload          text,
  status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint NOT NULL,
  last_status_code integer,
  last_error       text,
  lease_owner      text,
  lease_expires_at bigint,
  created_at       bigint NOT NULL,
  delivered_at     bigint
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id),
  n           integer NOT NULL,
  at          bigint NOT NULL,
  status_code integer,
  error       text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, n)
);

-- Output (app node outputs) and progress changes are announced too, so live status streams in
-- every process hear them, not only status changes.
DROP TRIGGER jobs_notify_status ON jobs;
CREATE TRIGGER jobs_notify_change AFTER UPDATE OF status, output_data, progress ON jobs FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.output_data IS DISTINCT FROM NEW.output_data OR OLD.progress IS DISTINCT FROM NEW.progress)
  EXECUTE FUNCTION genjobs_notify_job();
