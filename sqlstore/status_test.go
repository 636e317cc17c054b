package sqlstore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/sqlstore"
)

func TestSchemaStatus(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "status.db")
	db, err := sql.Open("sqlite", path)
	is.NoErr(err)
	defer db.Close()

	current, known, err := sqlstore.SchemaStatus(ctx, db, sqlstore.SQLite)
	is.NoErr(err)
	is.Equal(current, 0)                             // an empty database has no schema
	is.Equal(known, sqlstore.SQLite.SchemaVersion()) // the package's version
	var tables int
	is.NoErr(db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables))
	is.Equal(tables, 0) // reading the status made no table

	s := openSQLite(t, path, sqlstore.Options{})
	s.Close()
	current, known, err = sqlstore.SchemaStatus(ctx, db, sqlstore.SQLite)
	is.NoErr(err)
	is.Equal(current, known) // an opened store is up to date

	old := filepath.Join(t.TempDir(), "v1.db")
	data, err := os.ReadFile(v1Fixture)
	is.NoErr(err)
	is.NoErr(os.WriteFile(old, data, 0o600))
	odb, err := sql.Open("sqlite", "file:"+old+"?mode=ro")
	is.NoErr(err)
	defer odb.Close()
	current, _, err = sqlstore.SchemaStatus(ctx, odb, sqlstore.SQLite)
	is.NoErr(err)
	is.Equal(current, 1) // the fixture of version 1, read only

	_, _, err = sqlstore.SchemaStatus(ctx, db, nil)
	is.True(err != nil) // no dialect
}

func TestSchemaStatusPostgres(t *testing.T) {
	is := is.New(t)
	db := postgresDB(t, newSchema(t))
	current, known, err := sqlstore.SchemaStatus(t.Context(), db, sqlstore.PostgreSQL)
	is.NoErr(err)
	is.Equal(current, 0)
	_, err = sqlstore.New(t.Context(), db, sqlstore.PostgreSQL, sqlstore.Options{})
	is.NoErr(err)
	current, _, err = sqlstore.SchemaStatus(t.Context(), db, sqlstore.PostgreSQL)
	is.NoErr(err)
	is.Equal(current, known)
}
