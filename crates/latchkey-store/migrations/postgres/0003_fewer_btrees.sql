-- Mirrors migrations/sqlite/0003_fewer_btrees.sql (its index part): revoking
-- the sessions of a deleted passkey finds them through the owner
-- (sessions_user_idx), so every sign-in no longer writes a random-position
-- leaf of this index.
DROP INDEX sessions_credential_idx;

-- The janitor's purge of long-revoked sessions scanned the whole table;
-- partial, so the live sessions every sign-in adds aren't in it.
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
