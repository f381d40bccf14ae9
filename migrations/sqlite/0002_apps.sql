-- Private apps: workflows created through the admin API for one account. Template apps come
-- from the catalog file and are not stored here.
CREATE TABLE apps (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id),
  definition TEXT NOT NULL,
  is_active  INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX apps_by_user ON apps (user_id, created_at);
