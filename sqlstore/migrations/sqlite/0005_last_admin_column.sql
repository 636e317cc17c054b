-- 0005: the last-administrator rule reads a flag instead of searching
-- the permissions text in each query (see sqlstore/lastadmin.go).
--
-- rbac_roles.holds_admin is 1 exactly when the role holds
-- ROLE_BINDING_CREATE, the administrator's permission (core.AdminPermission):
-- the permissions column is the sorted set joined with single spaces, and
-- no permission name has a space in it, so the name padded with a space at
-- each end is found in the column padded the same way only as a whole
-- name.
--
-- PostgreSQL computes the column itself (GENERATED ... STORED). SQLite's
-- ALTER TABLE adds a generated column only as VIRTUAL, computed on every
-- read, which costs the rule a quarter more on a delete than a stored
-- flag; so the flag is a plain column that these triggers set on every
-- insert of a role and every change of its permissions, and that nothing
-- else writes. (Rebuilding the table to declare the column STORED would
-- mean dropping the table that bindings reference.)
ALTER TABLE rbac_roles ADD COLUMN holds_admin INTEGER NOT NULL DEFAULT 0;

UPDATE rbac_roles SET holds_admin = instr(' ' || permissions || ' ', ' ROLE_BINDING_CREATE ') > 0;

CREATE TRIGGER rbac_roles_holds_admin_insert AFTER INSERT ON rbac_roles
BEGIN
    UPDATE rbac_roles SET holds_admin = instr(' ' || permissions || ' ', ' ROLE_BINDING_CREATE ') > 0
        WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER rbac_roles_holds_admin_update AFTER UPDATE OF permissions ON rbac_roles
BEGIN
    UPDATE rbac_roles SET holds_admin = instr(' ' || permissions || ' ', ' ROLE_BINDING_CREATE ') > 0
        WHERE rowid = NEW.rowid;
END;
