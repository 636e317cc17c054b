package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/internal/pgtest"
	"github.com/rolebind/rbac/internal/sharedtest"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// engine makes stores on one database engine for the shared tests.
type engine struct {
	name    string
	dialect *sqlstore.Dialect
	// open returns a new, empty store; every call gets its own database
	// (SQLite file or PostgreSQL schema), dropped at cleanup.
	open func(tb testing.TB, opts sqlstore.Options) *sqlstore.Store
	// db opens another handle on the database of s, as another process
	// would.
	db func(tb testing.TB, s *sqlstore.Store) *sql.DB
}

var sqliteEngine = engine{
	name:    "sqlite",
	dialect: sqlstore.SQLite,
	open: func(tb testing.TB, opts sqlstore.Options) *sqlstore.Store {
		return openSQLite(tb, filepath.Join(tb.TempDir(), "rbac.db"), opts)
	},
	db: func(tb testing.TB, s *sqlstore.Store) *sql.DB {
		tb.Helper()
		dsn, err := sqlstore.SQLiteDSN(dbFile(tb, s))
		if err != nil {
			tb.Fatal(err)
		}
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		return db
	},
}

var postgresEngine = engine{
	name:    "postgres",
	dialect: sqlstore.PostgreSQL,
	open: func(tb testing.TB, opts sqlstore.Options) *sqlstore.Store {
		tb.Helper()
		if opts.Catalogue == nil {
			opts.Catalogue = testCatalogue()
		}
		db := postgresDB(tb, newSchema(tb))
		s, err := sqlstore.New(context.Background(), db, sqlstore.PostgreSQL, opts)
		if err != nil {
			tb.Fatalf("new postgres store: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	},
	db: func(tb testing.TB, s *sqlstore.Store) *sql.DB {
		tb.Helper()
		var schema string
		if err := s.DB().QueryRowContext(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
			tb.Fatalf("find schema: %v", err)
		}
		return postgresDB(tb, schema)
	},
}

var engines = []engine{sqliteEngine, postgresEngine}

// sql rewrites the ? placeholders of a test's query for the engine.
func (e engine) sql(q string) string {
	if e.dialect != sqlstore.PostgreSQL {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// openSQLite opens a store on the file at path and closes it at cleanup.
// Without a catalogue in opts, it uses testCatalogue.
func openSQLite(tb testing.TB, path string, opts sqlstore.Options) *sqlstore.Store {
	tb.Helper()
	if opts.Catalogue == nil {
		opts.Catalogue = testCatalogue()
	}
	s, err := sqlstore.OpenSQLite(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("open sqlite store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// postgresDSN returns the DSN of the test server, or skips tb (fails it
// when CI is set: CI never skips the PostgreSQL tests silently).
func postgresDSN(tb testing.TB) string { return pgtest.DSN(tb) }

// newSchema makes a schema with a random name for one test, dropped at
// cleanup, so that tests running in parallel do not see each other.
func newSchema(tb testing.TB) string { return pgtest.Schema(tb, "rbac_test_") }

// postgresDB opens a handle whose connections all work in schema.
func postgresDB(tb testing.TB, schema string) *sql.DB {
	tb.Helper()
	db := pgtest.DB(tb, schema)
	db.SetMaxOpenConns(8)
	return db
}

// eachEngine runs test once per engine, as parallel subtests.
func eachEngine(t *testing.T, test func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			test(t, e)
		})
	}
}

func factory(e engine) storetest.Factory {
	return func(tb testing.TB, opts storetest.Options) store.Store {
		return e.open(tb, sqlstore.Options{Now: opts.Now, Catalogue: opts.Catalogue, ProtectLastAdmin: opts.ProtectLastAdmin})
	}
}

func TestConformance(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		storetest.Run(t, factory(e))
	})
}

// TestSharedCases runs the contract's public cases from the shared file,
// which may be newer than the copy the suite embeds.
func TestSharedCases(t *testing.T) {
	data := sharedtest.ReadFile(t, "testdata/cases.json")
	eachEngine(t, func(t *testing.T, e engine) {
		storetest.RunCases(t, factory(e), data)
	})
}

func TestDSN(t *testing.T) {
	is := is.New(t)
	dsn, err := sqlstore.SQLiteDSN("/tmp/a b?c.db")
	is.NoErr(err)
	u, err := url.Parse(dsn)
	is.NoErr(err)
	is.Equal(u.Scheme, "file")
	is.Equal(u.Path, "/tmp/a b?c.db") // the path survives escaping
	q := u.Query()
	is.Equal(q.Get("_txlock"), "immediate")
	is.Equal(q.Get("_journal_mode"), "WAL")
	is.True(strings.HasPrefix(dsn, "file:///tmp/a%20b%3Fc.db?"))
}
