package check

import (
	"context"
	"fmt"

	"github.com/rolebind/rbac"
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
// Bootstrap refuses, with an error matching [rbac.ErrConflict] that names
// the binding, when the space already has an administrator: a binding on
// the space whose role holds ROLE_BINDING_CREATE. It reads the space's
// bindings from s itself rather than from c's index, which may lag behind
// other processes' writes; roles come from c (c should follow s), or,
// for a role c does not know yet, from s when s is a [store.RoleStore]. The
// read and the write are not one atomic step: two Bootstraps of one space
// at once may both succeed, so a host runs them one at a time per space.
//
// Errors: ErrInvalid for a malformed user (field "user_id"), space (field
// "resource_id") or role ID (field "role_id"), or a role without
// ROLE_BINDING_CREATE (field "role_id"); ErrNotFound for a role neither c
// nor s knows; ErrConflict as above, or from s when the user already has
// a binding on the space; anything else s returns, as it returns it.
func Bootstrap(ctx context.Context, c *Checker, s store.Store, userID, spaceID, roleID string) (rbac.Binding, error) {
	nb, err := c.val.NewBinding(rbac.NewBinding{RoleID: roleID, UserID: userID, ResourceType: rbac.Space, ResourceID: spaceID})
	if err != nil {
		return rbac.Binding{}, err
	}
	admin, err := c.holdsBindingCreate(ctx, s, nb.RoleID)
	switch {
	case err != nil:
		return rbac.Binding{}, err
	case !admin:
		return rbac.Binding{}, rbac.Invalid("role_id", rbac.ReasonInvalid, "the role lacks ROLE_BINDING_CREATE, so it would not make an administrator")
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
				return rbac.Binding{}, fmt.Errorf("check: bootstrap: space %s already has an administrator (binding %s of user %s, role %s); "+
					"further bindings are made by an administrator through the guard: %w", nb.ResourceID, b.ID, b.UserID, b.RoleID, rbac.ErrConflict)
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
		return false, fmt.Errorf("check: bootstrap: role %s: %w", roleID, err)
	}
	perms := setOf(c.vocab, role.Permissions)
	return perms.has(c.rbcBit), nil
}
