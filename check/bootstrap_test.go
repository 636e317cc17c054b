package check_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
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
	is.True(errors.Is(err, rbac.ErrConflict))                          // a second bootstrap is refused
	is.Equal(err.Error(), "space "+s1+" already has an administrator") // naming the space, not the binding
}

// hostStore is a store of a host that has no CreateFirstAdmin, so that
// Bootstrap takes its other path: the roles and bindings of s, without
// its [store.FirstAdminCreator].
type hostStore struct {
	store.Store
	store.RoleStore
}

// TestBootstrapRacing runs Bootstraps of each space at once: with a store
// that has CreateFirstAdmin, exactly one per space succeeds.
func TestBootstrapRacing(t *testing.T) {
	s, c := followedStore(t)
	const spaces = 200
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		won   [spaces][2]bool
	)
	for i := range spaces {
		space := ids.Encode("Space", strconv.Itoa(100+i), "race")
		for side, user := range []string{alice, bob} {
			wg.Go(func() {
				<-start
				_, err := check.Bootstrap(t.Context(), c, s, user, space, perm.AdminRoleID)
				won[i][side] = err == nil
				if err != nil && err.Error() != "space "+space+" already has an administrator" {
					t.Errorf("space %d: %v; want success or the space's conflict", i, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i := range spaces {
		if won[i][0] == won[i][1] {
			t.Errorf("space %d: bootstraps won %v; want exactly one", i, won[i])
		}
	}
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
			// The same answer from the store's atomic CreateFirstAdmin and
			// from Bootstrap's own path for a host's store without it.
			var errs [2]error
			for i := range errs {
				s, c := followedStore(t)
				for _, nb := range tc.before {
					_, err := s.Create(t.Context(), nb)
					is.NoErr(err) // setup
				}
				var st store.Store = s
				if i == 1 {
					st = hostStore{s, s}
				}
				_, errs[i] = check.Bootstrap(t.Context(), c, st, tc.user, tc.space, tc.role)
			}
			if tc.want == nil {
				is.NoErr(errs[0]) // bootstrap with CreateFirstAdmin
				is.NoErr(errs[1]) // bootstrap without it
				return
			}
			is.True(errors.Is(errs[0], tc.want)) // error category
			is.True(errors.Is(errs[1], tc.want)) // error category without CreateFirstAdmin
			is.Equal(errs[0].Error(), errs[1].Error())
		})
	}
}
