-- An account's ledger is listed in the order its entries were written, not by their created_at.
-- created_at is the clock reading a caller took before its write, which may then wait for a pool
-- connection and for the account's row: two writes of one account could commit in the other order
-- of their readings, and the entry listed first was then not the one whose balance_after is the
-- balance. Every ledger write updates the account's users row first and inserts its entry after,
-- in the same transaction, so the row lock orders one account's entries and a global sequence
-- drawn at the insert numbers them in that order. The sequence must keep CACHE 1 (the default):
-- per-session caches would hand out numbers out of order across connections.
--
-- Safe during a rolling upgrade: the number comes from the column's default, so processes of the
-- previous version, which name no seq in their inserts, number their entries too.
CREATE SEQUENCE ledger_entries_seq AS bigint;
ALTER TABLE ledger_entries ADD COLUMN seq bigint;
ALTER TABLE ledger_entries ALTER COLUMN seq SET DEFAULT nextval('ledger_entries_seq');
ALTER SEQUENCE ledger_entries_seq OWNED BY ledger_entries.seq;
-- Entries written before this are numbered in the order they were listed until now.
UPDATE ledger_entries l SET seq = r.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM ledger_entries) r
  WHERE r.id = l.id;
SELECT setval('ledger_entries_seq', COALESCE((SELECT MAX(seq) FROM ledger_entries), 0) + 1, false);
ALTER TABLE ledger_entries ALTER COLUMN seq SET NOT NULL;
CREATE INDEX ledger_by_user_seq ON ledger_entries (user_id, seq DESC);
