-- 0002: indexes that make every list filter keyset-fast, and the table of
-- store-wide settings (the list cursor key).

-- Each list filter has an index that ends in seq, so a page is a range
-- scan that starts at the cursor and stops after limit+1 rows, whatever
-- the page number. Combined filters use the most selective of these and
-- check the rest row by row.
CREATE INDEX rbac_role_bindings_by_type     ON rbac_role_bindings (resource_type, seq);
CREATE INDEX rbac_role_bindings_by_user     ON rbac_role_bindings (user_id, seq);
CREATE INDEX rbac_role_bindings_by_resource ON rbac_role_bindings (resource_type, resource_id, seq);
CREATE INDEX rbac_role_bindings_by_role     ON rbac_role_bindings (role_id, seq);

-- Settings every process that shares the database must agree on, such as
-- the key that seals list cursors: a cursor made by one process must be
-- accepted by all.
CREATE TABLE rbac_meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
