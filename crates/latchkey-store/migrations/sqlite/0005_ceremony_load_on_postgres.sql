-- Nothing to change on SQLite, which has had `ceremony_load` since 0004;
-- PostgreSQL gets it in its own 0005. The version exists so both databases
-- list the same migrations. (A statement that returns no row: the in-memory
-- store applies migrations through rusqlite.)
SELECT 1 WHERE 0;
