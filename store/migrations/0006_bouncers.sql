-- CrowdSec bouncers that pull acd's decisions (enforce/crowdsec): a
-- bouncer's API key is 32 random bytes, shown once; only its SHA-256 is
-- kept. Times are Unix milliseconds; last_pull and revoked_at are NULL
-- until then.
CREATE TABLE bouncers (
	name       TEXT PRIMARY KEY,
	hash       BLOB NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	last_pull  INTEGER,
	revoked_at INTEGER
) STRICT;
