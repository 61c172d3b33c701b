-- Audit events keyed by (org_id, seq), the order they are chained, read and
-- exported in, instead of by their id (issue 4). Nothing looks an event up
-- by id, so the id's b-tree only cost every event one more insert: two per
-- sign-in and per registration. Counted in a sign-in run's WAL, that index
-- was ~8 % of the pages each commit writes. The id stays, unindexed: ids
-- are the event's time plus a random tail, unique by construction, and
-- (org_id, seq) is what the chain needs unique. This is also the key of
-- the audit entries the approval layer will add.
--
-- SQLite can't change a table's key in place: rebuilt as in 0003 (new
-- table, copy, drop, rename). Nothing references audit_events.

CREATE TABLE audit_events_rebuilt (
    org_id      TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- 1, 2, 3 … per org, taken from orgs.audit_seq in the same transaction.
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
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
    CONSTRAINT audit_events_pkey PRIMARY KEY (org_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_events_rebuilt
    (org_id, seq, id, at, kind, actor, subject, data, prev_hash, hash)
    SELECT org_id, seq, id, at, kind, actor, subject, data, prev_hash, hash
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
