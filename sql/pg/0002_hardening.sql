-- Migration 2, PostgreSQL dialect: the twin of sql/0002_hardening.sql (see there).
ALTER TABLE api_tokens ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE sessions ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_tokens_owner ON api_tokens (owner);
CREATE INDEX sessions_username ON sessions (username);
