-- Runs created in the same moment are charged and inserted in one statement: one round trip
-- and one commit for all of them. Items are taken one after another, in the order given, each
-- as a single run would be: the debit re-checks the balance on the account's latest row
-- version, so an item the balance cannot cover writes nothing and the next ones still get
-- their chance. One row per item: `job` is null when the balance was short, and `balance` is
-- then what the account had.
CREATE FUNCTION genjobs_create_charged(
  p_ids text[], p_users text[], p_run_types text[], p_models text[], p_apps text[], p_inputs jsonb[], p_costs bigint[],
  p_webhooks text[], p_nows bigint[], p_ledger_ids text[], p_reasons text[], p_cancel_after bigint[], p_retry_of text[]
) RETURNS TABLE (idx integer, balance bigint, job jobs) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i integer;
  v_credits bigint;
  v_job jobs;
BEGIN
  FOR i IN 1 .. COALESCE(array_length(p_ids, 1), 0) LOOP
    UPDATE users SET credits = credits - p_costs[i] WHERE id = p_users[i] AND credits >= p_costs[i] RETURNING credits INTO v_credits;
    IF FOUND THEN
      INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at, cancel_after_at, retry_of)
        VALUES (p_ids[i], p_users[i], p_run_types[i], p_models[i], p_apps[i], 'pending', p_inputs[i], p_costs[i], p_webhooks[i], p_nows[i],
                p_cancel_after[i], p_retry_of[i])
        RETURNING * INTO v_job;
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
END $$;
