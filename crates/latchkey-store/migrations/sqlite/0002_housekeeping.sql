-- Indexes for multi-node housekeeping. Mirrors migrations/postgres/0002_housekeeping.sql.

-- Revoking every session of a user (suspension) without scanning all sessions.
CREATE INDEX sessions_user_idx ON sessions (org_id, user_id);
-- The janitor deletes sessions and invitations by expiry alone.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX invitations_expires_idx ON invitations (expires_at);
