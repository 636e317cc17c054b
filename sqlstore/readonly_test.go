package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rolebind/rbac/sqlstore"
)

// readOnlyForAWhile opens a store, makes its file and directory
// read-only, reports a write, gives the permissions back, and reports
// how long the store took to write again. The store is OpenSQLite's, or,
// with host, one that New makes of a *sql.DB opened with SQLiteConnector.
func readOnlyForAWhile(path string, host bool) error {
	ctx := context.Background()
	opts := sqlstore.Options{Catalogue: testCatalogue()}
	var s *sqlstore.Store
	if host {
		c, err := sqlstore.SQLiteConnector(path)
		if err != nil {
			return err
		}
		db := sql.OpenDB(c)
		defer db.Close()
		if s, err = sqlstore.New(ctx, db, sqlstore.SQLite, opts); err != nil {
			return err
		}
	} else {
		var err error
		if s, err = sqlstore.OpenSQLite(ctx, path, opts); err != nil {
			return err
		}
	}
	defer s.Close()
	if _, err := s.Create(ctx, newBinding(1, 1, 1)); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.Chmod(path, 0o444); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		return err
	}
	// The connections already in the pool opened the file for writing,
	// and an open file stays writable whatever its permissions become.
	// The fault bites connections opened during it, as a pool opens them
	// when the load grows or after it closed others: here the pool's
	// idle connections are closed, so that the next ones are opened
	// while the file is read-only.
	db := s.DB()
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	report("fault", func() error { _, err := s.Create(ctx, newBinding(2, 2, 1)); return err })

	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	restored := time.Now()
	const patience = 5 * time.Second
	var last error
	for i := 3; time.Since(restored) < patience; i++ {
		if _, last = s.Create(ctx, newBinding(i, i, 1)); last == nil {
			fmt.Printf("recovered ok %v\n", time.Since(restored))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("recovered internal not within %v: %v\n", patience, last)
	return nil
}

// TestRecoversAfterReadOnly takes the write permission of a store's file
// and directory away and gives it back: writes fail meanwhile, and
// succeed again, without a restart, soon after; for OpenSQLite's store
// and for a host's *sql.DB opened with SQLiteConnector.
func TestRecoversAfterReadOnly(t *testing.T) {
	for _, part := range []string{"readonly", "readonly-host"} {
		t.Run(part, func(t *testing.T) { recoversAfterReadOnly(t, part) })
	}
}

func recoversAfterReadOnly(t *testing.T, part string) {
	is := is.New(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	dbDir := filepath.Join(dir, "db")
	is.NoErr(os.Mkdir(dbDir, 0o755))
	if os.Geteuid() == 0 {
		// Root ignores permissions, so the child runs as nobody, from a
		// copy of this binary that nobody can reach, in a directory
		// nobody owns.
		const nobody = 65534
		self, err := os.ReadFile(os.Args[0])
		is.NoErr(err)
		cmd.Path = filepath.Join(dir, "sqlstore.test")
		is.NoErr(os.WriteFile(cmd.Path, self, 0o755))
		for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			is.NoErr(os.Chmod(d, 0o755)) // t.TempDir makes 0700 directories
		}
		is.NoErr(os.Chown(dbDir, nobody, nobody))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		probe := exec.Command(cmd.Path, "-test.run=^$")
		probe.SysProcAttr = cmd.SysProcAttr
		if err := probe.Run(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("cannot run the test binary as nobody (%v); CI must run this test", err)
			}
			t.Skipf("cannot run the test binary as nobody (%v); the test needs a user that permissions apply to", err)
		}
	}
	out := runFaultChild(t, cmd, part, filepath.Join(dbDir, "rbac.db"))
	is.True(strings.HasPrefix(out["fault"], "internal ")) // a write fails while the file is read-only
	t.Logf("writes again after the permissions came back: %s", out["recovered"])
	is.True(strings.HasPrefix(out["recovered"], "ok ")) // and succeed soon after they are back
}
