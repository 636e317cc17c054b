-- 0003: roles, the two facts about resources that checks need (project to
-- space links and restricted projects), and the change feed (the change
-- log and its revision counter).
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
    -- cursors carry it. AUTOINCREMENT: never handed out twice.
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    -- Unique across predefined and custom roles, byte for byte.
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    -- The permission names, sorted, without repeats, one space between.
    permissions TEXT    NOT NULL CHECK (permissions <> ''),
    predefined  INTEGER NOT NULL CHECK (predefined IN (0, 1)),
    -- Microseconds since the Unix epoch, UTC, as for bindings.
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The IDs of deleted roles, so that the database itself refuses a role ID
-- that was ever used, as it does for bindings.
CREATE TABLE rbac_retired_role_ids (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER rbac_roles_retire_id
AFTER DELETE ON rbac_roles
BEGIN
    INSERT INTO rbac_retired_role_ids (id) VALUES (OLD.id);
END;

CREATE TRIGGER rbac_roles_refuse_retired_id
BEFORE INSERT ON rbac_roles
WHEN EXISTS (SELECT 1 FROM rbac_retired_role_ids WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'rbac: role id was used before');
END;

CREATE TRIGGER rbac_roles_keep_id
BEFORE UPDATE OF id ON rbac_roles
WHEN NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'rbac: role id never changes');
END;

-- A binding names an existing role, and a role with bindings cannot be
-- deleted. SQLite cannot add a foreign key to an existing table, and
-- enforces foreign keys only on connections that ask; these triggers hold
-- on every connection. The store checks the same rules itself, inside the
-- write transaction that SQLite runs alone (BEGIN IMMEDIATE), and so
-- answers not found or conflict before a trigger fires; the triggers keep
-- the rule for every other writer of the file.
CREATE TRIGGER rbac_role_bindings_role_exists
BEFORE INSERT ON rbac_role_bindings
WHEN NOT EXISTS (SELECT 1 FROM rbac_roles WHERE id = NEW.role_id)
BEGIN
    SELECT RAISE(ABORT, 'rbac: role binding names a role that does not exist');
END;

CREATE TRIGGER rbac_role_bindings_new_role_exists
BEFORE UPDATE OF role_id ON rbac_role_bindings
WHEN NOT EXISTS (SELECT 1 FROM rbac_roles WHERE id = NEW.role_id)
BEGIN
    SELECT RAISE(ABORT, 'rbac: role binding names a role that does not exist');
END;

CREATE TRIGGER rbac_roles_keep_bound
BEFORE DELETE ON rbac_roles
WHEN EXISTS (SELECT 1 FROM rbac_role_bindings WHERE role_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'rbac: role still has bindings');
END;

-- The space of each project. Project IDs in canonical (Model) form.
CREATE TABLE rbac_project_spaces (
    project_id TEXT PRIMARY KEY,
    space_id   TEXT NOT NULL
) WITHOUT ROWID;

-- Restricted projects, in the order they were restricted: a project
-- restricted again after an unrestrict gets a new seq.
CREATE TABLE rbac_restricted_projects (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    TEXT    NOT NULL UNIQUE,
    restricted_at INTEGER NOT NULL
);

-- The change log: one row per revision, the change as JSON
-- (store.Change's MarshalJSON; its revision is this row's). Old rows are
-- pruned from the head.
--
-- The revision counter is AUTOINCREMENT's row for this table in
-- sqlite_sequence: every write transaction that changes something inserts
-- its change here and takes the next revision from it. That row is
-- written in the writing transaction under the database's write lock,
-- which SQLite gives one transaction at a time (BEGIN IMMEDIATE) and holds
-- to commit, so revision order is commit order; a rollback restores it,
-- so there are no gaps; and it never goes back, even when the log is
-- pruned. It is the single counter row that PostgreSQL keeps in
-- rbac_revision, and it shares its page with the bindings' own
-- AUTOINCREMENT row, which every create writes anyway: a separate counter
-- table would add a page to every commit.
CREATE TABLE rbac_changes (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    payload  TEXT    NOT NULL
);
