-- PostgreSQL gets `ceremony_load` too (SQLite has had it since 0004):
-- pending ceremonies per org by 10-second bucket of their expiry
-- (bucket = expires_at / 10000, expires_at in ms), so capping an org's
-- pending ceremonies sums at most a lifetime's worth of buckets instead of
-- counting every pending row. Measured before this (bench/RESULTS.md,
-- 2026-12-03): with 9,000 ceremonies left pending, sign-ins by username fell
-- from ~445/s to ~150/s, every start counting 9,000 index entries.
--
-- The completion workers don't write it job by job: each batch adds up its
-- jobs' changes and writes them in one statement just before its audit
-- append and commit, rows in key order, so the bucket rows are locked only
-- for that end of the batch, like the audit head (see completions.rs).
--
-- The partial index of pending ceremonies by (org_id, expires_at) is
-- replaced by one by expiry alone. The planner, before statistics exist (a
-- new database, or after a restore), took the old one for lookups by id
-- too, its org_id prefix matching: measured, each lookup and consumption of
-- a ceremony then read every pending ceremony of the org (2.7 ms with 9,000
-- pending). The few seconds of expiries the cap still counts row by row are
-- pending rows of one expiry range, which the new index holds (of all orgs:
-- the org is checked on each), and no lookup by id can use it.
--
-- Nodes still running the code before this migration insert and consume
-- ceremonies without counting them here: until they are replaced the cap
-- sees fewer pending ceremonies than there are. It bounds pending state;
-- it is not a quota.
CREATE TABLE ceremony_load (
    org_id   TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    bucket   BIGINT  NOT NULL,
    pending  BIGINT  NOT NULL,
    PRIMARY KEY (org_id, bucket)
);

DROP INDEX ceremonies_pending_idx;
CREATE INDEX ceremonies_pending_expiry_idx ON ceremonies (expires_at) WHERE consumed_at IS NULL;

INSERT INTO ceremony_load (org_id, bucket, pending)
    SELECT org_id, expires_at / 10000, COUNT(*)
    FROM ceremonies WHERE consumed_at IS NULL
    GROUP BY org_id, expires_at / 10000;
