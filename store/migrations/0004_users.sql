-- Users: people who log in with a name and a password. roles is a
-- comma-separated list of store.Role names; hash is the password's
-- argon2id hash in PHC string format ($argon2id$v=19$m=..,t=..,p=..$salt$hash),
-- whose parameters travel with it. Times are Unix milliseconds (UTC);
-- last_login and locked_until are NULL until then. must_change is set on
-- the first-start admin's one-time password until it is changed.
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	roles         TEXT NOT NULL,
	hash          TEXT NOT NULL,
	must_change   INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL,
	last_login    INTEGER,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  INTEGER
) STRICT;

-- The login policy: one row. Lockout after lockout_after failed logins
-- in a row, for lockout_ms; new hashes use the argon2id parameters
-- (memory in KiB), and a login with an older, weaker hash rehashes it.
CREATE TABLE login_policy (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	lockout_after  INTEGER NOT NULL,
	lockout_ms     INTEGER NOT NULL,
	argon_memory   INTEGER NOT NULL,
	argon_time     INTEGER NOT NULL,
	argon_threads  INTEGER NOT NULL
) STRICT;
INSERT INTO login_policy VALUES (1, 10, 900000, 65536, 3, 4);

-- Commissioners' Ed25519 public keys. The private half never reaches the
-- server. key_id is the first 16 hex digits of the public key's SHA-256.
-- A revoked key stays (revoked_at set) so that old approvals remain
-- verifiable as signed by a key valid then.
CREATE TABLE signing_keys (
	key_id     TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id),
	public     BLOB NOT NULL UNIQUE,
	added      INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
CREATE INDEX signing_keys_user ON signing_keys(user_id);
