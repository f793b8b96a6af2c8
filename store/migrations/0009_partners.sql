-- Sharing partners (intel/share): the agreement (JSON of
-- share.Agreement), where to reach the partner's TAXII server (url,
-- api_root) and the API key acd presents there (remote_key: acd must be
-- able to use it, so it is kept as given — protect the store file), and
-- the SHA-256 of the key the partner presents to acd's TAXII server
-- (shown once, at creation). Times are Unix milliseconds.
CREATE TABLE partners (
	name       TEXT PRIMARY KEY,
	agreement  TEXT NOT NULL,
	url        TEXT NOT NULL,
	api_root   TEXT NOT NULL,
	remote_key TEXT NOT NULL,
	key_hash   BLOB NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	last_sync  INTEGER,
	last_error TEXT NOT NULL DEFAULT '',
	removed_at INTEGER
) STRICT;
