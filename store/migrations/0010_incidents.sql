-- Incident reports filed by critical-infrastructure operators
-- (intel/report): doc is the report as JSON; seq numbers them for their
-- ids (IR-YEAR-NNNNNN). Times are Unix milliseconds.
CREATE TABLE incidents (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	id       TEXT NOT NULL UNIQUE,
	operator TEXT NOT NULL,
	type     TEXT NOT NULL,
	status   TEXT NOT NULL,
	received INTEGER NOT NULL,
	doc      TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_operator ON incidents(operator, seq);
