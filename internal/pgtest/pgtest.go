// Package pgtest gives a test a PostgreSQL schema of its own on the
// server named by RBAC_POSTGRES_DSN, so that the tests of every package
// (the stores, the checker, the command line) follow one rule: without a
// server they skip, and under CI (CI set) they fail instead, since CI
// starts one (.ci/postgres.sh). It is for tests only: it imports the pgx
// driver, which no library package may.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// how says what to do when no server is named.
const how = "RBAC_POSTGRES_DSN is not set; to run the PostgreSQL tests, start a server " +
	"(source .ci/postgres.sh does) and set RBAC_POSTGRES_DSN=postgres://user@127.0.0.1:port/db"

// Wanted reports whether the PostgreSQL tests should run: a server is
// named, or CI is set (and then [DSN] fails the test when none is).
func Wanted() bool { return os.Getenv("RBAC_POSTGRES_DSN") != "" || os.Getenv("CI") != "" }

// DSN returns the test server's DSN, or skips tb; under CI a missing
// server fails tb, so CI never skips the PostgreSQL tests silently.
func DSN(tb testing.TB) string {
	tb.Helper()
	if dsn := os.Getenv("RBAC_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	if os.Getenv("CI") != "" {
		tb.Fatal(how + " (CI is set, so this fails instead of skipping)")
	}
	tb.Skip(how)
	return ""
}

// Schema makes a schema with a random name starting with prefix, dropped
// with everything in it when tb ends, so that tests running in parallel
// do not see each other.
func Schema(tb testing.TB, prefix string) string {
	tb.Helper()
	dsn := DSN(tb)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	if err := admin.PingContext(ctx); err != nil {
		tb.Fatalf("postgres at RBAC_POSTGRES_DSN is unreachable: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// DB opens a handle whose connections all work in schema, closed when tb
// ends.
func DB(tb testing.TB, schema string) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(DSN(tb))
	if err != nil {
		tb.Fatalf("RBAC_POSTGRES_DSN: %v", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	return db
}

// URL returns the test server's DSN naming schema as the search path, for
// what opens its own connections from a URL (the command line): pgx
// passes search_path, like any parameter of the URL it does not know, to
// the server.
func URL(tb testing.TB, schema string) string {
	tb.Helper()
	dsn := DSN(tb)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
