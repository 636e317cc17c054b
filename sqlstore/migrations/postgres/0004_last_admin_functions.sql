-- 0004: the last-administrator rule's protected writes in one round trip
-- each (see sqlstore/lastadmin.go). A write that may take a space's
-- administrator away takes advisory locks before it reads what it decides
-- on; at READ COMMITTED a statement's snapshot is taken when it starts,
-- before its locks are granted, so the locks and the reads must be
-- separate statements. Inside a VOLATILE function each statement takes a
-- new snapshot, so one call of these functions is those statements in
-- one round trip: the reads after the locks see every write committed
-- before the locks were granted.
--
-- The lock keys come from the caller (the store's constants): p_space_class
-- with hashtext of the space ID for the space's lock, p_global_class with
-- key 0 for the global one. p_space is the resource type of spaces. Only a
-- binding on a space takes locks; its space never changes, so reading it
-- before the locks, without a row lock, is safe.

-- rbac_lock_binding_space takes the locks of a write to binding p_id:
-- the global lock shared, then the space's lock exclusive, both held to
-- the end of the transaction. A binding that is not there, or not on a
-- space, takes none.
CREATE FUNCTION rbac_lock_binding_space(p_id text, p_space_class integer, p_global_class integer, p_space text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
DECLARE
    v_space text;
BEGIN
    SELECT b.resource_id INTO v_space FROM rbac_role_bindings b
        WHERE b.id = p_id AND b.resource_type = p_space;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock_shared(p_global_class, 0);
        PERFORM pg_advisory_xact_lock(p_space_class, hashtext(v_space));
    END IF;
END
$$;

-- rbac_delete_binding_protected deletes binding p_id, after the locks,
-- unless it is the last administrator of its space: a role of it holds
-- the administrator's permission (p_pattern, matched in the role's
-- permissions padded with a space at each end) and no other binding of
-- the space has such a role. It returns the deleted row; no row is a
-- binding that is not there or that the rule kept, which the caller tells
-- apart. The columns are the store's bindingColumns, in that order.
CREATE FUNCTION rbac_delete_binding_protected(p_id text, p_space_class integer, p_global_class integer, p_space text, p_pattern text)
RETURNS TABLE (o_id text, o_role_id text, o_user_id text, o_resource_type text, o_resource_id text, o_created_at bigint, o_updated_at bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM rbac_lock_binding_space(p_id, p_space_class, p_global_class, p_space);
    -- A new statement, so a new snapshot: taken after the locks.
    RETURN QUERY DELETE FROM rbac_role_bindings d WHERE d.id = p_id AND NOT EXISTS (
        SELECT 1 FROM rbac_role_bindings b JOIN rbac_roles r ON r.id = b.role_id
        WHERE b.id = p_id AND b.resource_type = p_space
        AND strpos(' ' || r.permissions || ' ', p_pattern) > 0
        AND NOT EXISTS (SELECT 1 FROM rbac_role_bindings o JOIN rbac_roles ro ON ro.id = o.role_id
            WHERE o.resource_type = b.resource_type AND o.resource_id = b.resource_id AND o.id <> b.id
            AND strpos(' ' || ro.permissions || ' ', p_pattern) > 0))
    RETURNING d.id, d.role_id, d.user_id, d.resource_type, d.resource_id, d.created_at, d.updated_at;
END
$$;

-- rbac_get_binding_for_update reads binding p_id for a role change and
-- locks its row (FOR UPDATE), after the locks. It returns the row's seq,
-- then the store's bindingColumns, in that order; no row is no binding.
CREATE FUNCTION rbac_get_binding_for_update(p_id text, p_space_class integer, p_global_class integer, p_space text)
RETURNS TABLE (o_seq bigint, o_id text, o_role_id text, o_user_id text, o_resource_type text, o_resource_id text, o_created_at bigint, o_updated_at bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM rbac_lock_binding_space(p_id, p_space_class, p_global_class, p_space);
    -- A new statement, so a new snapshot: taken after the locks.
    RETURN QUERY SELECT b.seq, b.id, b.role_id, b.user_id, b.resource_type, b.resource_id, b.created_at, b.updated_at
        FROM rbac_role_bindings b WHERE b.id = p_id FOR UPDATE;
END
$$;
