-- The data of the floor measurement (run.sh), on the schema of the
-- migrations: two roles, and per space a surviving administrator (u2), a
-- member (u3) and the victim administrator (u1, binding 'v<n>') that a
-- script deletes. admin_flag is not in the store's schema: it is what the
-- cheapest check conceivable (probe.sql, rowlock.sql) would need, a copy
-- of the role's holds_admin on the binding's row.
INSERT INTO rbac_roles (id, name, description, permissions, predefined, created_at, updated_at) VALUES
    ('RA', 'admin', '', 'ROLE_BINDING_CREATE ROLE_BINDING_DELETE SPACE_READ', true, 0, 0),
    ('RM', 'member', '', 'SPACE_READ', true, 0, 0);
ALTER TABLE rbac_role_bindings ADD COLUMN admin_flag boolean NOT NULL DEFAULT false;
INSERT INTO rbac_role_bindings (id, role_id, user_id, resource_type, resource_id, created_at, updated_at, admin_flag)
SELECT p || i, r, u, 'SPACE', 's' || i, 0, 0, r = 'RA'
FROM generate_series(1, :spaces) i, (VALUES ('a', 'RA', 'u2'), ('m', 'RM', 'u3'), ('v', 'RA', 'u1')) AS k(p, r, u);
CREATE INDEX rbac_floor_space_admins ON rbac_role_bindings (resource_id) WHERE admin_flag AND resource_type = 'SPACE';
VACUUM ANALYZE;
