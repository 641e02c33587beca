-- keywayd schema, migration 1. Applied in one transaction by store_open(); its number is
-- recorded in schema_version. Times are unix seconds. Tokens are stored as SHA-256 hashes.

-- Monotonic counters. 'seq' grows with every change that alters some config;
-- 'devices_seq' is the seq of the last change to the set of active devices (every gateway
-- must see it), 'gateways_seq' the last change to the set of active gateways or to the
-- config file (every device must see it).
CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value INTEGER,
	text TEXT
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('seq', 0), ('devices_seq', 0), ('gateways_seq', 0);
INSERT INTO meta (key, value, text) VALUES ('net_fingerprint', 0, '');

CREATE TABLE api_tokens (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at INTEGER NOT NULL
);

CREATE TABLE enrollment_tokens (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('device', 'gateway')),
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	uses_total INTEGER NOT NULL CHECK (uses_total >= 1),
	uses_left INTEGER NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses_total),
	revoked_at INTEGER,
	created_by TEXT NOT NULL
);

CREATE TABLE devices (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL,
	hostname TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('device', 'gateway')),
	state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'revoked')),
	state_reason TEXT NOT NULL DEFAULT '',
	public_key TEXT NOT NULL UNIQUE,
	address_offset INTEGER NOT NULL,
	address TEXT NOT NULL,
	address6 TEXT NOT NULL DEFAULT '',
	endpoint TEXT NOT NULL DEFAULT '',
	listen_port INTEGER NOT NULL DEFAULT 0,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	enrollment_token_id INTEGER REFERENCES enrollment_tokens (id),
	own_seq INTEGER NOT NULL,
	renewed_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	suspended_at INTEGER,
	revoked_at INTEGER,
	CHECK ((state = 'revoked') = (revoked_at IS NOT NULL)),
	CHECK ((state = 'suspended') = (suspended_at IS NOT NULL))
);
CREATE INDEX devices_username ON devices (username);
CREATE INDEX devices_role_state ON devices (role, state);

-- Every key ever enrolled and then rotated away: never accepted again.
CREATE TABLE retired_keys (
	public_key TEXT PRIMARY KEY,
	device_id INTEGER NOT NULL REFERENCES devices (id),
	retired_at INTEGER NOT NULL
) WITHOUT ROWID;

-- IPAM: one row per host offset in the network that is taken. released_at is set when
-- the holder is revoked; the offset may be reused once quarantine has passed.
CREATE TABLE address_leases (
	address_offset INTEGER PRIMARY KEY,
	device_id INTEGER NOT NULL REFERENCES devices (id),
	released_at INTEGER
);
CREATE INDEX address_leases_released ON address_leases (released_at) WHERE released_at IS NOT NULL;

CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	username TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
	csrf_hash BLOB NOT NULL CHECK (length(csrf_hash) = 32),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	outcome TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT ''
);
