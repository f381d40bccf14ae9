-- Private apps: workflows created through the admin API for one account. Template apps come
-- from the catalog file and are not stored here.
CREATE TABLE apps (
  id         text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id),
  definition jsonb NOT NULL,
  is_active  boolean NOT NULL DEFAULT true,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX apps_by_user ON apps (user_id, created_at);
