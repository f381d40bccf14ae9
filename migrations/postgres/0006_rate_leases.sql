-- Rate limits by lease: an API process reserves several requests of a key's current second at
-- once, admits them from memory, and gives back what it did not use when the second ends. The
-- window is the same as before (one-second slots, a request counted for 61 of them), and the
-- sum over all processes still never passes the limit: only reserved requests are admitted.

-- Reserves up to p_want requests of p_second for a key if its window has room. One lease takes
-- at most an eighth of the room left (at least 1), so other processes still find some. Returns
-- how many were granted, the count in the window after them, and the oldest counted second.
CREATE FUNCTION genjobs_rate_reserve(p_key text, p_second bigint, p_limit integer, p_want integer)
RETURNS TABLE (granted integer, total bigint, oldest bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_total bigint;
  v_oldest bigint;
  v_grant integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
  SELECT COALESCE(SUM(s.count), 0), MIN(s.second) INTO v_total, v_oldest
    FROM rate_limit_slots s WHERE s.key_id = p_key AND s.second > p_second - 61;
  v_grant := LEAST(p_want, GREATEST(1, (p_limit - v_total) / 8), p_limit - v_total);
  IF v_grant <= 0 THEN
    RETURN QUERY SELECT 0, v_total, v_oldest;
    RETURN;
  END IF;
  INSERT INTO rate_limit_slots AS s (key_id, second, count) VALUES (p_key, p_second, v_grant)
    ON CONFLICT (key_id, second) DO UPDATE SET count = s.count + v_grant;
  RETURN QUERY SELECT v_grant, v_total + v_grant, COALESCE(LEAST(v_oldest, p_second), p_second);
END $$;

-- Gives back requests reserved for p_second that were not used; an emptied slot goes.
CREATE FUNCTION genjobs_rate_release(p_key text, p_second bigint, p_count integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
  UPDATE rate_limit_slots SET count = count - p_count WHERE key_id = p_key AND second = p_second;
  DELETE FROM rate_limit_slots WHERE key_id = p_key AND second = p_second AND count <= 0;
END $$;

DROP FUNCTION genjobs_rate_consume(text, bigint, integer);
