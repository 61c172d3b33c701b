-- Sign-in ceremonies are no longer stored when they start: each is sealed
-- into its own id (latchkey-core `sealed`). What must be stored is that
-- one was spent (completed, or failed and burnt), until it expires, so it
-- completes once, also when two nodes race: the loser's INSERT conflicts.
-- Mirrors migrations/sqlite/0006_spent_ceremonies.sql.
--
-- Keyed by (expires_at, id): the id alone is unique (an id's sealed expiry
-- can't be changed without the key, so one id always comes with one
-- expiry), and the purge of expired rows is then a range of the key, with
-- no second index for every sign-in to write. No foreign key to orgs: the
-- rows go at expiry whatever happens to the org.
CREATE TABLE spent_ceremonies (
    expires_at  BIGINT  NOT NULL,
    id          TEXT    NOT NULL,
    org_id      TEXT    NOT NULL,
    PRIMARY KEY (expires_at, id)
);
