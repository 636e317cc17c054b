package rbactest_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
	"github.com/rolebind/rbac/validate"
)

func TestNewChecksSeeWritesAtOnce(t *testing.T) {
	is := is.New(t)
	s, c := rbactest.New(t)
	ctx := t.Context()

	b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	is.NoErr(err) // a predefined role of the default catalogue
	ok, err := c.Check(rbactest.User(1), "SPACE_UPDATE", rbac.Space, rbactest.Space(1))
	is.NoErr(err)
	is.True(ok) // the write is in the checker before Create returns
	ok, err = c.Check(rbactest.User(2), "SPACE_READ", rbac.Space, rbactest.Space(1))
	is.NoErr(err)
	is.True(!ok) // another user has nothing

	is.NoErr(s.Delete(ctx, b.ID))
	ok, err = c.Check(rbactest.User(1), "SPACE_UPDATE", rbac.Space, rbactest.Space(1))
	is.NoErr(err)
	is.True(!ok) // and so is a delete
}

func TestNewReleasesAtCleanup(t *testing.T) {
	is := is.New(t)
	var (
		s *memstore.Store
		c *check.Checker
	)
	t.Run("a test", func(t *testing.T) {
		s, c = rbactest.New(t)
		_, err := s.Create(t.Context(), rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: rbactest.User(1), ResourceType: rbac.Project, ResourceID: rbactest.Project(1)})
		is.NoErr(err)
	})
	is.Equal(c.Revision(), uint64(1)) // the checker followed the store during the test
	_, err := s.Create(t.Context(), rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: rbactest.User(2), ResourceType: rbac.Project, ResourceID: rbactest.Project(1)})
	is.NoErr(err)
	is.Equal(c.Revision(), uint64(1)) // and stopped following when the test ended
}

func TestNewWithOptions(t *testing.T) {
	is := is.New(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, c := rbactest.NewWith(t, memstore.Options{Now: func() time.Time { return at }})
	b, err := s.Create(t.Context(), rbac.NewBinding{RoleID: perm.AnnotatorRoleID, UserID: rbactest.User(3), ResourceType: rbac.Project, ResourceID: rbactest.Project(3)})
	is.NoErr(err)
	is.Equal(b.CreatedAt, at) // the store's clock is the test's
	ok, err := c.Check(rbactest.User(3), "QUEUE_RECORD_ANNOTATE", rbac.Project, rbactest.Project(3))
	is.NoErr(err)
	is.True(ok) // and the checker follows that store
}

func TestIDBuilders(t *testing.T) {
	v := validate.Default()
	for _, tc := range []struct {
		name      string
		build     func(int) string
		typ       string
		wellTyped func(string) (string, error)
	}{
		{"user", rbactest.User, "User", v.UserID},
		{"space", rbactest.Space, "Space", func(id string) (string, error) { return v.Resource(rbac.Space, id) }},
		{"project, spelt Model as stores return it", rbactest.Project, "Model", func(id string) (string, error) { return v.Resource(rbac.Project, id) }},
		{"role", rbactest.Role, "Role", v.RoleID},
		{"binding", rbactest.Binding, "RoleBinding", v.BindingID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, n := range []int{0, 1, 42} {
				id := tc.build(n)
				d, err := ids.Decode(id)
				is.NoErr(err) // canonical
				is.Equal(d.Text(), tc.typ+":"+strconv.Itoa(n))
				got, err := tc.wellTyped(id)
				is.NoErr(err)     // accepted for its field
				is.Equal(got, id) // and already in canonical form
			}
			is.True(tc.build(1) != tc.build(2)) // one number, one ID
		})
	}
}

func TestBuildersNameNothingStored(t *testing.T) {
	is := is.New(t)
	s, _ := rbactest.New(t)
	_, err := s.Get(t.Context(), rbactest.Binding(1))
	is.True(errors.Is(err, rbac.ErrNotFound)) // a well-formed ID of no binding
	_, err = s.Create(t.Context(), rbac.NewBinding{RoleID: rbactest.Role(1), UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	is.True(errors.Is(err, rbac.ErrNotFound)) // a role the default catalogue does not have
}

func TestBuilderPanicsOnANegativeNumber(t *testing.T) {
	is := is.New(t)
	defer func() { is.True(recover() != nil) }() // a negative number is a mistake in the test
	rbactest.User(-1)
}

func TestNewWithAHostCatalogue(t *testing.T) {
	is := is.New(t)
	reader := rbac.Role{ID: rbactest.Role(7), Name: "Project reader", Permissions: []string{"PROJECT_READ"}, Predefined: true}
	s, c := rbactest.NewWith(t, memstore.Options{Catalogue: []rbac.Role{reader}})
	_, err := s.Create(t.Context(), rbac.NewBinding{RoleID: reader.ID, UserID: rbactest.User(1), ResourceType: rbac.Project, ResourceID: rbactest.Project(1)})
	is.NoErr(err) // the host's role is in the store
	ok, err := c.Check(rbactest.User(1), "PROJECT_READ", rbac.Project, rbactest.Project(1))
	is.NoErr(err)
	is.True(ok) // and the checker knows it too, from the store
	_, err = s.Create(t.Context(), rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: rbactest.User(2), ResourceType: rbac.Project, ResourceID: rbactest.Project(1)})
	is.True(errors.Is(err, rbac.ErrNotFound)) // the host catalogue replaces the default one
}
