package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

// triggerDefs returns the SQL of every trigger on the bindings table, by
// name (SQLite only).
func triggerDefs(tb testing.TB, s *sqlstore.Store) map[string]string {
	tb.Helper()
	rows, err := s.DB().QueryContext(context.Background(),
		"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rbac_role_bindings'")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	defs := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			tb.Fatal(err)
		}
		defs[name] = def
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return defs
}

// TestLargeBatch checks batches large enough for SQLite's bulk path, which
// sets the bindings' row triggers aside for the length of the batch and
// checks their rules itself: the outcomes are those of every other batch,
// on both engines, and on SQLite the triggers are there again afterwards,
// whether the batch committed, rolled back or failed.
func TestLargeBatch(t *testing.T) {
	const n = sqlstore.BulkMin + 300
	// items returns n bindings of new users on new spaces, from user
	// first on.
	items := func(first int) []rbac.NewBinding {
		out := make([]rbac.NewBinding, n)
		for i := range out {
			out[i] = newBinding(first+i, first+i, 1+i%3)
		}
		return out
	}
	unknownRole := ids.Encode("Role", "999", "none")

	eachEngine(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		// open returns a store holding one live and one deleted binding.
		open := func(t *testing.T) (s *sqlstore.Store, live, gone rbac.Binding, triggers map[string]string) {
			is := is.New(t)
			s = e.open(t, sqlstore.Options{})
			live, err := s.Create(ctx, newBinding(1, 1, 1))
			is.NoErr(err)
			gone, err = s.Create(ctx, newBinding(2, 2, 1))
			is.NoErr(err)
			is.NoErr(s.Delete(ctx, gone.ID))
			if e.dialect == sqlstore.SQLite {
				triggers = triggerDefs(t, s)
				is.True(len(triggers) >= 2) // the store's triggers are there to begin with
			}
			return s, live, gone, triggers
		}
		// triggersKept checks that the bindings' triggers are the ones
		// there were before, by name and SQL.
		triggersKept := func(is *is.I, s *sqlstore.Store, before map[string]string) {
			if e.dialect != sqlstore.SQLite {
				return
			}
			is.Equal(triggerDefs(t, s), before) // the triggers are back, as they were
		}
		// rulesHold checks that a writer other than the store can still
		// neither reuse a retired ID nor bind to an unknown role.
		rulesHold := func(is *is.I, s *sqlstore.Store, gone rbac.Binding) {
			other := e.db(t, s)
			const insert = `INSERT INTO rbac_role_bindings
				(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
				VALUES (?, ?, ?, 'SPACE', ?, 0, 0)`
			_, err := other.ExecContext(ctx, e.sql(insert), gone.ID, roleID(1), userID(90000), spaceID(90000))
			is.True(err != nil) // another writer cannot reuse a retired ID
			table := ids.DefaultTable()
			fresh, err := table.NewID(ids.RoleBinding)
			is.NoErr(err)
			_, err = other.ExecContext(ctx, e.sql(insert), fresh, unknownRole, userID(90001), spaceID(90001))
			is.True(err != nil) // nor bind to a role that does not exist
		}

		// rulesKept checks both of the above.
		rulesKept := func(is *is.I, s *sqlstore.Store, triggers map[string]string, gone rbac.Binding) {
			triggersKept(is, s, triggers)
			rulesHold(is, s, gone)
		}

		t.Run("creates every binding, in order, and keeps the rules", func(t *testing.T) {
			is := is.New(t)
			s, _, gone, triggers := open(t)
			version := schemaCookie(t, e, s)
			small, err := s.CreateBatch(ctx, items(50000)[:sqlstore.BulkMin-1], sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			is.NoErr(small[0].Err)
			is.Equal(schemaCookie(t, e, s), version) // a smaller batch leaves the triggers alone
			before, err := s.Revision(ctx)
			is.NoErr(err)
			res, err := s.CreateBatch(ctx, items(100), sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			if e.dialect == sqlstore.SQLite {
				is.True(schemaCookie(t, e, s) > version) // the large batch set them aside and back
			}
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("item %d: %v", i, r.Err)
				}
			}
			is.Equal(count(t, s), 1+sqlstore.BulkMin-1+n)
			got, err := s.Get(ctx, res[n-1].Binding.ID)
			is.NoErr(err)
			is.Equal(got, res[n-1].Binding) // stored as returned
			last, err := s.Changes(ctx, before+n-1, 10)
			is.NoErr(err)
			is.Equal(len(last), 1)                      // one change per binding
			is.Equal(last[0].Binding, res[n-1].Binding) // in the batch's order
			rulesKept(is, s, triggers, gone)
		})

		t.Run("conflicts and unknown roles fail their items alone", func(t *testing.T) {
			is := is.New(t)
			s, live, gone, triggers := open(t)
			batch := items(100)
			batch[7] = newBinding(1, 1, 2) // the user and space of the live binding
			batch[n-1] = batch[10]         // a duplicate of an earlier item
			batch[500].RoleID = unknownRole
			res, err := s.CreateBatch(ctx, batch, sqlstore.BatchOptions{})
			is.NoErr(err)
			is.True(errors.Is(res[7].Err, rbac.ErrConflict))   // taken by a binding made before
			is.True(errors.Is(res[n-1].Err, rbac.ErrConflict)) // taken by an earlier item
			is.True(errors.Is(res[500].Err, rbac.ErrNotFound)) // the role does not exist
			is.Equal(count(t, s), 1+n-3)
			got, err := s.Get(ctx, live.ID)
			is.NoErr(err)
			is.Equal(got, live) // the binding made before is untouched
			rulesKept(is, s, triggers, gone)
		})

		t.Run("an all-or-nothing batch that fails leaves nothing, triggers included", func(t *testing.T) {
			is := is.New(t)
			s, _, gone, triggers := open(t)
			batch := items(100)
			batch[900].RoleID = unknownRole
			res, err := s.CreateBatch(ctx, batch, sqlstore.BatchOptions{AllOrNothing: true})
			is.NoErr(err)
			is.True(errors.Is(res[900].Err, rbac.ErrNotFound))
			is.True(errors.Is(res[0].Err, sqlstore.ErrRolledBack))
			is.Equal(count(t, s), 1)
			rulesKept(is, s, triggers, gone)
		})

		for _, c := range []struct {
			name  string
			taken func(live, gone rbac.Binding) string
		}{
			{"a retired ID handed out again is replaced by a fresh one", func(_, gone rbac.Binding) string { return gone.ID }},
			{"an ID in use handed out again is replaced by a fresh one", func(live, _ rbac.Binding) string { return live.ID }},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				s, live, gone, triggers := open(t)
				taken := c.taken(live, gone)
				table := ids.DefaultTable()
				calls := 0
				sqlstore.SetNewID(s, func() (string, error) {
					calls++
					if calls == 5 { // in the first chunk
						return taken, nil
					}
					return table.NewID(ids.RoleBinding)
				})
				res, err := s.CreateBatch(ctx, items(100), sqlstore.BatchOptions{AllOrNothing: true})
				is.NoErr(err)
				for i, r := range res {
					if r.Err != nil {
						t.Fatalf("item %d: %v", i, r.Err)
					}
					if r.Binding.ID == taken {
						t.Fatalf("item %d got an ID that was used before", i)
					}
				}
				is.Equal(count(t, s), n+1)
				got, err := s.Get(ctx, live.ID)
				is.NoErr(err)
				is.Equal(got, live) // the live binding is untouched
				triggersKept(is, s, triggers)
			})
		}

		t.Run("a generator that only repeats a retired ID fails the batch whole", func(t *testing.T) {
			is := is.New(t)
			s, _, gone, triggers := open(t)
			sqlstore.SetNewID(s, func() (string, error) { return gone.ID, nil })
			_, err := s.CreateBatch(ctx, items(100), sqlstore.BatchOptions{})
			is.True(err != nil)       // refused
			is.True(!isCategory(err)) // not the caller's fault
			is.Equal(count(t, s), 1)
			rulesKept(is, s, triggers, gone)
		})

		t.Run("another handle on the file works before, during and after", func(t *testing.T) {
			is := is.New(t)
			s, live, _, _ := open(t)
			other := e.db(t, s)
			var role string
			read := func() {
				is.NoErr(other.QueryRowContext(ctx, e.sql("SELECT role_id FROM rbac_role_bindings WHERE id = ?"), live.ID).Scan(&role))
				is.Equal(role, live.RoleID)
			}
			read()
			res, err := s.CreateBatch(ctx, items(100), sqlstore.BatchOptions{})
			is.NoErr(err)
			is.NoErr(res[0].Err)
			read() // statements prepared before the batch still run
			var seen int
			is.NoErr(other.QueryRowContext(ctx, "SELECT COUNT(*) FROM rbac_role_bindings").Scan(&seen))
			is.Equal(seen, n+1) // and see what it wrote
		})
	})
}

// schemaCookie returns SQLite's schema cookie, which every change to the
// schema moves on (0 on PostgreSQL).
func schemaCookie(tb testing.TB, e engine, s *sqlstore.Store) int {
	tb.Helper()
	if e.dialect != sqlstore.SQLite {
		return 0
	}
	var v int
	if err := s.DB().QueryRowContext(context.Background(), "PRAGMA schema_version").Scan(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}
