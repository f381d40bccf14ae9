-- The fair claim and the batched creation count the jobs they move once per account, not once
-- per job. Until now the jobs_fair_leave trigger decremented an account's pending count row by
-- row as the claim moved its jobs (a batch of 64 updated the same fair_accounts row 64 times in
-- one transaction: some 10 µs of the database's time per job, bench:pipeline with
-- BENCH_PG_STATEMENTS=1). A pending job becomes processing only through genjobs_fair_claim, so
-- the trigger now leaves that move to it; cancels (pending -> cancelled) and deletions are still
-- counted by the trigger.
DROP TRIGGER jobs_fair_leave ON jobs;
CREATE TRIGGER jobs_fair_leave AFTER UPDATE OF status ON jobs FOR EACH ROW
  WHEN (OLD.status = 'pending' AND NEW.status NOT IN ('pending', 'processing')) EXECUTE FUNCTION genjobs_fair_count();

-- As in 0011, with c_took: how many jobs each account started in this claim.
CREATE OR REPLACE FUNCTION genjobs_fair_claim(
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
  c_took integer[] := '{}';
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
        c_took := c_took || 0;
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
        c_took := c_took || 0;
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
    c_took[v_best] := c_took[v_best] + v_got;
    c_pass[v_best] := c_pass[v_best] + v_got * v_turn;
  END LOOP;
  RETURN QUERY
    WITH moved AS (
      UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = p_owner, lease_token = lease_token + 1,
        lease_expires_at = p_expiry, started_at = COALESCE(started_at, GREATEST(p_now, created_at))
      WHERE id = ANY(v_picked) RETURNING *
    )
    SELECT * FROM moved ORDER BY array_position(v_picked, moved.id);
  -- Each account served: its new virtual time, and its pending count less the jobs it started,
  -- in one row update per account (the trigger leaves pending -> processing moves to this).
  UPDATE fair_accounts f SET pass = x.pass, pending = f.pending - x.took, active = f.pending - x.took > 0
    FROM unnest(c_ids, c_pass, c_took) AS x(user_id, pass, took) WHERE f.user_id = x.user_id AND (f.pass <> x.pass OR x.took > 0);
  -- A last row with a null id when an account was held back by its limit: the executor then
  -- claims again as soon as one of its jobs ends, instead of at its next poll.
  IF v_limited THEN
    v_job := NULL;
    RETURN NEXT v_job;
  END IF;
END $$;


-- The batched creation counts its jobs in fair_accounts once per account too, instead of the
-- insert trigger updating the account's row once per job (12-19 µs of the database's time per
-- run in the same profile). It tells the trigger so for the length of its own statement.
DROP TRIGGER jobs_fair_insert ON jobs;
CREATE TRIGGER jobs_fair_insert AFTER INSERT ON jobs FOR EACH ROW
  WHEN (NEW.status = 'pending' AND current_setting('genjobs.fair_counting', true) IS DISTINCT FROM 'batch')
  EXECUTE FUNCTION genjobs_fair_count();

CREATE OR REPLACE FUNCTION genjobs_create_charged(
  p_ids text[], p_users text[], p_run_types text[], p_models text[], p_apps text[], p_inputs jsonb[], p_costs bigint[],
  p_webhooks text[], p_nows bigint[], p_ledger_ids text[], p_reasons text[], p_cancel_after bigint[], p_retry_of text[], p_specs jsonb[]
) RETURNS TABLE (idx integer, balance bigint, job jobs) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  v_credits bigint;
  v_job jobs;
  v_users text[] := '{}';
  v_since bigint[] := '{}';
  a record;
  v_now bigint;
BEGIN
  -- The jobs inserted here are counted in fair_accounts below, once per account.
  PERFORM set_config('genjobs.fair_counting', 'batch', true);
  FOR i IN 1 .. COALESCE(array_length(p_ids, 1), 0) LOOP
    UPDATE users SET credits = credits - p_costs[i] WHERE id = p_users[i] AND credits >= p_costs[i] RETURNING credits INTO v_credits;
    IF FOUND THEN
      INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at,
                        cancel_after_at, retry_of, run_spec)
        VALUES (p_ids[i], p_users[i], p_run_types[i], p_models[i], p_apps[i], 'pending', p_inputs[i], p_costs[i], p_webhooks[i], p_nows[i],
                p_cancel_after[i], p_retry_of[i], p_specs[i])
        RETURNING * INTO v_job;
      v_users := v_users || p_users[i];
      v_since := v_since || p_nows[i];
      IF p_costs[i] > 0 THEN
        INSERT INTO ledger_entries (id, user_id, job_id, kind, amount, balance_after, reason, created_at)
          VALUES (p_ledger_ids[i], p_users[i], p_ids[i], 'charge', -p_costs[i], v_credits, p_reasons[i], p_nows[i]);
      END IF;
      idx := i; balance := v_credits; job := v_job;
    ELSE
      SELECT credits INTO v_credits FROM users WHERE id = p_users[i];
      idx := i; balance := COALESCE(v_credits, 0); job := NULL;
    END IF;
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('genjobs.fair_counting', '', true);
  -- As the insert trigger does for one job (0011), for each account's jobs of this batch: an
  -- account that had none pending comes back at the current virtual time.
  FOR a IN SELECT x.u AS user_id, COUNT(*)::integer AS n, MIN(x.t) AS since FROM unnest(v_users, v_since) AS x(u, t) GROUP BY x.u ORDER BY x.u COLLATE "C" LOOP
    UPDATE fair_accounts SET pending = pending + a.n WHERE user_id = a.user_id AND pending > 0;
    CONTINUE WHEN FOUND;
    v_now := COALESCE((SELECT MIN(pass) FROM fair_accounts WHERE active), (SELECT MAX(pass) FROM fair_accounts), 0);
    INSERT INTO fair_accounts AS f (user_id, pass, pending, active, active_since) VALUES (a.user_id, v_now, a.n, true, a.since)
      ON CONFLICT (user_id) DO UPDATE SET
        active = true,
        pass = CASE WHEN f.pending = 0 THEN GREATEST(f.pass, EXCLUDED.pass) ELSE f.pass END,
        active_since = CASE WHEN f.pending = 0 THEN EXCLUDED.active_since ELSE f.active_since END,
        pending = f.pending + a.n;
  END LOOP;
END $$;


-- The queue position with a hint: a job just created (the answer to a run) is most likely at the
-- back of its account's queue, so the jobs behind it are counted first, instead of up to p_near
-- jobs ahead of it (some 100-200 µs of the database's time per accepted run on a deep queue,
-- bench:http with BENCH_PG_STATEMENTS=1). The three-argument form stays for processes of the
-- previous version during a rolling upgrade.
CREATE FUNCTION genjobs_queue_position(p_id text, p_cap integer, p_near integer, p_newest boolean) RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
  j record;
  a record;
  v_ahead integer;
  v_at bigint;
  v_others bigint;
  v_behind integer := p_near;
BEGIN
  -- (A job that is no longer pending gets the count of those that would start before it.)
  SELECT id, user_id, priority, created_at INTO j FROM jobs WHERE id = p_id;
  IF NOT FOUND THEN RETURN 0; END IF;
  SELECT f.pass, f.pending, f.active_since, u.weight INTO a FROM fair_accounts f JOIN users u ON u.id = f.user_id WHERE f.user_id = j.user_id;
  IF NOT FOUND THEN RETURN 0; END IF;
  -- A job just created is most likely at the back of its queue: those behind it (itself included) first.
  IF p_newest THEN
    v_behind := (SELECT COUNT(*)::integer FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
        AND q.priority = j.priority AND (q.created_at, q.id) >= (j.created_at, j.id) LIMIT p_near) t)
      + (SELECT COUNT(*)::integer FROM (SELECT 1 FROM jobs q WHERE q.user_id = j.user_id AND q.status = 'pending'
        AND q.priority < j.priority LIMIT p_near) t);
  END IF;
  IF v_behind < p_near THEN
    v_ahead := GREATEST(0, a.pending - v_behind);
  ELSE
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

