-- 0005: the last-administrator rule reads a flag instead of searching
-- the permissions text (see sqlstore/lastadmin.go).
--
-- rbac_roles.holds_admin is true exactly when the role holds
-- ROLE_BINDING_CREATE, the administrator's permission (core.AdminPermission):
-- the permissions column is the sorted set joined with single spaces, and
-- no permission name has a space in it, so the name padded with a space at
-- each end is found in the column padded the same way only as a whole
-- name. The database computes it on every write of the row, so no code
-- path can leave it out of step. Searching the text cost more than the
-- rest of the check: the predefined administrator role's column is over
-- 2 kB, which PostgreSQL stores compressed and expands on every read.
ALTER TABLE rbac_roles ADD COLUMN holds_admin boolean
    GENERATED ALWAYS AS (strpos(' ' || permissions || ' ', ' ROLE_BINDING_CREATE ') > 0) STORED;

-- The protected writes of migration 0004 again, cheaper: the locks are
-- taken by two statements of the function itself instead of a call of
-- another function, and the checks read holds_admin. What they
-- decide is unchanged, and so is why it is atomic (0004's comment). The
-- delete's argument list changes (no pattern), so 0004's function of that
-- name stays, with its own, for processes of the previous version that
-- run until they restart; rbac_get_binding_for_update keeps its argument
-- list and is replaced.
--
-- The global lock (p_global_class, key 0) is taken shared first, then the
-- space's lock (p_space_class, hashtext of the space ID) exclusive, each
-- in a statement of its own, so that the order is the one the deadlock
-- argument needs; a binding that is not there, or not on a space, takes
-- only the global one. Then a new statement, with a new snapshot.

-- rbac_delete_binding_protected deletes binding p_id, after the locks,
-- unless it is the last administrator of its space: a binding on a space
-- whose role holds the administrator's permission, and no other binding
-- of the space has such a role. It returns the deleted row; no row is a
-- binding that is not there or that the rule kept, which the caller tells
-- apart. The columns are the store's bindingColumns, in that order.
CREATE FUNCTION rbac_delete_binding_protected(p_id text, p_space_class integer, p_global_class integer, p_space text)
RETURNS TABLE (o_id text, o_role_id text, o_user_id text, o_resource_type text, o_resource_id text, o_created_at bigint, o_updated_at bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_global_class, 0);
    PERFORM pg_advisory_xact_lock(p_space_class, hashtext(b.resource_id)) FROM rbac_role_bindings b
        WHERE b.id = p_id AND b.resource_type = p_space;
    -- A new statement, so a new snapshot: taken after the locks.
    RETURN QUERY DELETE FROM rbac_role_bindings d WHERE d.id = p_id AND NOT EXISTS (
        SELECT 1 FROM rbac_role_bindings b WHERE b.id = p_id AND b.resource_type = p_space
        AND EXISTS (SELECT 1 FROM rbac_roles r WHERE r.id = b.role_id AND r.holds_admin)
        AND NOT EXISTS (SELECT 1 FROM rbac_role_bindings o JOIN rbac_roles ro ON ro.id = o.role_id
            WHERE o.resource_type = b.resource_type AND o.resource_id = b.resource_id AND o.id <> b.id
            AND ro.holds_admin))
    RETURNING d.id, d.role_id, d.user_id, d.resource_type, d.resource_id, d.created_at, d.updated_at;
END
$$;

-- rbac_get_binding_for_update reads binding p_id for a role change and
-- locks its row (FOR UPDATE), after the locks. It returns the row's seq,
-- then the store's bindingColumns, in that order; no row is no binding.
CREATE OR REPLACE FUNCTION rbac_get_binding_for_update(p_id text, p_space_class integer, p_global_class integer, p_space text)
RETURNS TABLE (o_seq bigint, o_id text, o_role_id text, o_user_id text, o_resource_type text, o_resource_id text, o_created_at bigint, o_updated_at bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_global_class, 0);
    PERFORM pg_advisory_xact_lock(p_space_class, hashtext(b.resource_id)) FROM rbac_role_bindings b
        WHERE b.id = p_id AND b.resource_type = p_space;
    -- A new statement, so a new snapshot: taken after the locks.
    RETURN QUERY SELECT b.seq, b.id, b.role_id, b.user_id, b.resource_type, b.resource_id, b.created_at, b.updated_at
        FROM rbac_role_bindings b WHERE b.id = p_id FOR UPDATE;
END
$$;
