-- 0003: roles, the two facts about resources that checks need (project to
-- space links and restricted projects), and the change feed (a revision
-- counter and the change log).
--
-- Bindings from before this version name role IDs that no table held. The
-- store refuses to finish this migration when a binding names a role that
-- is not in the catalogue it is opened with (see sqlstore.Options and the
-- package documentation): nothing is imported silently, because a role
-- made up here would have to hold some permission, and would so grant
-- access nobody defined. The migration and the catalogue are applied in
-- one transaction, so a refused upgrade leaves the database as it was.

CREATE TABLE rbac_roles (
    -- seq is the creation order: role lists are sorted by it and their
    -- cursors carry it.
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text COLLATE "C" NOT NULL UNIQUE,
    -- Unique across predefined and custom roles, byte for byte.
    name        text COLLATE "C" NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    -- The permission names, sorted, without repeats, one space between.
    permissions text NOT NULL CHECK (permissions <> ''),
    predefined  boolean NOT NULL,
    -- Microseconds since the Unix epoch, UTC, as for bindings.
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL
);

-- The IDs of deleted roles, so that the database itself refuses a role ID
-- that was ever used, as it does for bindings.
CREATE TABLE rbac_retired_role_ids (
    id text COLLATE "C" PRIMARY KEY
);

CREATE FUNCTION rbac_retire_role_id() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO rbac_retired_role_ids (id) VALUES (OLD.id);
    RETURN OLD;
END
$$;

CREATE TRIGGER rbac_roles_retire_id
AFTER DELETE ON rbac_roles
FOR EACH ROW EXECUTE FUNCTION rbac_retire_role_id();

CREATE FUNCTION rbac_refuse_retired_role_id() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'rbac: role id never changes';
    END IF;
    IF EXISTS (SELECT 1 FROM rbac_retired_role_ids WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'rbac: role id % was used before', NEW.id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER rbac_roles_refuse_retired_id
BEFORE INSERT OR UPDATE OF id ON rbac_roles
FOR EACH ROW EXECUTE FUNCTION rbac_refuse_retired_role_id();

-- A binding names an existing role, and a role with bindings cannot be
-- deleted (no ON DELETE action: the delete fails with SQLSTATE 23503).
-- NOT VALID: the rows already there are checked by the store, which
-- validates the constraint in the same transaction once the catalogue is
-- in (or refuses the upgrade); new and changed rows are checked at once.
ALTER TABLE rbac_role_bindings
    ADD CONSTRAINT rbac_role_bindings_role_fk
    FOREIGN KEY (role_id) REFERENCES rbac_roles (id) NOT VALID;

-- The space of each project. Project IDs in canonical (Model) form.
CREATE TABLE rbac_project_spaces (
    project_id text COLLATE "C" PRIMARY KEY,
    space_id   text COLLATE "C" NOT NULL
);

-- Restricted projects, in the order they were restricted: a project
-- restricted again after an unrestrict gets a new seq.
CREATE TABLE rbac_restricted_projects (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    text COLLATE "C" NOT NULL UNIQUE,
    restricted_at bigint NOT NULL
);

-- The revision counter: one row. Every write transaction that changes
-- something adds one to it, last, and inserts its change with the new
-- value; the row's lock, held to commit, makes revision order commit
-- order with no gaps (a sequence would hand out numbers in start order
-- and leave gaps on rollback).
CREATE TABLE rbac_revision (
    one      integer PRIMARY KEY CHECK (one = 1),
    revision bigint  NOT NULL
);
INSERT INTO rbac_revision (one, revision) VALUES (1, 0);

-- The change log: one row per revision, the change as JSON
-- (store.Change's MarshalJSON). Old rows are pruned from the head.
CREATE TABLE rbac_changes (
    revision bigint PRIMARY KEY,
    payload  text   NOT NULL
);
