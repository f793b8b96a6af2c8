-- The TLP of each object the sharing gates decided on (the console's
-- sharing page counts the objects in and out by TLP). Entries written
-- before this migration have none ('').
ALTER TABLE share_ledger ADD COLUMN tlp TEXT NOT NULL DEFAULT '';
