-- Webhook secrets per account (the previous one keeps signing for a grace period after a rotation).
ALTER TABLE users ADD COLUMN webhook_secret TEXT;
ALTER TABLE users ADD COLUMN webhook_secret_previous TEXT;
ALTER TABLE users ADD COLUMN webhook_secret_previous_until INTEGER;

-- Deadlines (Cancel-After) and retries of runs.
ALTER TABLE jobs ADD COLUMN cancel_after_at INTEGER;
ALTER TABLE jobs ADD COLUMN retry_of TEXT;
CREATE INDEX jobs_deadlines ON jobs (cancel_after_at) WHERE cancel_after_at IS NOT NULL AND status IN ('pending', 'processing');

-- Idempotent runs: one job per account and key for 24 hours.
CREATE TABLE idempotency_keys (
  user_id      TEXT NOT NULL REFERENCES users (id),
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  job_id       TEXT NOT NULL REFERENCES jobs (id),
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
);

-- The webhook outbox: a row is written in the same transaction as the terminal status it
-- announces, so a crash between the two loses no delivery.
CREATE TABLE webhook_deliveries (
  id               TEXT PRIMARY KEY,
  job_id           TEXT NOT NULL REFERENCES jobs (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  url              TEXT NOT NULL,
  event            TEXT NOT NULL,
  payload          TEXT,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  last_status_code INTEGER,
  last_error       TEXT,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  created_at       INTEGER NOT NULL,
  delivered_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
  n           INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  status_code INTEGER,
  error       TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, n)
);
