-- Hardening: API tokens carry who made them and an optional expiry (an admin's token is
-- revoked when the directory no longer makes them admin); a session remembers when its
-- owner's directory standing was last checked (admin requests re-check past an interval).
ALTER TABLE api_tokens ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX api_tokens_owner ON api_tokens (owner);
CREATE INDEX sessions_username ON sessions (username);
