-- The TAXII 2.1 server's object store (intel/taxii, DB.TAXII).
-- taxii_collections numbers each collection (seq is what the object
-- rows carry) and keeps the last date added given in it, so that dates
-- added stay strictly increasing even after deletes.
CREATE TABLE taxii_collections (
	seq        INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	last_added INTEGER NOT NULL -- µs since the epoch
) STRICT;

-- One row per object version. added is the date added in µs since the
-- epoch (unique per collection: the primary key, so that GET objects
-- walks the table itself in date added order). version is modified,
-- else created, else the date added, in ns since the epoch; created and
-- modified are RFC 3339 with every digit (ns would not hold years past
-- 2262), NULL when absent.
CREATE TABLE taxii_objects (
	col          INTEGER NOT NULL REFERENCES taxii_collections(seq),
	added        INTEGER NOT NULL,
	id           TEXT NOT NULL,
	type         TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	version      INTEGER NOT NULL,
	created      TEXT,
	modified     TEXT,
	raw          BLOB NOT NULL,
	PRIMARY KEY (col, added)
) STRICT, WITHOUT ROWID;
CREATE INDEX taxii_objects_version ON taxii_objects (col, id, version, spec_version);
CREATE INDEX taxii_objects_type ON taxii_objects (col, type, added);

-- Status resources, as JSON; seq orders them for the bound on how many
-- are kept.
CREATE TABLE taxii_status (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	id   TEXT NOT NULL UNIQUE,
	data BLOB NOT NULL
) STRICT;
