-- Suspects as the detection stage's Book holds them. key is the address
-- or prefix as detect.Key.String writes it, followed for a pseudonym by
-- "#p" and its key epoch (the same pseudonym in another epoch is another
-- address). Times are Unix milliseconds (UTC); doc is the suspect's JSON
-- (detect.Suspect.MarshalJSON), the other columns are there to query by.
CREATE TABLE suspects (
	key        TEXT PRIMARY KEY,
	address    TEXT NOT NULL,
	pseudonym  INTEGER NOT NULL,
	key_epoch  INTEGER NOT NULL,
	score      REAL NOT NULL,
	roles      TEXT NOT NULL, -- comma-separated, sorted
	first_seen INTEGER NOT NULL, -- event time
	last_seen  INTEGER NOT NULL, -- event time
	updated    INTEGER NOT NULL, -- wall time of the last change
	doc        TEXT NOT NULL
) STRICT;

CREATE INDEX suspects_updated ON suspects (updated);
CREATE INDEX suspects_score ON suspects (score DESC, last_seen DESC);
