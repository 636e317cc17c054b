package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

// TestHostTransactionFirstAdmin is the case the host transaction is for:
// a host creates a space in its own table and the space's first
// administrator in one transaction. Another first-administrator create of
// that space, outside, waits for it, and then loses when the host commits
// or wins when it rolls back.
func TestHostTransactionFirstAdmin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		for _, commit := range []bool{true, false} {
			t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
				is := is.New(t)
				ctx := t.Context()
				s := e.open(t, sqlstore.Options{})
				_, err := s.DB().ExecContext(ctx, "CREATE TABLE host_spaces (id text PRIMARY KEY)")
				is.NoErr(err) // the host's own table
				tx, ts := begin(t, s)
				insert := "INSERT INTO host_spaces (id) VALUES (?)"
				if e.dialect == sqlstore.PostgreSQL {
					insert = "INSERT INTO host_spaces (id) VALUES ($1)"
				}
				_, err = tx.ExecContext(ctx, insert, spaceID(1))
				is.NoErr(err)
				first := rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)}
				mine, err := ts.CreateFirstAdmin(ctx, first)
				is.NoErr(err) // the first administrator, in the host's transaction

				other := make(chan error, 1)
				go func() {
					_, err := s.CreateFirstAdmin(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)})
					other <- err
				}()
				select {
				case err := <-other:
					t.Fatalf("a first-administrator create outside the host's open transaction returned %v; want it to wait", err)
				case <-time.After(200 * time.Millisecond):
				}
				if commit {
					is.NoErr(tx.Commit())
					err := <-other
					is.True(errors.Is(err, rbac.ErrConflict)) // the host's administrator came first
					is.Equal(err.Error(), "space "+spaceID(1)+" already has an administrator")
					got, err := s.Get(ctx, mine.ID)
					is.NoErr(err)
					is.Equal(got, mine)
					return
				}
				is.NoErr(tx.Rollback())
				is.NoErr(<-other) // the space has no administrator after all
				_, err = s.Get(ctx, mine.ID)
				is.True(errors.Is(err, rbac.ErrNotFound)) // the host's went with its transaction
			})
		}
	})
}
