-- Pending ceremonies per org, counted by 10-second bucket of their expiry
-- (bucket = expires_at / 10000, expires_at in ms). Capping an org's pending
-- ceremonies then sums at most a ceremony lifetime's worth of buckets (31
-- rows at the default 300 s) instead of counting every pending row: with
-- conditional UI a login page starts a ceremony on each visit, and thousands
-- left pending made every start scan thousands of index entries on the one
-- writer thread. Kept in the same transactions that insert and consume
-- ceremonies; buckets of the past are dropped by the ceremony purge.
CREATE TABLE ceremony_load (
    org_id   TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    bucket   INTEGER NOT NULL,
    pending  INTEGER NOT NULL,
    PRIMARY KEY (org_id, bucket)
) STRICT, WITHOUT ROWID;

INSERT INTO ceremony_load (org_id, bucket, pending)
    SELECT org_id, expires_at / 10000, COUNT(*)
    FROM ceremonies WHERE consumed_at IS NULL
    GROUP BY org_id, expires_at / 10000;
