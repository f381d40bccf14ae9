-- The audit log: one row per change an operator made through the admin API or the CLI, written in
-- the transaction of the change itself. `id` is time-ordered (UUID v7): newest first is id order.
-- `details` holds the changed fields; it never holds a key, token or secret.
CREATE TABLE audit_log (
  id             text PRIMARY KEY,
  at             bigint NOT NULL,
  actor          text NOT NULL,
  action         text NOT NULL,
  target_type    text NOT NULL,
  target_id      text NOT NULL,
  details        jsonb NOT NULL,
  request_id     text,
  client_address text
);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_target ON audit_log (target_id, id);
