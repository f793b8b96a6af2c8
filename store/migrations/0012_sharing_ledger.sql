-- What was shared with partners and taken from them (intel/share's
-- ledger of allowed decisions: provenance, and what revocations and new
-- versions follow), and the poller's bookmarks per partner collection.
-- Times: version and at in Unix nanoseconds.
CREATE TABLE share_ledger (
	id        INTEGER PRIMARY KEY,
	partner   TEXT NOT NULL,
	object_id TEXT NOT NULL,
	version   INTEGER NOT NULL,
	direction TEXT NOT NULL,
	at        INTEGER NOT NULL,
	allowed   INTEGER NOT NULL,
	reason    TEXT NOT NULL
) STRICT;
CREATE INDEX share_ledger_object ON share_ledger(partner, object_id, direction, allowed, id);
CREATE INDEX share_ledger_at ON share_ledger(at);

CREATE TABLE share_bookmarks (
	partner    TEXT NOT NULL,
	collection TEXT NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (partner, collection)
) STRICT;
