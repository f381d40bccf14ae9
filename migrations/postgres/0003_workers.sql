-- Self-hosted GPU workers: each has a token (stored only as a hash) and the models it may serve.
CREATE TABLE workers (
  id           text PRIMARY KEY,
  name         text,
  token_hash   text NOT NULL UNIQUE,
  models       jsonb NOT NULL,
  is_active    boolean NOT NULL DEFAULT true,
  created_at   bigint NOT NULL,
  last_seen_at bigint
);

-- Progress a worker reports (0 to 1), and the log lines it sends.
ALTER TABLE jobs ADD COLUMN progress double precision;
CREATE TABLE job_logs (
  job_id     text NOT NULL REFERENCES jobs (id),
  seq        integer NOT NULL,
  line       text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (job_id, seq)
);
