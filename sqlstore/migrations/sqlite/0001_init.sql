-- 0001: the bindings table, its uniqueness rule, and the guard that keeps a
-- binding ID from ever being handed out twice.

CREATE TABLE rbac_role_bindings (
    -- seq is the creation order: lists are sorted by it and list cursors
    -- carry it. AUTOINCREMENT makes SQLite never hand out a seq again, not
    -- even the largest one after its row was deleted, so a new binding
    -- always sorts after every binding that ever existed.
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- IDs are text compared byte for byte: SQLite's default collation,
    -- BINARY, is what the contract asks for.
    id            TEXT    NOT NULL UNIQUE,
    role_id       TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    resource_type TEXT    NOT NULL CHECK (resource_type IN ('SPACE', 'PROJECT')),
    resource_id   TEXT    NOT NULL,
    -- Microseconds since the Unix epoch, UTC: an integer round-trips
    -- exactly on every engine, where text or float timestamps do not.
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- At most one binding per user and resource, whatever the role.
CREATE UNIQUE INDEX rbac_role_bindings_user_resource
    ON rbac_role_bindings (user_id, resource_type, resource_id);

-- The IDs of deleted bindings. Together with the UNIQUE id column this
-- makes the database itself refuse a binding ID that was ever used, so a
-- stale ID can never come to mean a different grant.
CREATE TABLE rbac_retired_binding_ids (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER rbac_role_bindings_retire_id
AFTER DELETE ON rbac_role_bindings
BEGIN
    INSERT INTO rbac_retired_binding_ids (id) VALUES (OLD.id);
END;

CREATE TRIGGER rbac_role_bindings_refuse_retired_id
BEFORE INSERT ON rbac_role_bindings
WHEN EXISTS (SELECT 1 FROM rbac_retired_binding_ids WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'rbac: role binding id was used before');
END;

CREATE TRIGGER rbac_role_bindings_keep_id
BEFORE UPDATE OF id ON rbac_role_bindings
WHEN NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'rbac: role binding id never changes');
END;
