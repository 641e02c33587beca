-- keywayd schema, migration 3: sites, access policies, directory group memberships the
-- policies name, and gateway health. An upgraded install gets one site, 'default', whose
-- routes follow [network] routes of the config file (routes_from_conf = 1) and whose
-- default action is 'allow': every config it serves is the same as before, and every
-- existing gateway belongs to it.

CREATE TABLE sites (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	-- comma-separated canonical CIDRs ("10.1.0.0/24,fd10::/64"); ignored while routes_from_conf
	routes TEXT NOT NULL DEFAULT '',
	routes_from_conf INTEGER NOT NULL DEFAULT 0 CHECK (routes_from_conf IN (0, 1)),
	default_action TEXT NOT NULL DEFAULT 'allow' CHECK (default_action IN ('allow', 'deny')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
INSERT INTO sites (name, routes, routes_from_conf, default_action, created_at, updated_at)
	VALUES ('default', '', 1, 'allow', strftime('%s', 'now'), strftime('%s', 'now'));

-- The site of each gateway (exactly one). Filled by the trigger below at enrollment from the
-- enrollment token's site, 'default' when the token names none.
CREATE TABLE gateway_sites (
	device_id INTEGER PRIMARY KEY REFERENCES devices (id),
	site_id INTEGER NOT NULL REFERENCES sites (id)
);
CREATE INDEX gateway_sites_site ON gateway_sites (site_id);
INSERT INTO gateway_sites (device_id, site_id)
	SELECT id, (SELECT id FROM sites WHERE name = 'default') FROM devices WHERE role = 'gateway';

-- The site a gateway enrollment token enrolls into (no row: 'default').
CREATE TABLE enrollment_token_sites (
	token_id INTEGER PRIMARY KEY REFERENCES enrollment_tokens (id),
	site_id INTEGER NOT NULL REFERENCES sites (id)
);

CREATE TRIGGER gateway_site_on_enroll AFTER INSERT ON devices WHEN NEW.role = 'gateway'
BEGIN
	INSERT INTO gateway_sites (device_id, site_id) VALUES (NEW.id, coalesce(
		(SELECT site_id FROM enrollment_token_sites WHERE token_id = NEW.enrollment_token_id),
		(SELECT id FROM sites WHERE name = 'default')));
END;

-- Liveness of gateways as keywayd last decided it (written only when it changes, so a
-- config version depends on it): online = 0 takes a gateway out of every device's config
-- until it asks for its config again.
CREATE TABLE gateway_health (
	device_id INTEGER PRIMARY KEY REFERENCES devices (id),
	online INTEGER NOT NULL CHECK (online IN (0, 1)),
	last_seen INTEGER NOT NULL,
	changed_at INTEGER NOT NULL
);

-- Access policies: JSON arrays as the API took them (validated there).
CREATE TABLE policies (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	site_id INTEGER NOT NULL REFERENCES sites (id),
	groups TEXT NOT NULL DEFAULT '[]',
	users TEXT NOT NULL DEFAULT '[]',
	destinations TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX policies_site ON policies (site_id);

-- Who the directory sync found in each group some policy names (the group as the policy
-- spells it). A user whose groups could not be read keeps their rows.
CREATE TABLE group_members (
	group_name TEXT NOT NULL,
	username TEXT NOT NULL,
	PRIMARY KEY (group_name, username)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (username);
