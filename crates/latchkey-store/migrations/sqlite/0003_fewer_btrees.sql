-- Fewer b-trees written per sign-in (issue 4: each one is a page or more in
-- every commit's WAL). Mirrors migrations/postgres/0003_fewer_btrees.sql for
-- the index; the table rebuilds are SQLite's own.
--
-- * sessions_credential_idx goes: revoking the sessions of a deleted passkey
--   finds them through the owner (sessions_user_idx) instead, and its
--   random-position leaf was one more page written by every sign-in.
-- * sessions_revoked_idx comes: the janitor's purge of long-revoked
--   sessions scanned the whole table; partial, so no sign-in writes it.
-- * ceremonies, sessions and audit_events become WITHOUT ROWID: their rows
--   are found by their text id, so a rowid table stored each row twice (the
--   table keyed by rowid, plus the id's unique index). Their ids start with
--   the creation time, so inserts still land on the right edge.
--
-- SQLite can't change a table's kind in place: each is rebuilt (new table,
-- copy, drop, rename), which keeps every row. Nothing references them.

CREATE TABLE ceremonies_rebuilt (
    id              TEXT    NOT NULL PRIMARY KEY,
    org_id          TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('registration', 'authentication')),
    -- NULL for discoverable sign-in (user unknown until the assertion).
    -- No foreign key: registration ceremonies may name a user not yet inserted.
    user_id         TEXT,
    challenge       BLOB    NOT NULL,
    payload_hash    TEXT,
    -- Purpose-specific state as JSON.
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    -- Set once by the completing commit's conditional UPDATE; NULL = pending.
    consumed_at     INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO ceremonies_rebuilt
    (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, expires_at, consumed_at)
    SELECT id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, expires_at, consumed_at
    FROM ceremonies;
DROP TABLE ceremonies;
ALTER TABLE ceremonies_rebuilt RENAME TO ceremonies;
-- Counting an org's pending ceremonies (the cap, checked on every insert):
-- partial, so the consumed ceremonies of a busy org don't slow the count.
CREATE INDEX ceremonies_pending_idx ON ceremonies (org_id, expires_at) WHERE consumed_at IS NULL;
-- The janitor deletes by expiry alone, so it can use an index.
CREATE INDEX ceremonies_expires_idx ON ceremonies (expires_at);

CREATE TABLE sessions_rebuilt (
    id              TEXT    NOT NULL PRIMARY KEY,
    org_id          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    -- The passkey that created the session; no foreign key because deleting
    -- the credential revokes (keeps) its sessions rather than deleting them.
    credential_id   BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    -- NULL = live (until expires_at).
    revoked_at      INTEGER,
    user_agent      TEXT,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
INSERT INTO sessions_rebuilt
    (id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at, revoked_at, user_agent)
    SELECT id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at, revoked_at, user_agent
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;
-- A user's sessions (suspension, sign-out everywhere, a deleted passkey's).
CREATE INDEX sessions_user_idx ON sessions (org_id, user_id);
-- The janitor deletes sessions by expiry, and revoked ones by revocation
-- time: partial, so the live sessions every sign-in adds aren't in it.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE audit_events_rebuilt (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- 1, 2, 3 … per org, taken from orgs.audit_seq in the same transaction.
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    -- `area.subject.past_verb` from the core's closed list.
    kind        TEXT    NOT NULL,
    -- Acting user id; NULL for the system or the CLI operator. No foreign key:
    -- the trail must outlive the user.
    actor       TEXT,
    subject     TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    -- Hash chain: hash = SHA-256(prev_hash || canonical event); prev_hash NULL for seq 1.
    prev_hash   BLOB,
    hash        BLOB    NOT NULL,
    CONSTRAINT audit_events_org_seq_key UNIQUE (org_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_events_rebuilt
    (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash)
    SELECT id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
