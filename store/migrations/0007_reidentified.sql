-- Addresses lifted from pseudonyms by a case's reidentify action
-- (enforce/reidentify), kept while the action is in effect and erased
-- when it is withdrawn. at is Unix milliseconds.
CREATE TABLE case_reidentified (
	case_id   TEXT NOT NULL REFERENCES cases(id),
	idx       INTEGER NOT NULL,
	pseudonym TEXT NOT NULL,
	epoch     INTEGER NOT NULL,
	addr      TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (case_id, idx, pseudonym, epoch)
) STRICT;
