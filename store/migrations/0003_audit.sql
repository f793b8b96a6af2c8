-- The audit log (package audit): append-only, hash-chained entries and
-- the server's signed checkpoints. Times are Unix nanoseconds (UTC);
-- hashes and signatures are hex. data is compact JSON ('' for none).
-- The triggers refuse UPDATE and DELETE as a first line of defence; the
-- real protection is the chain, which acd audit verify checks.
CREATE TABLE audit_entries (
	seq    INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	data   TEXT NOT NULL,
	prev   TEXT NOT NULL,
	hash   TEXT NOT NULL UNIQUE
) STRICT;

CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_action ON audit_entries (action, time);
CREATE INDEX audit_entries_object ON audit_entries (object);

CREATE TABLE audit_checkpoints (
	id   INTEGER PRIMARY KEY,
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL,
	time INTEGER NOT NULL,
	key  TEXT NOT NULL,
	sig  TEXT NOT NULL
) STRICT;

CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq);

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
