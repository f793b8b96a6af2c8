-- Whether an execution was a dry run (enforce.rails.dry_run: nothing
-- reached any equipment), so that acd refuses to start in the other mode
-- while such actions are in effect.
ALTER TABLE case_executions ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
