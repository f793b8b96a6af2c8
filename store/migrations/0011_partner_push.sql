-- The partner's collection acd pushes to (POST), '' when the partner
-- only pulls.
ALTER TABLE partners ADD COLUMN push_collection TEXT NOT NULL DEFAULT '';
