-- Registrations were paying for two throwaway b-trees per new user (issue 4).
-- SQLite evaluates a CHECK's `x IN (a, b, c)` of more than two constants by
-- building a temporary index of the list, afresh at every INSERT (and at
-- every UPDATE of that column): users' role (four values) and status (three)
-- made each sign-up open two ephemeral b-trees, each with its own page cache
-- allocated and freed, which perf put at ~10 % of a registration's CPU
-- (page faults, madvise; alternated, registrations took 5 % less CPU
-- without). The same constraints as comparisons joined by OR are
-- evaluated in place. Nothing else changes: same columns, key, index and
-- accepted values; two-value lists (kind) SQLite already compares in place.
-- PostgreSQL tests its lists in place: its 0010 does nothing.
--
-- SQLite can't change a CHECK in place: rebuilt as in 0009 (new table, copy,
-- drop, rename, with foreign keys off; the store checks them afterwards).

CREATE TABLE users_rebuilt (
    org_id          TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    -- Unique per org only: two orgs may both have an "alice".
    username        TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role = 'member' OR role = 'approver'
                                            OR role = 'admin' OR role = 'super_admin'),
    kind            TEXT    NOT NULL CHECK (kind IN ('human', 'api')),
    status          TEXT    NOT NULL CHECK (status = 'invited' OR status = 'active'
                                            OR status = 'suspended'),
    -- WebAuthn user handle: 16 random bytes, compared on usernameless sign-in.
    user_handle     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Target of the composite foreign keys (tenant-consistent references).
    CONSTRAINT users_org_id_key PRIMARY KEY (org_id, id),
    CONSTRAINT users_org_username_key UNIQUE (org_id, username)
) STRICT, WITHOUT ROWID;
INSERT INTO users_rebuilt
    (org_id, id, username, display_name, role, kind, status, user_handle, created_at)
    SELECT org_id, id, username, display_name, role, kind, status, user_handle, created_at
    FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
