-- 0001: the bindings table, its uniqueness rule, and the guard that keeps a
-- binding ID from ever being handed out twice.

CREATE TABLE rbac_role_bindings (
    -- seq is the creation order: lists are sorted by it and list cursors
    -- carry it. An identity is never handed out twice.
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- IDs compare byte for byte: COLLATE "C", whatever the database's
    -- default collation is.
    id            text COLLATE "C" NOT NULL UNIQUE,
    role_id       text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    resource_type text COLLATE "C" NOT NULL CHECK (resource_type IN ('SPACE', 'PROJECT')),
    resource_id   text COLLATE "C" NOT NULL,
    -- Microseconds since the Unix epoch, UTC: an integer round-trips
    -- exactly on every engine.
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);

-- At most one binding per user and resource, whatever the role.
CREATE UNIQUE INDEX rbac_role_bindings_user_resource
    ON rbac_role_bindings (user_id, resource_type, resource_id);

-- The IDs of deleted bindings. Together with the UNIQUE id column this
-- makes the database itself refuse a binding ID that was ever used, so a
-- stale ID can never come to mean a different grant.
CREATE TABLE rbac_retired_binding_ids (
    id text COLLATE "C" PRIMARY KEY
);

-- The functions pin the search_path they were made with, so they find
-- their tables whatever search_path the calling session has.
CREATE FUNCTION rbac_retire_binding_id() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO rbac_retired_binding_ids (id) VALUES (OLD.id);
    RETURN OLD;
END
$$;

CREATE TRIGGER rbac_role_bindings_retire_id
AFTER DELETE ON rbac_role_bindings
FOR EACH ROW EXECUTE FUNCTION rbac_retire_binding_id();

CREATE FUNCTION rbac_refuse_retired_binding_id() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'rbac: role binding id never changes';
    END IF;
    IF EXISTS (SELECT 1 FROM rbac_retired_binding_ids WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'rbac: role binding id % was used before', NEW.id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER rbac_role_bindings_refuse_retired_id
BEFORE INSERT OR UPDATE OF id ON rbac_role_bindings
FOR EACH ROW EXECUTE FUNCTION rbac_refuse_retired_binding_id();
