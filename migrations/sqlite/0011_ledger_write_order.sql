-- An account's ledger is listed in the order its entries were written, not by their created_at
-- (the clock reading a caller took before its write, which a queued or batched write can pass).
-- Each entry takes the next number of its account (the largest so far plus one, found through
-- ledger_by_user_seq) in the transaction that moves the balance; SQLite writes one transaction at
-- a time, so the numbers follow the order of the balances.
ALTER TABLE ledger_entries ADD COLUMN seq INTEGER;
-- Entries written before this are numbered in the order they were listed until now.
UPDATE ledger_entries SET seq = r.n
  FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n FROM ledger_entries) AS r
  WHERE r.id = ledger_entries.id;
CREATE INDEX ledger_by_user_seq ON ledger_entries (user_id, seq DESC);
