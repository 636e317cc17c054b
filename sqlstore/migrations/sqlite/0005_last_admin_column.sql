-- 0005: the last-administrator rule reads a flag instead of searching
-- the permissions text in each query (see sqlstore/lastadmin.go).
--
-- rbac_roles.holds_admin is 1 exactly when the role holds
-- ROLE_BINDING_CREATE, the administrator's permission (core.AdminPermission):
-- the permissions column is the sorted set joined with single spaces, and
-- no permission name has a space in it, so the name padded with a space at
-- each end is found in the column padded the same way only as a whole
-- name. The rule is written here once for every query that needs it.
-- SQLite adds a generated column to a table only as VIRTUAL: computed when
-- read, which costs what the search in the query did.
ALTER TABLE rbac_roles ADD COLUMN holds_admin INTEGER
    GENERATED ALWAYS AS (instr(' ' || permissions || ' ', ' ROLE_BINDING_CREATE ') > 0) VIRTUAL;
