-- Registration ceremonies are now sealed into their ids like sign-in
-- ceremonies (0006, latchkey-core `sealed`): a registration start writes
-- nothing, and a completed or failed one is recorded in spent_ceremonies.
-- Nothing stores a pending ceremony any more, so its table and the count
-- of pending ones by expiry (0004/0005) go. A registration started before
-- the upgrade answers ceremony_not_found on completion; its page starts
-- another. Mirrors migrations/sqlite/0008_sealed_registrations.sql.
DROP TABLE ceremony_load;
DROP TABLE ceremonies;
