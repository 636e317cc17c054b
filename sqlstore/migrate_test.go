package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

func TestSchemaVersionsAgree(t *testing.T) {
	is := is.New(t)
	is.True(sqlstore.SQLite.SchemaVersion() >= 2)                                  // at least two migrations, so upgrades are tested
	is.Equal(sqlstore.SQLite.SchemaVersion(), sqlstore.PostgreSQL.SchemaVersion()) // one schema history for both engines
}

// schemaVersion reads the version recorded in the database of s.
func schemaVersion(tb testing.TB, db *sql.DB) (version, rows int) {
	tb.Helper()
	err := db.QueryRowContext(context.Background(), "SELECT MAX(version), count(*) FROM rbac_schema_version").Scan(&version, &rows)
	if err != nil {
		tb.Fatalf("read schema version: %v", err)
	}
	return version, rows
}

// v1Fixture is a database as version 1 of the schema left it, with three
// bindings in it: testdata/v1.db, made by TestWriteV1Fixture.
const v1Fixture = "testdata/v1.db"

// v1Bindings are the bindings in the fixture, in creation order.
var v1Bindings = []rbac.Binding{
	{ID: "Um9sZUJpbmRpbmc6MTphQmNE", RoleID: roleID(1), UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)},
	{ID: "Um9sZUJpbmRpbmc6MjphQmNE", RoleID: roleID(2), UserID: userID(1), ResourceType: rbac.Project, ResourceID: "TW9kZWw6MTpGdmxM"},
	{ID: "Um9sZUJpbmRpbmc6MzphQmNE", RoleID: roleID(1), UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)},
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func init() {
	for i := range v1Bindings {
		v1Bindings[i].CreatedAt = fromMicros(1717243200123456 + int64(i))
		v1Bindings[i].UpdatedAt = fromMicros(1717243200123456 + int64(i) + 10)
	}
}

// TestWriteV1Fixture rewrites testdata/v1.db when RBAC_WRITE_FIXTURES is
// set. The file is checked in; this is how it was made.
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("RBAC_WRITE_FIXTURES") == "" {
		t.Skip("set RBAC_WRITE_FIXTURES=1 to rewrite " + v1Fixture)
	}
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	dsn, err := sqlstore.SQLiteDSN(path)
	is.NoErr(err)
	db, err := sql.Open("sqlite", dsn)
	is.NoErr(err)
	db.SetMaxOpenConns(1)
	is.NoErr(sqlstore.MigrateTo(ctx, db, sqlstore.SQLite, 1))
	for _, b := range v1Bindings {
		_, err := db.ExecContext(ctx, `INSERT INTO rbac_role_bindings
			(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.RoleID, b.UserID, string(b.ResourceType), b.ResourceID, b.CreatedAt.UnixMicro(), b.UpdatedAt.UnixMicro())
		is.NoErr(err)
	}
	// One file, no WAL beside it, as small as it gets.
	_, err = db.ExecContext(ctx, "PRAGMA journal_mode=DELETE")
	is.NoErr(err)
	_, err = db.ExecContext(ctx, "VACUUM")
	is.NoErr(err)
	is.NoErr(db.Close())
	data, err := os.ReadFile(path)
	is.NoErr(err)
	is.NoErr(os.WriteFile(v1Fixture, data, 0o644))
}

func TestUpgradeFromVersion1(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	data, err := os.ReadFile(v1Fixture)
	is.NoErr(err) // the checked-in version 1 database
	path := filepath.Join(t.TempDir(), "old.db")
	is.NoErr(os.WriteFile(path, data, 0o644))

	old, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	is.NoErr(err)
	v, _ := schemaVersion(t, old)
	is.Equal(v, 1) // the fixture is at version 1
	is.NoErr(old.Close())

	s := openSQLite(t, path, sqlstore.Options{})
	v, rows := schemaVersion(t, s.DB())
	is.Equal(v, sqlstore.SQLite.SchemaVersion()) // upgraded to the latest version
	is.Equal(rows, v)                            // each migration recorded once

	for _, want := range v1Bindings {
		got, err := s.Get(ctx, want.ID)
		is.NoErr(err)       // the old binding survived
		is.Equal(got, want) // intact
	}
	p, err := s.List(ctx, rbac.ListQuery{Limit: 2})
	is.NoErr(err)
	is.Equal(p.Bindings, v1Bindings[:2]) // in creation order
	p, err = s.List(ctx, rbac.ListQuery{Limit: 2, Cursor: p.NextCursor})
	is.NoErr(err) // the cursor key made by the upgrade works
	is.Equal(p.Bindings, v1Bindings[2:])

	_, err = s.Create(ctx, rbac.NewBinding{RoleID: roleID(3), UserID: userID(1), ResourceType: rbac.Project, ResourceID: ids.Encode("Project", "1", "FvlL")})
	is.True(errors.Is(err, rbac.ErrConflict)) // the old unique index still holds, for the Project alias too
	b, err := s.Create(ctx, newBinding(3, 1, 1))
	is.NoErr(err) // new bindings come after the old ones
	p, err = s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID(1)})
	is.NoErr(err)
	is.Equal(p.Bindings, []rbac.Binding{v1Bindings[0], v1Bindings[2], b})
}

func TestSchemaTooNew(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		b, err := s.Create(ctx, newBinding(1, 1, 1))
		is.NoErr(err)
		future := sqlstore.SQLite.SchemaVersion() + 1
		_, err = s.DB().ExecContext(ctx, e.sql("INSERT INTO rbac_schema_version (version, applied_at) VALUES (?, 0)"), future)
		is.NoErr(err) // a newer library was here

		if e.name == "sqlite" {
			path := dbFile(t, s)
			is.NoErr(s.Close())
			before, err := os.ReadFile(path)
			is.NoErr(err)
			_, err = sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
			is.True(errors.Is(err, sqlstore.ErrSchemaTooNew)) // refused
			after, err := os.ReadFile(path)
			is.NoErr(err)
			is.True(bytes.Equal(before, after)) // and left untouched
			return
		}
		_, err = sqlstore.New(ctx, e.db(t, s), sqlstore.PostgreSQL, sqlstore.Options{Catalogue: testCatalogue()})
		is.True(errors.Is(err, sqlstore.ErrSchemaTooNew)) // refused
		v, _ := schemaVersion(t, s.DB())
		is.Equal(v, future) // left as it was
		got, err := s.Get(ctx, b.ID)
		is.NoErr(err)
		is.Equal(got, b)
	})
}

// dbFile returns the file of a SQLite store.
func dbFile(tb testing.TB, s *sqlstore.Store) string {
	tb.Helper()
	var path string
	err := s.DB().QueryRowContext(context.Background(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path)
	if err != nil {
		tb.Fatalf("find database file: %v", err)
	}
	return path
}

func TestConcurrentFirstOpen(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		// Eight handles, as eight processes would have, open one new
		// database at the same moment.
		var dbs []*sql.DB
		switch e.name {
		case "sqlite":
			dsn, err := sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "new.db"))
			is.NoErr(err)
			for range 8 {
				db, err := sql.Open("sqlite", dsn)
				is.NoErr(err)
				t.Cleanup(func() { db.Close() })
				dbs = append(dbs, db)
			}
		default:
			schema := newSchema(t)
			for range 8 {
				dbs = append(dbs, postgresDB(t, schema))
			}
		}
		stores := make([]*sqlstore.Store, len(dbs))
		errs := make([]error, len(dbs))
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() {
				stores[i], errs[i] = sqlstore.New(ctx, db, e.dialect, sqlstore.Options{Catalogue: testCatalogue()})
			})
		}
		wg.Wait()
		for _, err := range errs {
			is.NoErr(err) // every opener succeeds
		}
		v, rows := schemaVersion(t, dbs[0])
		is.Equal(v, sqlstore.SQLite.SchemaVersion())
		is.Equal(rows, v) // each migration applied once

		// They share one cursor key: a cursor from one is good on all.
		for i := range 3 {
			_, err := stores[0].Create(ctx, newBinding(i, 1, 1))
			is.NoErr(err)
		}
		p, err := stores[0].List(ctx, rbac.ListQuery{Limit: 1})
		is.NoErr(err)
		for _, s := range stores[1:] {
			next, err := s.List(ctx, rbac.ListQuery{Limit: 1, Cursor: p.NextCursor})
			is.NoErr(err) // another process's cursor
			is.Equal(next.Bindings[0].UserID, userID(1))
		}
	})
}

func TestReopen(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rbac.db")
	s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
	is.NoErr(err)
	var made []rbac.Binding
	for i := range 3 {
		b, err := s.Create(ctx, newBinding(i, 1, 1))
		is.NoErr(err)
		made = append(made, b)
	}
	p, err := s.List(ctx, rbac.ListQuery{Limit: 1})
	is.NoErr(err)
	is.NoErr(s.Close())

	s = openSQLite(t, path, sqlstore.Options{})
	v, rows := schemaVersion(t, s.DB())
	is.Equal(v, sqlstore.SQLite.SchemaVersion())
	is.Equal(rows, v) // opening again applies nothing again
	next, err := s.List(ctx, rbac.ListQuery{Limit: 5, Cursor: p.NextCursor})
	is.NoErr(err)                     // a cursor survives a restart
	is.Equal(next.Bindings, made[1:]) // and continues where it was
}
