-- Nothing looks a user up by WebAuthn user handle (a usernameless sign-in
-- finds the user through the passkey), and handles are 16 random bytes
-- from the core, so uniqueness holds by construction: the index only cost
-- every registration one more insert at a random place. Mirrors
-- migrations/sqlite/0009_fewer_user_indexes.sql, which also rebuilds the
-- SQLite table around (org_id, id).
ALTER TABLE users DROP CONSTRAINT users_org_handle_key;
