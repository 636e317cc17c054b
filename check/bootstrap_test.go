package check_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
)

// followedStore returns a memstore and a checker following it.
func followedStore(t *testing.T) (*memstore.Store, *check.Checker) {
	t.Helper()
	s := memstore.New(memstore.Options{})
	c, err := check.New(check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := check.Follow(t.Context(), c, s, check.FollowOptions{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return s, c
}

func TestBootstrapGivesASpaceItsFirstAdministrator(t *testing.T) {
	is := is.New(t)
	s, c := followedStore(t)
	ctx := t.Context()
	grant := rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: bob, ResourceType: rbac.Space, ResourceID: s1}
	is.True(errors.Is(c.CanCreateBinding(alice, grant), rbac.ErrForbidden)) // without an administrator nobody may grant

	b, err := check.Bootstrap(ctx, c, s, alice, s1, perm.AdminRoleID)
	is.NoErr(err) // bootstrap
	is.Equal(b.UserID, alice)
	is.Equal(b.ResourceID, s1)
	is.Equal(b.RoleID, perm.AdminRoleID)
	is.NoErr(c.CanCreateBinding(alice, grant)) // from then on the guard lets the administrator grant

	_, err = check.Bootstrap(ctx, c, s, bob, s1, perm.AdminRoleID)
	is.True(errors.Is(err, rbac.ErrConflict))    // a second bootstrap is refused
	is.True(strings.Contains(err.Error(), b.ID)) // naming the administrator's binding
	is.True(strings.Contains(err.Error(), "already has an administrator"))
}

func TestBootstrap(t *testing.T) {
	cases := []struct {
		name   string
		before []rbac.NewBinding
		user   string
		space  string
		role   string
		want   error
	}{
		{"a space with members but no administrator may be bootstrapped",
			[]rbac.NewBinding{{RoleID: perm.MemberRoleID, UserID: bob, ResourceType: rbac.Space, ResourceID: s1}},
			alice, s1, perm.AdminRoleID, nil},
		{"an administrator of a project of the space does not count: the space has none",
			[]rbac.NewBinding{{RoleID: perm.AdminRoleID, UserID: bob, ResourceType: rbac.Project, ResourceID: p1}},
			alice, s1, perm.AdminRoleID, nil},
		{"an administrator of another space does not count",
			[]rbac.NewBinding{{RoleID: perm.AdminRoleID, UserID: bob, ResourceType: rbac.Space, ResourceID: s2}},
			alice, s1, perm.AdminRoleID, nil},
		{"a space with an administrator is a conflict",
			[]rbac.NewBinding{{RoleID: perm.AdminRoleID, UserID: bob, ResourceType: rbac.Space, ResourceID: s1}},
			alice, s1, perm.AdminRoleID, rbac.ErrConflict},
		{"a user who already has a binding on the space is a conflict of the store",
			[]rbac.NewBinding{{RoleID: perm.ReadOnlyRoleID, UserID: alice, ResourceType: rbac.Space, ResourceID: s1}},
			alice, s1, perm.AdminRoleID, rbac.ErrConflict},
		{"a role without ROLE_BINDING_CREATE would make no administrator: invalid", nil, alice, s1, perm.MemberRoleID, rbac.ErrInvalid},
		{"a role nobody knows is not found", nil, alice, s1, roleID(99), rbac.ErrNotFound},
		{"a project is no space: invalid", nil, alice, p1, perm.AdminRoleID, rbac.ErrInvalid},
		{"a malformed user is invalid", nil, "alice", s1, perm.AdminRoleID, rbac.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			s, c := followedStore(t)
			for _, nb := range tc.before {
				_, err := s.Create(t.Context(), nb)
				is.NoErr(err) // setup
			}
			_, err := check.Bootstrap(t.Context(), c, s, tc.user, tc.space, tc.role)
			if tc.want == nil {
				is.NoErr(err) // bootstrap
				return
			}
			is.True(errors.Is(err, tc.want)) // error category
		})
	}
}
