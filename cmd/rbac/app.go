package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	// The PostgreSQL driver, registered as "pgx". Only the binary
	// imports it: the library leaves the choice of driver to its host.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/validate"
)

// app is what every command shares: the standard streams, the
// environment and the global flags. run makes a new one per call, so
// tests run commands in process, each with its own buffers.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// db is the --db flag: a SQLite file path, or a postgres:// or
	// postgresql:// URL.
	db string
	// output is the --output flag: "table" or "json".
	output string

	// now is the store's clock; nil means time.Now. Tests set it so
	// that golden tables hold fixed times.
	now func() time.Time

	// cleanup runs when run returns: it closes what open opened, so
	// that a command that forgets to close leaks nothing in tests.
	cleanup []func() error
}

// Output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// json reports whether --output asks for JSON.
func (a *app) json() bool { return a.output == outputJSON }

// isPostgres reports whether the --db value names a PostgreSQL database
// rather than a SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// open opens the store named by --db, bringing its schema up to date (as
// sqlstore does on every open). The store, and for PostgreSQL the
// *sql.DB under it, are closed when run returns; closing the store
// earlier is fine.
func (a *app) open(ctx context.Context) (*sqlstore.Store, error) {
	opts := sqlstore.Options{Now: a.now}
	if !isPostgres(a.db) {
		s, err := sqlstore.OpenSQLite(ctx, a.db, opts)
		if err != nil {
			return nil, openError(a.db, err)
		}
		a.cleanup = append(a.cleanup, s.Close)
		return s, nil
	}
	db, err := sql.Open("pgx", a.db)
	if err != nil {
		return nil, openError(redact(a.db), err)
	}
	s, err := sqlstore.New(ctx, db, sqlstore.PostgreSQL, opts)
	if err != nil {
		db.Close()
		return nil, openError(redact(a.db), err)
	}
	a.cleanup = append(a.cleanup, s.Close, db.Close)
	return s, nil
}

// openChecker opens the store and returns it with a checker loaded with
// a snapshot of it. One invocation needs no follower: nothing changes
// the index while it runs, but for the invocation's own writes, which
// reach the checker through the store's subscription.
func (a *app) openChecker(ctx context.Context) (*sqlstore.Store, *check.Checker, error) {
	s, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, err := checkCursorKey(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	c, err := check.New(check.Options{CursorKey: key})
	if err != nil {
		return nil, nil, err
	}
	if err := c.Load(ctx, s); err != nil {
		// Load swaps the index in even when it left out changes it
		// refused; say so and answer from the rest.
		if !errors.Is(err, rbac.ErrInvalid) {
			return nil, nil, err
		}
		fmt.Fprintf(a.stderr, "rbac: warning: %v\n", err)
	}
	return s, c, nil
}

// checkCursorKey derives the key that seals the cursors of who-can and
// resources-for from the database's own cursor key, so that a cursor
// printed by one invocation works in the next (a random key, the
// checker's default, would not) and in no other database. The key row is
// read directly: sqlstore keeps it for its own list cursors and has no
// accessor, and the binary is the one place that wires the store's
// schema to the checker.
func checkCursorKey(ctx context.Context, s *sqlstore.Store) ([]byte, error) {
	var key []byte
	if err := s.DB().QueryRowContext(ctx, "SELECT value FROM rbac_meta WHERE key = 'cursor_key'").Scan(&key); err != nil {
		return nil, fmt.Errorf("read the cursor key: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rbac command line: check cursors"))
	return m.Sum(nil), nil
}

// redact drops the password from a database URL, for messages.
func redact(db string) string {
	if i := strings.Index(db, "://"); i >= 0 {
		rest := db[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			cred := rest[:at]
			if u, _, ok := strings.Cut(cred, ":"); ok {
				return db[:i+3] + u + ":xxxxx@" + rest[at+1:]
			}
		}
	}
	return db
}

// validateDefault is the validator of the stores the command line opens
// (sqlstore.Options.Validator is left nil, which means this one).
func validateDefault() *validate.Validator { return validate.Default() }
