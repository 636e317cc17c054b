package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

func newBootstrapCmd(a *app) *cobra.Command {
	var userID, spaceID, roleID string
	var force bool
	cmd := &cobra.Command{
		Use:   "bootstrap --user-id USER --space-id SPACE [--role-id ROLE] [--force]",
		Short: "Give a space its first administrator",
		Long: `bootstrap binds USER to an administrator role (default: the predefined
Admin) on SPACE. On a space without an administrator nobody holds
ROLE_BINDING_CREATE, so no one could grant access there through the REST
API; bootstrap is the way in (check.Bootstrap). The role must hold
ROLE_BINDING_CREATE.

It refuses when the space already has an administrator. With --force it
binds the user anyway: it creates the binding, or, when the user already
has one on the space, changes its role. Use --force to recover a space
whose administrators are gone or locked out, knowing that it goes around
the escalation guard.`,
		Args:        cobra.NoArgs,
		Annotations: posArgs("resource_id", "--space-id"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, c, err := a.openChecker(ctx)
			if err != nil {
				return err
			}
			b, err := check.Bootstrap(ctx, c, s, userID, spaceID, roleID)
			switch {
			case err == nil:
			case !errors.Is(err, rbac.ErrConflict):
				return err
			case !force:
				// The space has an administrator, or the user has a
				// binding on it: --force binds the user anyway.
				return rbac.Conflict("%s; grant access with rbac role-bindings create, or pass --force", err)
			default:
				if b, err = forceAdmin(cmd, a, userID, spaceID, roleID); err != nil {
					return err
				}
			}
			return a.writeBindings(b)
		},
	}
	f := cmd.Flags()
	f.StringVar(&userID, "user-id", "", "the user to make an administrator")
	f.StringVar(&spaceID, "space-id", "", "the space")
	f.StringVar(&roleID, "role-id", perm.AdminRoleID, "a role holding ROLE_BINDING_CREATE")
	f.BoolVar(&force, "force", false, "bind even when the space has an administrator")
	return cmd
}

// forceAdmin binds the user to the role on the space directly: the
// user's binding there changes role, or a new one is made. check.Bootstrap
// has already validated the input and the role.
func forceAdmin(cmd *cobra.Command, a *app, userID, spaceID, roleID string) (rbac.Binding, error) {
	ctx := cmd.Context()
	s, err := a.open(ctx)
	if err != nil {
		return rbac.Binding{}, err
	}
	page, err := s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID, UserID: userID, Limit: 1})
	if err != nil {
		return rbac.Binding{}, err
	}
	if len(page.Bindings) == 1 {
		return s.ChangeRole(ctx, page.Bindings[0].ID, rbac.RoleChange{RoleID: roleID})
	}
	return s.Create(ctx, rbac.NewBinding{RoleID: roleID, UserID: userID, ResourceType: rbac.Space, ResourceID: spaceID})
}
