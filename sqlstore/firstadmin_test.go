package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// First administrators across two processes sharing a database: the
// storetest group FirstAdmin races goroutines on one Store; here a child
// process races the parent, so nothing the two share in memory can be
// what makes the check and the create one step.

// firstAdmins makes user the first administrator of spaces 0 to n-1, all
// at once, and answers, per space, whether it won. Any error but the
// space's conflict is an error of the call.
func firstAdmins(ctx context.Context, s *sqlstore.Store, user string, n int) ([]bool, error) {
	won := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.CreateFirstAdmin(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: user, ResourceType: rbac.Space, ResourceID: spaceID(i)})
			if err == nil {
				won[i] = true
				return
			}
			if want := "space " + spaceID(i) + " already has an administrator"; !errors.Is(err, rbac.ErrConflict) || err.Error() != want {
				errs[i] = fmt.Errorf("space %d: %w; want success or the conflict %q", i, err, want)
			}
		})
	}
	wg.Wait()
	return won, errors.Join(errs...)
}

func TestTwoProcessesFirstAdmin(t *testing.T) {
	const spaces = 200
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s, db := openShared(t, e, sqlstore.Options{Catalogue: testCatalogue()})
		kid := startChild(t, e.name, db)
		var (
			wg     sync.WaitGroup
			theirs reply
			mine   []bool
			err    error
		)
		wg.Go(func() { theirs = kid.do(command{Op: "first admins", User: userID(1), N: spaces}) })
		wg.Go(func() { mine, err = firstAdmins(ctx, s, userID(2), spaces) })
		wg.Wait()
		is.NoErr(err)
		is.Equal(len(theirs.Answers), spaces)
		for i := range spaces {
			if theirs.Answers[i] == mine[i] {
				t.Errorf("space %d: the child won %v, the parent won %v; want exactly one", i, theirs.Answers[i], mine[i])
			}
			page, err := s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID(i)})
			is.NoErr(err)
			if len(page.Bindings) != 1 {
				t.Errorf("space %d has %d bindings; want its one administrator", i, len(page.Bindings))
			}
		}
	})
}
