-- 0004: nothing to do on SQLite. On PostgreSQL this version adds the
-- functions that run the last-administrator rule's protected writes in
-- one round trip each; SQLite's writes take the database's write lock at
-- BEGIN IMMEDIATE and need no more. The number keeps one schema history
-- for both engines.
SELECT 1;
