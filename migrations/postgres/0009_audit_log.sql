-- The audit log: one row per change an operator made through the admin API or the CLI, written in
-- the transaction of the change itself. `id` is time-ordered (UUID v7): newest first is id order.
-- `user_id` is the account the change concerns (the account itself, or the owner of the key or
-- app), null for workers. `details` holds the changed fields; it never holds a key, token or secret.
CREATE TABLE audit_log (
  id             text PRIMARY KEY,
  at             bigint NOT NULL,
  actor          text NOT NULL,
  action         text NOT NULL,
  target_type    text NOT NULL,
  target_id      text NOT NULL,
  user_id        text,
  details        jsonb NOT NULL,
  request_id     text,
  client_address text
);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_target ON audit_log (target_id, id);
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);
