package sqlstore_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
)

// tableExists reports whether the database of db has the table.
func tableExists(tb testing.TB, e engine, db *sql.DB, table string) bool {
	tb.Helper()
	q := "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"
	if e.dialect == sqlstore.PostgreSQL {
		q = "SELECT to_regclass($1) IS NOT NULL"
	}
	var ok bool
	if err := db.QueryRowContext(tb.Context(), q, table).Scan(&ok); err != nil {
		tb.Fatalf("look for table %s: %v", table, err)
	}
	return ok
}

func TestUpgradeFromVersion1NeedsTheRolesOfItsBindings(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	data, err := os.ReadFile(v1Fixture)
	is.NoErr(err)
	path := filepath.Join(t.TempDir(), "old.db")
	is.NoErr(os.WriteFile(path, data, 0o644))

	_, err = sqlstore.OpenSQLite(ctx, path, sqlstore.Options{}) // the default catalogue
	var unknown *sqlstore.UnknownRolesError
	is.True(errors.As(err, &unknown))                              // refused
	is.Equal(unknown.RoleIDs, []string{roleID(1), roleID(2)})      // naming the roles the bindings need
	is.True(!errors.Is(err, rbac.ErrNotFound) && !isCategory(err)) // an error at open, none of the categories

	old, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	is.NoErr(err)
	v, _ := schemaVersion(t, old)
	is.Equal(v, 1)                                            // the upgrade was rolled back whole
	is.True(!tableExists(t, sqliteEngine, old, "rbac_roles")) // no table of version 3 left behind
	is.NoErr(old.Close())

	// With a catalogue that defines them, the same file upgrades.
	s := openSQLite(t, path, sqlstore.Options{Catalogue: testCatalogue()})
	for _, want := range v1Bindings {
		got, err := s.Get(ctx, want.ID)
		is.NoErr(err)
		is.Equal(got, want) // intact
		r, err := s.GetRole(ctx, want.RoleID)
		is.NoErr(err)
		is.True(r.Predefined) // its role is the catalogue's
	}
	err = s.DeleteRole(ctx, roleID(1))
	is.True(errors.Is(err, rbac.ErrInvalid)) // predefined, and so never deleted from under the old bindings
}

func TestUpgradeChecksTheRolesOfExistingBindings(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		// A database beside it, left at version 2 with bindings to
		// roles that no table defines.
		var old *sql.DB
		switch e.dialect {
		case sqlstore.SQLite:
			dsn, err := sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "v2.db"))
			is.NoErr(err)
			old, err = sql.Open("sqlite", dsn)
			is.NoErr(err)
			t.Cleanup(func() { old.Close() })
		default:
			old = postgresDB(t, newSchema(t))
		}
		is.NoErr(sqlstore.MigrateTo(ctx, old, e.dialect, 2))
		for i, b := range v1Bindings {
			_, err := old.ExecContext(ctx, e.sql(`INSERT INTO rbac_role_bindings
				(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`),
				b.ID, roleID(20+i%2), b.UserID, string(b.ResourceType), b.ResourceID, b.CreatedAt.UnixMicro(), b.UpdatedAt.UnixMicro())
			is.NoErr(err)
		}

		_, err := sqlstore.New(ctx, old, e.dialect, sqlstore.Options{})
		var unknown *sqlstore.UnknownRolesError
		is.True(errors.As(err, &unknown))
		is.Equal(unknown.RoleIDs, []string{roleID(20), roleID(21)})
		v, _ := schemaVersion(t, old)
		is.Equal(v, 2) // rolled back
		is.True(!tableExists(t, e, old, "rbac_roles"))

		s, err := sqlstore.New(ctx, old, e.dialect, sqlstore.Options{Catalogue: testCatalogue()})
		is.NoErr(err)
		t.Cleanup(func() { s.Close() })
		v, _ = schemaVersion(t, old)
		is.Equal(v, sqlstore.SQLite.SchemaVersion())
		is.Equal(count(t, s), len(v1Bindings))

		// From now on the database itself keeps bindings and roles
		// together, for writers that bypass the store too.
		_, err = old.ExecContext(ctx, e.sql(`INSERT INTO rbac_role_bindings
			(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
			VALUES (?, ?, ?, 'SPACE', ?, 0, 0)`), "Um9sZUJpbmRpbmc6OTphQmNE", "Um9sZTo5OTk6bm9uZQ==", userID(9), spaceID(9))
		is.True(err != nil) // a binding to a role that does not exist
		_, err = old.ExecContext(ctx, e.sql("DELETE FROM rbac_roles WHERE id = ?"), roleID(20))
		is.True(err != nil) // the delete of a role that has bindings
		_, err = s.GetRole(ctx, roleID(20))
		is.NoErr(err)
	})
}

func TestCatalogueAtOpen(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		cat := testCatalogue()
		s := e.open(t, sqlstore.Options{Catalogue: cat})
		rev, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, uint64(len(cat))) // every catalogue role stored is a change
		changes, err := s.Changes(ctx, 0, store.MaxChanges)
		is.NoErr(err)
		for i, ch := range changes {
			is.Equal(ch.Kind, store.RoleCreated)
			is.Equal(ch.Role.ID, cat[i].ID) // in catalogue order
		}
		custom, err := s.CreateRole(ctx, rbac.NewRole{Name: "Custom", Permissions: []string{"PROJECT_READ"}})
		is.NoErr(err)

		// The same catalogue again, from a second handle: nothing to do.
		again, err := sqlstore.New(ctx, e.db(t, s), e.dialect, sqlstore.Options{Catalogue: testCatalogue()})
		is.NoErr(err)
		t.Cleanup(func() { again.Close() })
		rev2, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev2, rev+1) // only the custom role

		// A changed catalogue: one role renamed with other permissions,
		// one gone, one new.
		changed := testCatalogue()
		changed[0].Name = "Administrator"
		changed[0].Permissions = []string{"SPACE_READ", "PROJECT_READ"}
		gone := changed[1]
		changed = slices.Delete(changed, 1, 2)
		changed = append(changed, rbac.Role{ID: "Um9sZTo5OTpuZXc=", Name: "New", Permissions: []string{"QUEUE_READ"}, Predefined: true})
		third, err := sqlstore.New(ctx, e.db(t, s), e.dialect, sqlstore.Options{Catalogue: changed})
		is.NoErr(err)
		t.Cleanup(func() { third.Close() })
		changes, err = s.Changes(ctx, rev2, store.MaxChanges)
		is.NoErr(err)
		is.Equal(len(changes), 2)
		is.Equal(changes[0].Kind, store.RoleUpdated)
		is.Equal(changes[0].Role.ID, perm.AdminRoleID)
		is.Equal(changes[0].Role.Name, "Administrator")
		is.Equal(changes[0].Role.Permissions, []string{"PROJECT_READ", "SPACE_READ"}) // sorted
		is.Equal(changes[1].Kind, store.RoleCreated)
		is.Equal(changes[1].Role.Name, "New")
		admin, err := s.GetRole(ctx, perm.AdminRoleID)
		is.NoErr(err)
		is.Equal(admin, changes[0].Role) // what the change says is what is stored
		kept, err := s.GetRole(ctx, gone.ID)
		is.NoErr(err) // a predefined role no longer in the catalogue is kept
		is.True(kept.Predefined)

		// A catalogue whose name belongs to a custom role is refused.
		bad := testCatalogue()
		bad[0].Name = custom.Name
		_, err = sqlstore.New(ctx, e.db(t, s), e.dialect, sqlstore.Options{Catalogue: bad})
		is.True(err != nil)
		// So is a catalogue that would not pass as roles.
		bad = testCatalogue()
		bad[1].Permissions = []string{"NOT_A_PERMISSION"}
		_, err = sqlstore.New(ctx, e.db(t, s), e.dialect, sqlstore.Options{Catalogue: bad})
		is.True(err != nil && strings.Contains(err.Error(), "NOT_A_PERMISSION")) // names what is wrong
		is.True(!errors.Is(err, rbac.ErrInvalid))                                // the program's configuration, not a caller's input
		bad = testCatalogue()
		bad[1].ID = bad[0].ID
		_, err = sqlstore.New(ctx, e.db(t, s), e.dialect, sqlstore.Options{Catalogue: bad})
		is.True(err != nil)
	})
}

func TestCatalogueOnConcurrentFirstOpen(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		first := e.open(t, sqlstore.Options{Catalogue: []rbac.Role{}}) // no roles yet
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				s, err := sqlstore.New(ctx, e.db(t, first), e.dialect, sqlstore.Options{Catalogue: testCatalogue()})
				if err == nil {
					s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			is.NoErr(err)
		}
		rev, err := first.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, uint64(len(testCatalogue()))) // each role stored once
	})
}

func TestTxStoreWritesAreInTheFeed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		before, err := s.Revision(ctx)
		is.NoErr(err)
		var seen []store.Change
		var mu sync.Mutex
		cancel := s.Subscribe(func(ch store.Change) {
			mu.Lock()
			seen = append(seen, ch)
			mu.Unlock()
		})
		defer cancel()
		tx, err := s.DB().BeginTx(ctx, nil)
		is.NoErr(err)
		_, err = s.WithTx(tx).Create(ctx, newBinding(1, 1, 1))
		is.NoErr(err)
		_, err = s.WithTx(tx).Create(ctx, newBinding(2, 1, 1))
		is.NoErr(err)
		is.NoErr(tx.Rollback())
		rev, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, before) // a rolled back write leaves no revision behind

		tx, err = s.DB().BeginTx(ctx, nil)
		is.NoErr(err)
		b, err := s.WithTx(tx).Create(ctx, newBinding(1, 1, 1))
		is.NoErr(err)
		_, err = s.WithTx(tx).Create(ctx, rbac.NewBinding{RoleID: "Um9sZTo5OTk6bm9uZQ==", UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		is.True(errors.Is(err, rbac.ErrNotFound)) // a role that does not exist
		res, err := s.WithTx(tx).CreateBatch(ctx, []rbac.NewBinding{newBinding(2, 1, 2), newBinding(3, 1, 3)}, sqlstore.BatchOptions{})
		is.NoErr(err)
		is.NoErr(res[0].Err)
		is.NoErr(tx.Commit())
		changes, err := s.Changes(ctx, before, 10)
		is.NoErr(err)
		is.Equal(len(changes), 3) // one change per binding
		is.Equal(changes[0].Binding, b)
		is.Equal(changes[1].Binding, res[0].Binding)
		is.Equal(changes[2].Binding, res[1].Binding)
		mu.Lock()
		is.Equal(len(seen), 0) // the host commits, so the store calls no subscriber
		mu.Unlock()
	})
}

func TestBatchChecksRoles(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		before, err := s.Revision(ctx)
		is.NoErr(err)
		var seen []uint64
		cancel := s.Subscribe(func(ch store.Change) { seen = append(seen, ch.Revision) })
		defer cancel()
		missing := rbac.NewBinding{RoleID: "Um9sZTo5OTk6bm9uZQ==", UserID: userID(9), ResourceType: rbac.Space, ResourceID: spaceID(1)}
		res, err := s.CreateBatch(ctx, []rbac.NewBinding{newBinding(1, 1, 1), missing, newBinding(2, 1, 2)}, sqlstore.BatchOptions{})
		is.NoErr(err)
		is.NoErr(res[0].Err)
		is.True(errors.Is(res[1].Err, rbac.ErrNotFound)) // its role does not exist
		is.NoErr(res[2].Err)
		is.Equal(seen, []uint64{before + 1, before + 2}) // one change per created binding, to subscribers in order
		changes, err := s.Changes(ctx, before, 10)
		is.NoErr(err)
		is.Equal(len(changes), 2)
		is.Equal(changes[0].Binding, res[0].Binding)
		is.Equal(changes[1].Binding, res[2].Binding)

		res, err = s.CreateBatch(ctx, []rbac.NewBinding{newBinding(3, 1, 1), missing}, sqlstore.BatchOptions{AllOrNothing: true})
		is.NoErr(err)
		is.True(errors.Is(res[0].Err, sqlstore.ErrRolledBack))
		is.True(errors.Is(res[1].Err, rbac.ErrNotFound))
		rev, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, before+2) // nothing recorded for a batch rolled back
	})
}
