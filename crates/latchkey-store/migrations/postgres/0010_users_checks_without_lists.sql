-- Nothing to change on PostgreSQL, which tests a CHECK's IN list in place;
-- SQLite's 0010 rewrites users' role and status checks, which it evaluated
-- by building a temporary index at every insert. The version exists so both
-- databases list the same migrations.
SELECT 1 WHERE false;
