-- Cases (package cases): doc is the case as JSON (cases.Case), the
-- columns beside it are copies for queries. Times are Unix milliseconds.
CREATE TABLE cases (
	id        TEXT PRIMARY KEY,
	version   INTEGER NOT NULL,
	state     TEXT NOT NULL,
	target    TEXT NOT NULL,
	requester TEXT NOT NULL,
	created   INTEGER NOT NULL,
	updated   INTEGER NOT NULL,
	doc       TEXT NOT NULL
) STRICT;
CREATE INDEX cases_state ON cases(state, created);
CREATE INDEX cases_target ON cases(target, created);
CREATE INDEX cases_created ON cases(created, id);

-- Commissioners' signed decisions, of every version; doc is the
-- cases.Approval as JSON. signed_at is Unix nanoseconds (the signer's
-- claim). The same decision stored twice is one row.
CREATE TABLE case_approvals (
	id           INTEGER PRIMARY KEY,
	case_id      TEXT NOT NULL REFERENCES cases(id),
	version      INTEGER NOT NULL,
	commissioner TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	decision     TEXT NOT NULL,
	signed_at    INTEGER NOT NULL,
	signature    BLOB NOT NULL,
	doc          TEXT NOT NULL,
	added        INTEGER NOT NULL,
	UNIQUE (case_id, version, commissioner, key_id, signed_at)
) STRICT;

-- The frozen evidence of a case (cases.FreezeEvidence): the canonical
-- document and its SHA-256, which the case (and so every approval) names.
CREATE TABLE case_evidence (
	case_id TEXT PRIMARY KEY REFERENCES cases(id),
	doc     BLOB NOT NULL,
	hash    TEXT NOT NULL
) STRICT;

-- Which actions of a case ran through the enforcement side, and when
-- they were withdrawn (NULL: still in effect), so that revocation,
-- expiry and an emergency rollback withdraw exactly those.
CREATE TABLE case_executions (
	case_id   TEXT NOT NULL REFERENCES cases(id),
	idx       INTEGER NOT NULL,
	version   INTEGER NOT NULL,
	executor  TEXT NOT NULL,
	emergency INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	withdrawn INTEGER,
	PRIMARY KEY (case_id, idx)
) STRICT;
