-- What a job runs, fixed when the run was accepted and charged (src/runs/spec.ts): a model run's
-- resolved input, or an app run's definition and inputs. NULL for jobs accepted before this
-- migration: those are resolved again when they run.
ALTER TABLE jobs ADD COLUMN run_spec jsonb;

-- The batched creation (0005) takes the spec too.
DROP FUNCTION genjobs_create_charged(text[], text[], text[], text[], text[], jsonb[], bigint[], text[], bigint[], text[], text[], bigint[], text[]);
CREATE FUNCTION genjobs_create_charged(
  p_ids text[], p_users text[], p_run_types text[], p_models text[], p_apps text[], p_inputs jsonb[], p_costs bigint[],
  p_webhooks text[], p_nows bigint[], p_ledger_ids text[], p_reasons text[], p_cancel_after bigint[], p_retry_of text[], p_specs jsonb[]
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
      INSERT INTO jobs (id, user_id, run_type, model_id, app_id, status, input_data, credits_charged, webhook_url, created_at,
                        cancel_after_at, retry_of, run_spec)
        VALUES (p_ids[i], p_users[i], p_run_types[i], p_models[i], p_apps[i], 'pending', p_inputs[i], p_costs[i], p_webhooks[i], p_nows[i],
                p_cancel_after[i], p_retry_of[i], p_specs[i])
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
