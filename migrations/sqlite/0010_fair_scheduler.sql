-- The fair scheduler (docs/architecture.md, "Fair dispatch"). Each account has a weight, optional
-- limits on its running jobs (overall and per model; NULL: the configured default) and the
-- highest priority its runs may ask for. A job has a priority: 0 low, 1 normal, 2 high.
ALTER TABLE users ADD COLUMN weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1);
ALTER TABLE users ADD COLUMN max_running INTEGER CHECK (max_running IS NULL OR max_running >= 0);
ALTER TABLE users ADD COLUMN max_running_per_model INTEGER CHECK (max_running_per_model IS NULL OR max_running_per_model >= 0);
ALTER TABLE users ADD COLUMN max_priority INTEGER NOT NULL DEFAULT 2 CHECK (max_priority BETWEEN 0 AND 2);
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);

-- An account's own queue, in the order it is served: priority first, then first-come.
CREATE INDEX jobs_fair ON jobs (user_id, priority DESC, created_at, id) WHERE status = 'pending';
-- An account's running jobs per model, counted against its limits at each claim.
CREATE INDEX jobs_running_by_user ON jobs (user_id, model_id) WHERE status = 'processing';

-- One row per account that ever had work: its virtual time (`pass`, advanced by 720720 / weight
-- for each job it starts: whole numbers, so equal turns tie exactly; 720720 is divisible by every
-- weight up to 16), how many of its jobs are pending, and since when it has had work without
-- a break (the tie-break between equal passes). Pending counts are kept by triggers in the same
-- transaction as every status change; an account that comes back after an idle spell starts at
-- the current virtual time, never with credit for the time it was away.
CREATE TABLE fair_accounts (
  user_id      TEXT PRIMARY KEY REFERENCES users (id),
  pass         INTEGER NOT NULL,
  pending      INTEGER NOT NULL,
  -- pending > 0, kept apart so that the index below does not depend on the count.
  active       INTEGER NOT NULL,
  active_since INTEGER NOT NULL
);
CREATE INDEX fair_accounts_active ON fair_accounts (pass, active_since, user_id) WHERE active = 1;
CREATE INDEX fair_accounts_pass ON fair_accounts (pass);

INSERT INTO fair_accounts (user_id, pass, pending, active, active_since)
  SELECT user_id, 0, COUNT(*), 1, MIN(created_at) FROM jobs WHERE status = 'pending' GROUP BY user_id;

-- The current virtual time: the lowest pass among accounts with work, or, when none has any, the
-- highest pass reached.
CREATE TRIGGER jobs_fair_insert AFTER INSERT ON jobs WHEN NEW.status = 'pending'
BEGIN
  INSERT INTO fair_accounts (user_id, pass, pending, active, active_since)
    VALUES (NEW.user_id,
            COALESCE((SELECT MIN(pass) FROM fair_accounts WHERE active = 1), (SELECT MAX(pass) FROM fair_accounts), 0),
            1, 1, NEW.created_at)
  ON CONFLICT (user_id) DO UPDATE SET
    active = 1,
    pass = CASE WHEN pending = 0 THEN MAX(pass, excluded.pass) ELSE pass END,
    active_since = CASE WHEN pending = 0 THEN excluded.active_since ELSE active_since END,
    pending = pending + 1;
END;

CREATE TRIGGER jobs_fair_leave AFTER UPDATE OF status ON jobs WHEN OLD.status = 'pending' AND NEW.status <> 'pending'
BEGIN
  UPDATE fair_accounts SET pending = pending - 1, active = (pending > 1) WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER jobs_fair_delete AFTER DELETE ON jobs WHEN OLD.status = 'pending'
BEGIN
  UPDATE fair_accounts SET pending = pending - 1, active = (pending > 1) WHERE user_id = OLD.user_id;
END;
