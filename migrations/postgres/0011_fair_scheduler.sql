-- The fair scheduler (docs/architecture.md, "Fair dispatch"). Each account has a weight, optional
-- limits on its running jobs (overall and per model; NULL: the configured default) and the
-- highest priority its runs may ask for. A job has a priority: 0 low, 1 normal, 2 high.
ALTER TABLE users ADD COLUMN weight integer NOT NULL DEFAULT 1 CHECK (weight >= 1);
ALTER TABLE users ADD COLUMN max_running integer CHECK (max_running IS NULL OR max_running >= 0);
ALTER TABLE users ADD COLUMN max_running_per_model integer CHECK (max_running_per_model IS NULL OR max_running_per_model >= 0);
ALTER TABLE users ADD COLUMN max_priority smallint NOT NULL DEFAULT 2 CHECK (max_priority BETWEEN 0 AND 2);
ALTER TABLE jobs ADD COLUMN priority smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);

-- An account's own queue, in the order it is served: priority first, then first-come.
CREATE INDEX jobs_fair ON jobs (user_id, priority DESC, created_at, id) WHERE status = 'pending';
-- An account's running jobs per model, counted against its limits at each claim.
CREATE INDEX jobs_running_by_user ON jobs (user_id, model_id) WHERE status = 'processing';

-- One row per account that ever had work: its virtual time (`pass`, advanced by 720720 / weight
-- for each job it starts: whole numbers, so equal turns tie exactly; 720720 is divisible by every
-- weight up to 16), how many of its jobs are pending, and since when it has had work without
-- a break (the tie-break between equal passes). A claim locks the rows of the accounts it serves
-- (in user_id order), so the claims of one account are serialised and its limits hold exactly.
-- Only creations, claims and cancels of pending jobs touch these rows: completions never do.
CREATE TABLE fair_accounts (
  user_id      text PRIMARY KEY REFERENCES users (id),
  pass         bigint NOT NULL,
  pending      integer NOT NULL,
  -- pending > 0, kept apart so that the index below does not depend on the count: a claim's
  -- and a creation's count updates change no indexed column, and stay HOT updates.
  active       boolean NOT NULL,
  active_since bigint NOT NULL
) WITH (fillfactor = 50);
CREATE INDEX fair_accounts_active ON fair_accounts (pass, active_since, user_id) WHERE active;
CREATE INDEX fair_accounts_pass ON fair_accounts (pass);

INSERT INTO fair_accounts (user_id, pass, pending, active, active_since)
  SELECT user_id, 0, COUNT(*), true, MIN(created_at) FROM jobs WHERE status = 'pending' GROUP BY user_id;

-- Keeps the pending counts. An account that comes back after an idle spell starts at the current
-- virtual time (the lowest pass among accounts with work, or the highest reached when none has
-- any), so it gets no burst of credit for the time it was away.
CREATE FUNCTION genjobs_fair_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_now bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'pending' THEN RETURN NULL; END IF;
    UPDATE fair_accounts SET pending = pending + 1 WHERE user_id = NEW.user_id AND pending > 0;
    IF FOUND THEN RETURN NULL; END IF;
    v_now := COALESCE((SELECT MIN(pass) FROM fair_accounts WHERE active), (SELECT MAX(pass) FROM fair_accounts), 0);
    INSERT INTO fair_accounts AS f (user_id, pass, pending, active, active_since) VALUES (NEW.user_id, v_now, 1, true, NEW.created_at)
      ON CONFLICT (user_id) DO UPDATE SET
        active = true,
        pass = CASE WHEN f.pending = 0 THEN GREATEST(f.pass, EXCLUDED.pass) ELSE f.pass END,
        active_since = CASE WHEN f.pending = 0 THEN EXCLUDED.active_since ELSE f.active_since END,
        pending = f.pending + 1;
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD.status = 'pending' AND NEW.status <> 'pending' THEN
      UPDATE fair_accounts SET pending = pending - 1, active = pending > 1 WHERE user_id = OLD.user_id;
    END IF;
  ELSIF OLD.status = 'pending' THEN
    UPDATE fair_accounts SET pending = pending - 1, active = pending > 1 WHERE user_id = OLD.user_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_fair_insert AFTER INSERT ON jobs FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION genjobs_fair_count();
CREATE TRIGGER jobs_fair_leave AFTER UPDATE OF status ON jobs FOR EACH ROW
  WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') EXECUTE FUNCTION genjobs_fair_count();
CREATE TRIGGER jobs_fair_delete AFTER DELETE ON jobs FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION genjobs_fair_count();

-- The fair claim (src/store/postgres/fair.ts): up to p_limit jobs, leases that ran out first, then
-- pending jobs in weighted round-robin across accounts (lowest pass first; ties to the account
-- with work the longest), each account's own queue by priority then first-come. The accounts
-- served come a page at a time in pass order: the first page locked in user_id order, waiting
-- (so concurrent claims of one account queue up and never exceed its limits, and the one order
-- rules out deadlocks between claims), later pages with SKIP LOCKED. The work is
-- O(jobs claimed + accounts looked at), never O(backlog).
CREATE FUNCTION genjobs_fair_claim(
  p_owner text, p_expiry bigint, p_now bigint, p_max_attempts integer, p_exclude text[], p_only text[], p_limit integer,
  p_default_max integer, p_default_max_model integer
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_left integer := p_limit;
  v_n integer;
  c_ids text[] := '{}';
  c_pass bigint[] := '{}';
  c_since bigint[] := '{}';
  c_weight integer[] := '{}';
  c_max integer[] := '{}';
  c_max_model integer[] := '{}';
  c_running integer[] := '{}';
  c_live boolean[] := '{}';
  v_row record;
  v_best integer;
  v_job jobs;
  v_ids text[];
  v_picked text[] := '{}';
  v_second integer;
  v_turn bigint;
  v_want integer;
  v_got integer;
  v_page integer := 0;
  v_known integer;
  v_limited boolean := false;
  i integer;
BEGIN
  IF p_limit <= 0 THEN RETURN; END IF;
  RETURN QUERY
    UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = p_owner, lease_token = lease_token + 1,
      lease_expires_at = p_expiry, started_at = COALESCE(started_at, GREATEST(p_now, created_at))
    WHERE id IN (
      SELECT id FROM jobs WHERE status = 'processing' AND lease_expires_at <= p_now AND attempts < p_max_attempts
        AND NOT (COALESCE(model_id, '') = ANY(p_exclude)) AND (p_only IS NULL OR model_id = ANY(p_only))
      ORDER BY lease_expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING *;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  v_left := v_left - v_n;
  LOOP
    EXIT WHEN v_left <= 0;
    -- The live account with the lowest (pass, active_since, user_id).
    v_best := NULL;
    FOR i IN 1 .. COALESCE(array_length(c_ids, 1), 0) LOOP
      IF c_live[i] AND (v_best IS NULL OR (c_pass[i], c_since[i], c_ids[i]) < (c_pass[v_best], c_since[v_best], c_ids[v_best])) THEN
        v_best := i;
      END IF;
    END LOOP;
    IF v_best IS NULL THEN
      -- Every account looked at so far is served or at its limit: the next page of accounts.
      EXIT WHEN v_page >= 8;
      v_page := v_page + 1;
      v_known := COALESCE(array_length(c_ids, 1), 0);
      FOR v_row IN
        SELECT f.user_id, f.pass, f.active_since, u.weight, COALESCE(u.max_running, p_default_max) AS max_running,
               COALESCE(u.max_running_per_model, p_default_max_model) AS max_model
        FROM fair_accounts f JOIN users u ON u.id = f.user_id
        WHERE v_page = 1 AND f.active
          AND f.user_id IN (SELECT a.user_id FROM fair_accounts a WHERE a.active ORDER BY a.pass, a.active_since, a.user_id LIMIT v_left + 4)
        ORDER BY f.user_id COLLATE "C"
        FOR UPDATE OF f
      LOOP
        c_ids := c_ids || v_row.user_id; c_pass := c_pass || v_row.pass; c_since := c_since || v_row.active_since;
        c_weight := c_weight || v_row.weight; c_max := c_max || v_row.max_running; c_max_model := c_max_model || v_row.max_model;
        c_running := c_running || CASE WHEN v_row.max_running IS NULL THEN 0
          ELSE (SELECT COUNT(*)::integer FROM jobs r WHERE r.user_id = v_row.user_id AND r.status = 'processing') END;
        c_live := c_live || true;
      END LOOP;
      FOR v_row IN
        SELECT f.user_id, f.pass, f.active_since, u.weight, COALESCE(u.max_running, p_default_max) AS max_running,
               COALESCE(u.max_running_per_model, p_default_max_model) AS max_model
        FROM fair_accounts f JOIN users u ON u.id = f.user_id
        WHERE v_page > 1 AND f.active AND NOT (f.user_id = ANY(c_ids))
        ORDER BY f.pass, f.active_since, f.user_id LIMIT (v_left + 16) * v_page
        FOR UPDATE OF f SKIP LOCKED
      LOOP
        c_ids := c_ids || v_row.user_id; c_pass := c_pass || v_row.pass; c_since := c_since || v_row.active_since;
        c_weight := c_weight || v_row.weight; c_max := c_max || v_row.max_running; c_max_model := c_max_model || v_row.max_model;
        c_running := c_running || CASE WHEN v_row.max_running IS NULL THEN 0
          ELSE (SELECT COUNT(*)::integer FROM jobs r WHERE r.user_id = v_row.user_id AND r.status = 'processing') END;
        c_live := c_live || true;
      END LOOP;
      EXIT WHEN COALESCE(array_length(c_ids, 1), 0) = v_known AND v_page > 1;
      CONTINUE;
    END IF;
    IF c_max[v_best] IS NOT NULL AND c_running[v_best] >= c_max[v_best] THEN
      c_live[v_best] := false;
      v_limited := true;
      CONTINUE;
    END IF;
    -- How many turns in a row the account gets before another one's pass is lower: all of them
    -- at once (one statement), up to what is left of the batch and of its limit. One at a time
    -- with a per-model limit, which is counted job by job.
    v_second := NULL;
    FOR i IN 1 .. array_length(c_ids, 1) LOOP
      IF c_live[i] AND i <> v_best AND (v_second IS NULL OR (c_pass[i], c_since[i], c_ids[i]) < (c_pass[v_second], c_since[v_second], c_ids[v_second])) THEN
        v_second := i;
      END IF;
    END LOOP;
    v_turn := 720720 / c_weight[v_best];
    v_want := CASE
      WHEN c_max_model[v_best] IS NOT NULL THEN 1
      WHEN v_second IS NULL THEN v_left
      -- It goes first on a tie with the second: every turn up to and including the second's pass.
      WHEN (c_since[v_best], c_ids[v_best]) < (c_since[v_second], c_ids[v_second]) THEN (c_pass[v_second] - c_pass[v_best]) / v_turn + 1
      ELSE (c_pass[v_second] - c_pass[v_best] + v_turn - 1) / v_turn END;
    v_want := LEAST(v_want, v_left, COALESCE(c_max[v_best] - c_running[v_best], v_left));
    -- The account's next jobs: chosen and locked now, moved with the others at the end (one
    -- UPDATE). Jobs chosen already in this claim are still pending: they are passed over, and
    -- counted against the account's per-model limit.
    SELECT COALESCE(array_agg(s.id ORDER BY s.priority DESC, s.created_at, s.id), '{}') INTO v_ids FROM (
      SELECT q.id, q.priority, q.created_at FROM jobs q WHERE q.user_id = c_ids[v_best] AND q.status = 'pending' AND NOT (q.id = ANY(v_picked))
        AND NOT (COALESCE(q.model_id, '') = ANY(p_exclude)) AND (p_only IS NULL OR q.model_id = ANY(p_only))
        AND (c_max_model[v_best] IS NULL OR NOT (COALESCE(q.model_id, '') = ANY(ARRAY(
          SELECT t.m FROM (
            SELECT COALESCE(r.model_id, '') AS m FROM jobs r WHERE r.user_id = c_ids[v_best] AND r.status = 'processing'
            UNION ALL SELECT COALESCE(k.model_id, '') FROM jobs k WHERE k.id = ANY(v_picked) AND k.user_id = c_ids[v_best]) t
          GROUP BY t.m HAVING COUNT(*) >= c_max_model[v_best]))))
      ORDER BY q.priority DESC, q.created_at, q.id LIMIT v_want FOR UPDATE SKIP LOCKED) s;
    v_got := COALESCE(array_length(v_ids, 1), 0);
    IF v_got < v_want THEN
      -- Nothing more to take from it in this claim.
      c_live[v_best] := false;
      -- With a per-model limit, an account may have been passed over for it.
      v_limited := v_limited OR c_max_model[v_best] IS NOT NULL;
      IF v_got = 0 THEN CONTINUE; END IF;
    END IF;
    v_picked := v_picked || v_ids;
    v_left := v_left - v_got;
    c_running[v_best] := c_running[v_best] + v_got;
    c_pass[v_best] := c_pass[v_best] + v_got * v_turn;
  END LOOP;
  RETURN QUERY
    WITH moved AS (
      UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = p_owner, lease_token = lease_token + 1,
        lease_expires_at = p_expiry, started_at = COALESCE(started_at, GREATEST(p_now, created_at))
      WHERE id = ANY(v_picked) RETURNING *
    )
    SELECT * FROM moved ORDER BY array_position(v_picked, moved.id);
  UPDATE fair_accounts f SET pass = x.pass FROM unnest(c_ids, c_pass) AS x(user_id, pass) WHERE f.user_id = x.user_id AND f.pass <> x.pass;
  -- A last row with a null id when an account was held back by its limit: the executor then
  -- claims again as soon as one of its jobs ends, instead of at its next poll.
  IF v_limited THEN
    v_job := NULL;
    RETURN NEXT v_job;
  END IF;
END $$;

-- Where a pending job stands in the fair order, estimated (docs/api.md, queue_position): the
-- jobs ahead of it in its account's own queue, counted from whichever end is nearer (the
-- account's pending count is kept), then, for every account whose pass is below the one this
-- job will start at, the jobs that account starts first at its weight (at most what it has
-- pending). O(accounts with work ahead in virtual time), never O(backlog) at either end of an
-- account's queue.
CREATE FUNCTION genjobs_queue_position(p_id text, p_cap integer, p_near integer) RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
  j record;
  a record;
  v_ahead integer;
  v_at bigint;
  v_others bigint;
BEGIN
  -- (A job that is no longer pending gets the count of those that would start before it.)
  SELECT id, user_id, priority, created_at INTO j FROM jobs WHERE id = p_id;
  IF NOT FOUND THEN RETURN 0; END IF;
  SELECT f.pass, f.pending, f.active_since, u.weight INTO a FROM fair_accounts f JOIN users u ON u.id = f.user_id WHERE f.user_id = j.user_id;
  IF NOT FOUND THEN RETURN 0; END IF;
  SELECT COUNT(*)::integer INTO v_ahead FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
    AND q.priority = j.priority AND (q.created_at, q.id) < (j.created_at, j.id) LIMIT p_near) t;
  IF v_ahead < p_near THEN
    v_ahead := v_ahead + (SELECT COUNT(*)::integer FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
      AND q.priority > j.priority LIMIT p_cap) t);
  ELSE
    v_ahead := GREATEST(p_near, a.pending
      - (SELECT COUNT(*)::integer FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
           AND q.priority = j.priority AND (q.created_at, q.id) >= (j.created_at, j.id) LIMIT p_cap) t)
      - (SELECT COUNT(*)::integer FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
           AND q.priority < j.priority LIMIT p_cap) t));
  END IF;
  v_at := a.pass + v_ahead::bigint * (720720 / a.weight);
  -- An account's i-th next job starts at pass + i * (720720 / weight); a tie goes to the account
  -- with work the longest, as in the claim.
  SELECT COALESCE(SUM(LEAST(f.pending, CASE
      WHEN (v_at - f.pass) % (720720 / u.weight) = 0
        THEN (v_at - f.pass) / (720720 / u.weight) + CASE WHEN (f.active_since, f.user_id) < (a.active_since, j.user_id) THEN 1 ELSE 0 END
      ELSE (v_at - f.pass) / (720720 / u.weight) + 1 END)), 0)
    INTO v_others
    FROM fair_accounts f JOIN users u ON u.id = f.user_id
    WHERE f.active AND f.pass <= v_at AND f.user_id <> j.user_id;
  RETURN LEAST(p_cap::bigint, v_ahead + v_others)::integer;
END $$;
