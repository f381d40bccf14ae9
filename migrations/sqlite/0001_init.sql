-- Accounts, API keys, jobs and the credit ledger. Times are integer milliseconds since the epoch.

CREATE TABLE users (
  id           TEXT PRIMARY KEY,
  name         TEXT,
  credits      INTEGER NOT NULL DEFAULT 0 CHECK (credits >= 0),
  api_access   INTEGER NOT NULL DEFAULT 1,
  subscription TEXT,
  created_at   INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id                    TEXT PRIMARY KEY,
  user_id               TEXT NOT NULL REFERENCES users (id),
  name                  TEXT,
  key_prefix            TEXT NOT NULL,
  key_hash              TEXT NOT NULL UNIQUE,
  expires_at            INTEGER,
  rate_limit_per_minute INTEGER NOT NULL CHECK (rate_limit_per_minute > 0),
  is_active             INTEGER NOT NULL DEFAULT 1,
  created_at            INTEGER NOT NULL
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

CREATE TABLE jobs (
  id                TEXT PRIMARY KEY,
  user_id           TEXT NOT NULL REFERENCES users (id),
  run_type          TEXT NOT NULL CHECK (run_type IN ('model', 'app')),
  model_id          TEXT,
  app_id            TEXT,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  input_data        TEXT NOT NULL,
  output_data       TEXT,
  error_message     TEXT,
  credits_charged   INTEGER NOT NULL CHECK (credits_charged >= 0),
  credits_refunded  INTEGER NOT NULL DEFAULT 0 CHECK (credits_refunded >= 0 AND credits_refunded <= credits_charged),
  webhook_url       TEXT,
  webhook_delivered INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  started_at        INTEGER,
  completed_at      INTEGER,
  cancelled_at      INTEGER,
  attempts          INTEGER NOT NULL DEFAULT 0,
  lease_owner       TEXT,
  lease_token       INTEGER NOT NULL DEFAULT 0,
  lease_expires_at  INTEGER
);
-- An account's listing, newest first, and cursor paging.
CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC, id DESC);
-- The queue: claiming the oldest pending jobs and counting queue positions.
CREATE INDEX jobs_pending ON jobs (created_at, id) WHERE status = 'pending';
-- Finding leases that ran out.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'processing';

CREATE TABLE ledger_entries (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users (id),
  job_id        TEXT REFERENCES jobs (id),
  kind          TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund')),
  amount        INTEGER NOT NULL,
  balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
  reason        TEXT,
  created_at    INTEGER NOT NULL
);
CREATE INDEX ledger_by_user ON ledger_entries (user_id, created_at DESC, id DESC);
-- A job is charged at most once and refunded at most once, whatever crashes or retries happen.
CREATE UNIQUE INDEX ledger_once_per_job ON ledger_entries (job_id, kind) WHERE job_id IS NOT NULL;
