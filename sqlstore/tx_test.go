package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
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
