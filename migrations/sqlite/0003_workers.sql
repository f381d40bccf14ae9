-- Self-hosted GPU workers: each has a token (stored only as a hash) and the models it may serve.
CREATE TABLE workers (
  id           TEXT PRIMARY KEY,
  name         TEXT,
  token_hash   TEXT NOT NULL UNIQUE,
  models       TEXT NOT NULL,
  is_active    INTEGER NOT NULL DEFAULT 1,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER
);

-- Progress a worker reports (0 to 1), and the log lines it sends.
ALTER TABLE jobs ADD COLUMN progress REAL;
CREATE TABLE job_logs (
  job_id     TEXT NOT NULL REFERENCES jobs (id),
  seq        INTEGER NOT NULL,
  line       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
);
