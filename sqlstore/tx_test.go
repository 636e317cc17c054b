package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
)

// Test IDs, made from numbers.
func userID(n int) string  { return ids.Encode("User", fmt.Sprint(n), "u") }
func roleID(n int) string  { return ids.Encode("Role", fmt.Sprint(n), "r") }
func spaceID(n int) string { return ids.Encode("Space", fmt.Sprint(n), "s") }

func newBinding(user, space, role int) rbac.NewBinding {
	return rbac.NewBinding{RoleID: roleID(role), UserID: userID(user), ResourceType: rbac.Space, ResourceID: spaceID(space)}
}

// count returns how many bindings s lists.
func count(tb testing.TB, s interface {
	List(context.Context, rbac.ListQuery) (rbac.Page, error)
}) int {
	tb.Helper()
	n := 0
	q := rbac.ListQuery{Limit: rbac.MaxLimit}
	for {
		p, err := s.List(context.Background(), q)
		if err != nil {
			tb.Fatalf("list: %v", err)
		}
		n += len(p.Bindings)
		if !p.HasMore {
			return n
		}
		q.Cursor = p.NextCursor
	}
}

func TestHostTransaction(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		for _, c := range []struct {
			name   string
			commit bool
		}{
			{"a host transaction that rolls back leaves nothing", false},
			{"a host transaction that commits keeps the host's row and the binding", true},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				s := e.open(t, sqlstore.Options{})
				_, err := s.DB().ExecContext(ctx, "CREATE TABLE host_projects (name text PRIMARY KEY)")
				is.NoErr(err) // the host's own table

				tx, err := s.DB().BeginTx(ctx, nil)
				is.NoErr(err)
				defer tx.Rollback()
				_, err = tx.ExecContext(ctx, "INSERT INTO host_projects (name) VALUES ('apollo')")
				is.NoErr(err) // the host's own write
				ts := s.WithTx(tx)
				b, err := ts.Create(ctx, newBinding(1, 1, 1))
				is.NoErr(err) // create in the host's transaction
				_, err = ts.Create(ctx, newBinding(1, 1, 2))
				is.True(errors.Is(err, rbac.ErrConflict)) // a conflict inside the transaction
				got, err := ts.Get(ctx, b.ID)
				is.NoErr(err) // the transaction sees its own binding, even after a conflict
				is.Equal(got, b)
				_, err = ts.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(3)})
				is.NoErr(err) // change role in the host's transaction

				if c.commit {
					is.NoErr(tx.Commit())
				} else {
					is.NoErr(tx.Rollback())
				}

				var rows int
				is.NoErr(s.DB().QueryRowContext(ctx, "SELECT count(*) FROM host_projects").Scan(&rows))
				_, err = s.Get(ctx, b.ID)
				if c.commit {
					is.Equal(rows, 1)
					is.NoErr(err)            // the committed binding is there
					is.Equal(count(t, s), 1) // and listed
					return
				}
				is.Equal(rows, 0)                         // the host's row went
				is.True(errors.Is(err, rbac.ErrNotFound)) // and so did the binding
				is.Equal(count(t, s), 0)
				_, err = s.Create(ctx, newBinding(1, 1, 1))
				is.NoErr(err) // the slot is free again
			})
		}
	})
}

func TestBatchCreate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		// One batch with every kind of item: two good ones, one invalid,
		// one that conflicts with a binding made before, and one that
		// conflicts with an earlier item of the same batch.
		batch := func() []rbac.NewBinding {
			return []rbac.NewBinding{
				newBinding(1, 1, 1),
				{RoleID: "nope", UserID: userID(2), ResourceType: "GALAXY", ResourceID: spaceID(2)},
				newBinding(3, 3, 1),
				newBinding(9, 9, 1),
				newBinding(1, 1, 2),
			}
		}
		check := func(is *is.I, res []sqlstore.BatchResult, allOrNothing bool) {
			is.Equal(len(res), 5)
			var ve *rbac.ValidationError
			is.True(errors.As(res[1].Err, &ve))                   // the invalid item says why
			is.True(ve.Has("role_id") && ve.Has("resource_type")) // every field at fault
			is.True(errors.Is(res[3].Err, rbac.ErrConflict))      // conflict with an existing binding
			is.True(errors.Is(res[4].Err, rbac.ErrConflict))      // conflict within the batch
			for _, i := range []int{0, 2} {
				if allOrNothing {
					is.True(errors.Is(res[i].Err, sqlstore.ErrRolledBack)) // a good item of a failed batch
					is.Equal(res[i].Binding, rbac.Binding{})
				} else {
					is.NoErr(res[i].Err) // a good item is created
				}
			}
		}

		t.Run("a batch creates what it can and says why not for the rest", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			_, err := s.Create(ctx, newBinding(9, 9, 1))
			is.NoErr(err)
			res, err := s.CreateBatch(ctx, batch(), sqlstore.BatchOptions{})
			is.NoErr(err)
			check(is, res, false)
			for _, i := range []int{0, 2} {
				got, err := s.Get(ctx, res[i].Binding.ID)
				is.NoErr(err)
				is.Equal(got, res[i].Binding) // what the batch returned is what is stored
			}
			is.Equal(count(t, s), 3)
		})

		t.Run("a batch larger than one statement finds duplicates across statements", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			var nbs []rbac.NewBinding
			for i := range 450 {
				nbs = append(nbs, newBinding(i, i, 1))
			}
			nbs[5] = newBinding(4, 4, 2)     // same slot as the item before it
			nbs[449] = newBinding(10, 10, 3) // same slot as an item hundreds before
			res, err := s.CreateBatch(ctx, nbs, sqlstore.BatchOptions{})
			is.NoErr(err)
			for i, r := range res {
				if i == 5 || i == 449 {
					is.True(errors.Is(r.Err, rbac.ErrConflict)) // the later duplicate conflicts
					continue
				}
				is.NoErr(r.Err)
				is.Equal(r.Binding.UserID, nbs[i].UserID) // each result at its item's index
			}
			got, err := s.Get(ctx, res[10].Binding.ID)
			is.NoErr(err)
			is.Equal(got.RoleID, roleID(1)) // the first of two duplicates wins
			is.Equal(count(t, s), 448)
		})

		t.Run("an all-or-nothing batch with one bad item creates nothing", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			_, err := s.Create(ctx, newBinding(9, 9, 1))
			is.NoErr(err)
			res, err := s.CreateBatch(ctx, batch(), sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			check(is, res, true)
			is.Equal(count(t, s), 1) // only the binding made before

			// Without the bad items the same batch goes through whole.
			good := []rbac.NewBinding{newBinding(1, 1, 1), newBinding(3, 3, 1)}
			res, err = s.CreateBatch(ctx, good, sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			is.NoErr(res[0].Err)
			is.NoErr(res[1].Err)
			is.Equal(count(t, s), 3)
		})

		t.Run("an all-or-nothing batch in a host transaction undoes only itself", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			tx, err := s.DB().BeginTx(ctx, nil)
			is.NoErr(err)
			defer tx.Rollback()
			ts := s.WithTx(tx)
			before, err := ts.Create(ctx, newBinding(9, 9, 1))
			is.NoErr(err)
			res, err := ts.CreateBatch(ctx, batch(), sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			check(is, res, true)
			is.NoErr(tx.Commit()) // the host's transaction is still usable
			got, err := s.Get(ctx, before.ID)
			is.NoErr(err)
			is.Equal(got, before)
			is.Equal(count(t, s), 1)
		})

		t.Run("a batch with a cancelled context creates nothing", func(t *testing.T) {
			is := is.New(t)
			// The clock cancels the context while the batch is halfway
			// through: the store reads it once per statement, and 1,000
			// bindings take several.
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			calls := 0
			s := e.open(t, sqlstore.Options{Now: func() time.Time {
				calls++
				if calls == 3 {
					cancel()
				}
				return time.Now()
			}})
			var nbs []rbac.NewBinding
			for i := range 1000 {
				nbs = append(nbs, newBinding(i, i, 1))
			}
			res, err := s.CreateBatch(cctx, nbs, sqlstore.BatchOptions{})
			is.True(errors.Is(err, context.Canceled)) // the context's error
			is.Equal(res, nil)
			is.True(calls >= 3)      // the context ended halfway
			is.Equal(count(t, s), 0) // nothing half-applied
		})
	})
}

// revision returns the store's revision.
func revision(tb testing.TB, s *sqlstore.Store) uint64 {
	tb.Helper()
	rev, err := s.Revision(context.Background())
	if err != nil {
		tb.Fatalf("revision: %v", err)
	}
	return rev
}

// begin starts a host transaction on the store's database, rolled back at
// cleanup unless the test ends it, and returns the store run in it.
func begin(tb testing.TB, s *sqlstore.Store) (*sql.Tx, *sqlstore.TxStore) {
	tb.Helper()
	tx, err := s.DB().BeginTx(context.Background(), nil)
	if err != nil {
		tb.Fatalf("begin: %v", err)
	}
	tb.Cleanup(func() { tx.Rollback() })
	return tx, s.WithTx(tx)
}

// TestHostTransactionCustomRoleAndFirstBinding is the case that role
// writes in a TxStore are for: a host creates a custom role and the first
// binding to it, and both commit or neither does.
func TestHostTransactionCustomRoleAndFirstBinding(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		auditor := rbac.NewRole{Name: "Auditor", Permissions: []string{"PROJECT_READ"}}
		firstBinding := func(role string) rbac.NewBinding {
			return rbac.NewBinding{RoleID: role, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)}
		}

		t.Run("commit makes both visible, and both in the feed in order", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			before := revision(t, s)
			published := 0
			cancel := s.Subscribe(func(store.Change) { published++ })
			defer cancel()

			tx, ts := begin(t, s)
			role, err := ts.CreateRole(ctx, auditor)
			is.NoErr(err) // create the role in the host's transaction
			b, err := ts.Create(ctx, firstBinding(role.ID))
			is.NoErr(err) // and a binding to it, which sees the uncommitted role
			_, err = s.GetRole(ctx, role.ID)
			is.True(errors.Is(err, rbac.ErrNotFound)) // not visible outside before the commit
			is.NoErr(tx.Commit())

			gotRole, err := s.GetRole(ctx, role.ID)
			is.NoErr(err)
			is.Equal(gotRole, role) // the committed role
			got, err := s.Get(ctx, b.ID)
			is.NoErr(err)
			is.Equal(got, b) // the committed binding
			changes, err := s.Changes(ctx, before, 10)
			is.NoErr(err)
			is.Equal(len(changes), 2) // one change per write
			is.Equal(changes[0].Revision, before+1)
			is.Equal(changes[0].Kind, store.RoleCreated)
			is.Equal(changes[0].Role, role) // the role first
			is.Equal(changes[1].Revision, before+2)
			is.Equal(changes[1].Kind, store.BindingCreated)
			is.Equal(changes[1].Binding, b) // then its binding
			is.Equal(published, 0)          // subscribers do not see the host's commit
		})

		t.Run("rollback leaves neither, and no gap in revisions", func(t *testing.T) {
			is := is.New(t)
			s := e.open(t, sqlstore.Options{})
			before := revision(t, s)

			tx, ts := begin(t, s)
			role, err := ts.CreateRole(ctx, auditor)
			is.NoErr(err)
			b, err := ts.Create(ctx, firstBinding(role.ID))
			is.NoErr(err)
			is.NoErr(tx.Rollback())

			_, err = s.GetRole(ctx, role.ID)
			is.True(errors.Is(err, rbac.ErrNotFound)) // no role
			_, err = s.Get(ctx, b.ID)
			is.True(errors.Is(err, rbac.ErrNotFound)) // no binding
			is.Equal(revision(t, s), before)          // no revision
			again, err := s.CreateRole(ctx, auditor)
			is.NoErr(err) // the name is free again
			changes, err := s.Changes(ctx, before, 10)
			is.NoErr(err)
			is.Equal(len(changes), 1)
			is.Equal(changes[0].Revision, before+1) // the next write takes the next revision
			is.Equal(changes[0].Role, again)
		})

		for _, c := range []struct {
			name string
			// second makes the binding write fail, and returns the
			// context to run it with.
			second func(t *testing.T, s *sqlstore.Store) context.Context
			isErr  func(error) bool
		}{
			{
				name: "a conflict",
				second: func(t *testing.T, s *sqlstore.Store) context.Context {
					_, err := s.Create(ctx, firstBinding(roleID(1)))
					is.New(t).NoErr(err) // the user's binding on the space, made before
					return ctx
				},
				isErr: func(err error) bool { return errors.Is(err, rbac.ErrConflict) },
			},
			{
				name: "an internal error",
				second: func(*testing.T, *sqlstore.Store) context.Context {
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					return cctx
				},
				isErr: func(err error) bool { return errors.Is(err, context.Canceled) },
			},
		} {
			t.Run("the binding write fails with "+c.name+" and the host rolls back both", func(t *testing.T) {
				is := is.New(t)
				s := e.open(t, sqlstore.Options{})
				secondCtx := c.second(t, s)
				before := revision(t, s)

				tx, ts := begin(t, s)
				role, err := ts.CreateRole(ctx, auditor)
				is.NoErr(err)
				_, err = ts.Create(secondCtx, firstBinding(role.ID))
				is.True(c.isErr(err)) // the second write fails
				is.NoErr(tx.Rollback())

				_, err = s.GetRole(ctx, role.ID)
				is.True(errors.Is(err, rbac.ErrNotFound)) // the first write went with it
				is.Equal(revision(t, s), before)          // and its revision
			})
		}
	})
}

// TestHostTransactionRolesAndResources runs every role and resource
// operation of a TxStore in one host transaction: each sees the writes
// before it, a conflict leaves the transaction usable, and the commit
// puts every write in the feed, in order.
func TestHostTransactionRolesAndResources(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		before := revision(t, s)

		tx, ts := begin(t, s)
		role, err := ts.CreateRole(ctx, rbac.NewRole{Name: "Editor", Permissions: []string{"PROJECT_READ"}})
		is.NoErr(err)
		got, err := ts.GetRole(ctx, role.ID)
		is.NoErr(err)
		is.Equal(got, role) // the transaction reads its own role
		_, err = ts.CreateRole(ctx, rbac.NewRole{Name: "Editor", Permissions: []string{"SPACE_READ"}})
		is.True(errors.Is(err, rbac.ErrConflict)) // the name is taken, in the transaction
		name := "Writer"
		updated, err := ts.UpdateRole(ctx, role.ID, rbac.RoleUpdate{Name: &name})
		is.NoErr(err)
		is.Equal(updated.Name, name)
		taken := "test role 1"
		_, err = ts.UpdateRole(ctx, role.ID, rbac.RoleUpdate{Name: &taken})
		is.True(errors.Is(err, rbac.ErrConflict)) // another role has that name
		page, err := ts.ListRoles(ctx, rbac.RoleQuery{Limit: rbac.MaxLimit})
		is.NoErr(err)
		is.Equal(page.Roles[len(page.Roles)-1], updated) // listed last, as it is now

		b, err := ts.Create(ctx, rbac.NewBinding{RoleID: role.ID, UserID: userID(1), ResourceType: rbac.Project, ResourceID: projectID(1)})
		is.NoErr(err)
		is.NoErr(ts.SetProjectSpace(ctx, projectID(1), spaceID(1)))
		space, err := ts.ProjectSpace(ctx, projectID(1))
		is.NoErr(err)
		is.Equal(space, spaceID(1))
		is.NoErr(ts.RestrictProject(ctx, projectID(1)))
		restricted, err := ts.ListRestricted(ctx, rbac.RestrictedQuery{})
		is.NoErr(err)
		is.Equal(len(restricted.Projects), 1)
		is.Equal(restricted.Projects[0].ProjectID, projectID(1)) // the transaction's restriction
		is.NoErr(ts.UnrestrictProject(ctx, projectID(1)))
		err = ts.UnrestrictProject(ctx, projectID(1))
		is.True(errors.Is(err, rbac.ErrNotFound)) // no longer restricted
		err = ts.DeleteRole(ctx, role.ID)
		is.True(errors.Is(err, rbac.ErrConflict)) // the role still has its binding
		is.NoErr(ts.Delete(ctx, b.ID))
		is.NoErr(ts.DeleteRole(ctx, role.ID))
		_, err = ts.GetRole(ctx, role.ID)
		is.True(errors.Is(err, rbac.ErrNotFound))
		is.NoErr(tx.Commit()) // every failure above left the transaction usable

		changes, err := s.Changes(ctx, before, 20)
		is.NoErr(err)
		var kinds []store.ChangeKind
		for i, ch := range changes {
			is.Equal(ch.Revision, before+1+uint64(i)) // consecutive revisions
			kinds = append(kinds, ch.Kind)
		}
		is.Equal(kinds, []store.ChangeKind{
			store.RoleCreated, store.RoleUpdated, store.BindingCreated, store.ProjectSpaceSet,
			store.ProjectRestricted, store.ProjectUnrestricted, store.BindingDeleted, store.RoleDeleted,
		}) // each successful write, in the order made
		is.Equal(changes[1].Role, updated)
		space, err = s.ProjectSpace(ctx, projectID(1))
		is.NoErr(err)
		is.Equal(space, spaceID(1)) // committed
	})
}
