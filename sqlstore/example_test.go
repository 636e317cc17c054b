package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// The IDs of the examples. Binding and custom role IDs are the store's to
// make (and random), so the examples never print one.
var (
	exampleUser  = ids.Encode("User", "1", "lPg2")
	exampleSpace = ids.Encode("Space", "1", "uFN1")
)

// exampleClock is a fixed clock, for timestamps that are the same on
// every run.
func exampleClock() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC) }

// A SQLite store in a file of its own: a binding to a predefined role of
// the default catalogue is created and read back, and survives closing
// and opening the file again.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rbac-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rbac.db")

	s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Now: exampleClock})
	if err != nil {
		log.Fatal(err)
	}
	b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: exampleUser, ResourceType: rbac.Space, ResourceID: exampleSpace})
	fmt.Println(err)
	_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: exampleUser, ResourceType: rbac.Space, ResourceID: exampleSpace})
	fmt.Println(errors.Is(err, rbac.ErrConflict)) // one binding per user and resource
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	s, err = sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, b.ID)
	fmt.Println(err)
	fmt.Println(got == b, got.RoleID == perm.MemberRoleID, got.UserID == exampleUser)
	fmt.Println(got.ResourceType, rbac.FormatTime(got.CreatedAt))
	// Output:
	// <nil>
	// true
	// <nil>
	// true true true
	// SPACE 2026-03-01T09:30:00.000000Z
}

// A custom role and its first binding, created in one transaction of the
// host's: both commit, or neither does.
func ExampleStore_WithTx() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rbac-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "rbac.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	before, err := s.Revision(ctx)
	if err != nil {
		log.Fatal(err)
	}

	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback() // after Commit, a no-op
	ts := s.WithTx(tx)
	role, err := ts.CreateRole(ctx, rbac.NewRole{Name: "Auditor", Permissions: []string{"PROJECT_READ"}})
	if err != nil {
		log.Fatal(err)
	}
	b, err := ts.Create(ctx, rbac.NewBinding{RoleID: role.ID, UserID: exampleUser, ResourceType: rbac.Space, ResourceID: exampleSpace})
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	got, err := s.Get(ctx, b.ID)
	fmt.Println(got.RoleID == role.ID, err)
	changes, err := s.Changes(ctx, before, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, ch := range changes {
		fmt.Println(ch.Revision-before, ch.Kind)
	}
	// Output:
	// true <nil>
	// 1 role.created
	// 2 binding.created
}

// A host that opens the *sql.DB of a SQLite file itself, to share it with
// its own tables or to size the pool, opens it with SQLiteConnector and
// hands it to New: the store's settings, and a pool that drops
// connections a passing fault spoiled. The host closes the *sql.DB.
func ExampleSQLiteConnector() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rbac-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	c, err := sqlstore.SQLiteConnector(filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE app_users (id TEXT PRIMARY KEY)"); err != nil {
		log.Fatal(err)
	}
	s, err := sqlstore.New(ctx, db, sqlstore.SQLite, sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close() // the store's statements; the *sql.DB stays the host's
	b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: exampleUser, ResourceType: rbac.Space, ResourceID: exampleSpace})
	fmt.Println(err)
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM app_users").Scan(&n)
	fmt.Println(n, err)
	got, err := s.Get(ctx, b.ID)
	fmt.Println(got.RoleID == perm.MemberRoleID, err)
	// Output:
	// <nil>
	// 0 <nil>
	// true <nil>
}
