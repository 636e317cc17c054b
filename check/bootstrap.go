package check

import (
	"context"
	"fmt"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// Bootstrap gives a space its first administrator: it binds the user to
// roleID on the space in store s. That is the one access change the guard
// cannot allow by itself: on a space without an administrator nobody holds
// ROLE_BINDING_CREATE, so [Checker.CanCreateBinding] refuses everyone.
// Every later binding goes through the guard. A host calls Bootstrap when
// it creates a space (for the space's creator, say) or from an operator's
// command, never on behalf of an ordinary request.
//
// roleID must name a role, known to c, that holds ROLE_BINDING_CREATE,
// since a role without it would leave the space without an administrator
// still; with the default catalogue that is [perm.AdminRoleID]. The role
// is a parameter because a host may define its own catalogue.
//
// Bootstrap refuses, with an error matching [rbac.ErrConflict], when the
// space already has an administrator: a binding on the space whose role
// holds ROLE_BINDING_CREATE. When s is a [store.FirstAdminCreator]
// (memstore and sqlstore are), the store decides, from what it holds, and
// the check and the create are one atomic step: of two Bootstraps of one
// space at once, in one process or in several sharing a database, one
// succeeds. Otherwise Bootstrap reads the space's bindings from s itself
// rather than from c's index, which may lag behind other processes'
// writes, with roles from c (c should follow s) or, for a role c does not
// know yet, from s when s is a [store.RoleStore]; that read and the
// create are two steps, so with such a store a host runs Bootstraps one
// at a time per space.
//
// Errors: ErrInvalid for a malformed user (field "user_id"), space (field
// "resource_id") or role ID (field "role_id"), or a role without
// ROLE_BINDING_CREATE (field "role_id"); ErrNotFound for an unknown role;
// ErrConflict "space %s already has an administrator", or from s when the
// user already has a binding on the space; anything else s returns, as it
// returns it.
func Bootstrap(ctx context.Context, c *Checker, s store.Store, userID, spaceID, roleID string) (rbac.Binding, error) {
	nb, err := c.val.NewBinding(rbac.NewBinding{RoleID: roleID, UserID: userID, ResourceType: rbac.Space, ResourceID: spaceID})
	if err != nil {
		return rbac.Binding{}, err
	}
	if fa, ok := s.(store.FirstAdminCreator); ok {
		return fa.CreateFirstAdmin(ctx, nb)
	}
	admin, err := c.holdsBindingCreate(ctx, s, nb.RoleID)
	switch {
	case err != nil:
		return rbac.Binding{}, err
	case !admin:
		return rbac.Binding{}, core.NotAdminRole()
	}
	q := rbac.ListQuery{ResourceType: rbac.Space, ResourceID: nb.ResourceID, Limit: rbac.MaxLimit}
	for {
		page, err := s.List(ctx, q)
		if err != nil {
			return rbac.Binding{}, fmt.Errorf("check: bootstrap: list the space's bindings: %w", err)
		}
		for _, b := range page.Bindings {
			admin, err := c.holdsBindingCreate(ctx, s, b.RoleID)
			if err != nil {
				return rbac.Binding{}, err
			}
			if admin {
				return rbac.Binding{}, core.SpaceHasAdmin(nb.ResourceID)
			}
		}
		if !page.HasMore {
			break
		}
		q.Cursor = page.NextCursor
	}
	return s.Create(ctx, nb)
}

// holdsBindingCreate reports whether the role holds ROLE_BINDING_CREATE,
// reading it from c's index or, when the index does not know it yet,
// from s.
func (c *Checker) holdsBindingCreate(ctx context.Context, s store.Store, roleID string) (bool, error) {
	if c.rbcBit < 0 {
		return false, nil
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	r, err := ix.role(roleID)
	held := err == nil && r.perms.has(c.rbcBit)
	ix.mu.RUnlock()
	if err == nil {
		return held, nil
	}
	rs, ok := s.(store.RoleStore)
	if !ok {
		return false, err
	}
	role, err := rs.GetRole(ctx, roleID)
	if err != nil {
		// As the store says it, as CreateFirstAdmin would.
		return false, err
	}
	perms := setOf(c.vocab, role.Permissions)
	return perms.has(c.rbcBit), nil
}
