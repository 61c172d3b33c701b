-- Nothing to change on PostgreSQL. On SQLite, 0004 adds `ceremony_load` so
-- that capping an org's pending ceremonies no longer counts every pending
-- row. Here each node's four completion workers would all lock the same
-- bucket row of an org for the length of their batches, so PostgreSQL keeps
-- counting rows for now (bench/RESULTS.md, 2026-12-03). The version exists so
-- both databases list the same migrations.
SELECT 1;
