-- Audit events keyed by (org_id, seq) instead of by id, as in SQLite's 0011:
-- nothing looks an event up by id, so its index only cost every event one
-- more insert (two per sign-in). The id stays, unindexed. One statement, so
-- the table is never without its unique (org_id, seq) and the new key's
-- index is built once.
ALTER TABLE audit_events
    DROP CONSTRAINT audit_events_pkey,
    DROP CONSTRAINT audit_events_org_seq_key,
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (org_id, seq);
