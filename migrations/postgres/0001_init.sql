-- Accounts, API keys, jobs and the credit ledger. Times are bigint milliseconds since the epoch,
-- as in the SQLite adapter, so both map to the same records without conversion.

CREATE TABLE users (
  id           text PRIMARY KEY,
  name         text,
  credits      bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
  api_access   boolean NOT NULL DEFAULT true,
  subscription text,
  created_at   bigint NOT NULL
);

CREATE TABLE api_keys (
  id                    text PRIMARY KEY,
  user_id               text NOT NULL REFERENCES users (id),
  name                  text,
  key_prefix            text NOT NULL,
  key_hash              text NOT NULL UNIQUE,
  expires_at            bigint,
  rate_limit_per_minute integer NOT NULL CHECK (rate_limit_per_minute > 0),
  is_active             boolean NOT NULL DEFAULT true,
  created_at            bigint NOT NULL
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

CREATE TABLE jobs (
  id                text PRIMARY KEY,
  user_id           text NOT NULL REFERENCES users (id),
  run_type          text NOT NULL CHECK (run_type IN ('model', 'app')),
  model_id          text,
  app_id            text,
  status            text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  input_data        jsonb NOT NULL,
  output_data       jsonb,
  error_message     text,
  credits_charged   bigint NOT NULL CHECK (credits_charged >= 0),
  credits_refunded  bigint NOT NULL DEFAULT 0 CHECK (credits_refunded >= 0 AND credits_refunded <= credits_charged),
  webhook_url       text,
  webhook_delivered boolean NOT NULL DEFAULT false,
  created_at        bigint NOT NULL,
  started_at        bigint,
  completed_at      bigint,
  cancelled_at      bigint,
  attempts          integer NOT NULL DEFAULT 0,
  lease_owner       text,
  lease_token       bigint NOT NULL DEFAULT 0,
  lease_expires_at  bigint
);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_pending ON jobs (created_at, id) WHERE status = 'pending';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'processing';

CREATE TABLE ledger_entries (
  id            text PRIMARY KEY,
  user_id       text NOT NULL REFERENCES users (id),
  job_id        text REFERENCES jobs (id),
  kind          text NOT NULL CHECK (kind IN ('grant', 'charge', 'refund')),
  amount        bigint NOT NULL,
  balance_after bigint NOT NULL CHECK (balance_after >= 0),
  reason        text,
  created_at    bigint NOT NULL
);
CREATE INDEX ledger_by_user ON ledger_entries (user_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX ledger_once_per_job ON ledger_entries (job_id, kind) WHERE job_id IS NOT NULL;

-- Every new job and every status change is announced to the other processes: executors wake
-- on new work and stop cancelled jobs, waiting requests learn that their job finished.
-- Notifications are sent at commit, so nobody hears of a change that was rolled back.
CREATE FUNCTION genjobs_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One channel per schema, so deployments (or test runs) sharing a database do not hear each other.
  PERFORM pg_notify('genjobs:' || TG_TABLE_SCHEMA, json_build_object('id', NEW.id, 'status', NEW.status, 'model_id', NEW.model_id)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION genjobs_notify_job();
CREATE TRIGGER jobs_notify_status AFTER UPDATE OF status ON jobs FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION genjobs_notify_job();

-- The rolling 60-second rate-limit window of each key, shared by every API process, in
-- one-second slots. A request stays counted for 61 slots, as in the in-process limiter.
CREATE TABLE rate_limit_slots (
  key_id text NOT NULL,
  second bigint NOT NULL,
  count  integer NOT NULL,
  PRIMARY KEY (key_id, second)
);

-- Counts one request against a key's window if it has room. The advisory lock serialises the
-- checks of one key (only), so concurrent API processes can never admit more than the limit.
-- Returns whether it was admitted, the count in the window after it, and the oldest counted second.
CREATE FUNCTION genjobs_rate_consume(p_key text, p_second bigint, p_limit integer)
RETURNS TABLE (admitted boolean, total bigint, oldest bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_total bigint;
  v_oldest bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
  SELECT COALESCE(SUM(s.count), 0), MIN(s.second) INTO v_total, v_oldest
    FROM rate_limit_slots s WHERE s.key_id = p_key AND s.second > p_second - 61;
  IF v_total >= p_limit THEN
    RETURN QUERY SELECT false, v_total, v_oldest;
    RETURN;
  END IF;
  INSERT INTO rate_limit_slots AS s (key_id, second, count) VALUES (p_key, p_second, 1)
    ON CONFLICT (key_id, second) DO UPDATE SET count = s.count + 1;
  RETURN QUERY SELECT true, v_total + 1, COALESCE(LEAST(v_oldest, p_second), p_second);
END $$;
