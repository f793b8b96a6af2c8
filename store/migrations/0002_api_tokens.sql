-- API tokens: machines and the CLI authenticate with them. A token's
-- secret is 32 random bytes, shown once; only its SHA-256 is kept. Times
-- are Unix milliseconds (UTC); last_used and revoked_at are NULL until
-- then.
CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	last_used  INTEGER,
	revoked_at INTEGER
) STRICT;
