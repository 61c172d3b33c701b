-- One random value per database, mixed into the key that seals sign-in
-- ceremonies (latchkey-core `sealed`), created by the first server to start
-- on the database. An export does not carry it, so after a move to another
-- database (same master key) the ceremonies sealed before the move no
-- longer open: none spent before the move can be replayed after it, since
-- spent_ceremonies doesn't move either.
CREATE TABLE ceremony_salt (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    salt  BLOB    NOT NULL
) STRICT;
