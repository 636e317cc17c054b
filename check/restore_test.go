package check_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"modernc.org/sqlite"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// restoreInterval is the polling interval of the follower that must
// notice a restore within one interval.
const restoreInterval = 250 * time.Millisecond

// A backup of a store's database, taken and put back by the engine's own
// tools while the store stays open.
type backupTool struct {
	// take writes a consistent backup of the store's database and
	// returns where it is.
	take func(t *testing.T, s *sqlstore.Store) string
	// restore puts the backup back under the open store, in one commit.
	restore func(t *testing.T, s *sqlstore.Store, backup string)
}

// TestRestoreUnderALiveFollower restores a database from a backup under
// an open store and two live followers of it, on SQLite and on
// PostgreSQL. The backup holds an administrator that was revoked after
// it and lacks a grant made after it. The follower that polls must
// reload within one polling interval of the restore's commit and then
// answer, at the store's revision, what the store's own reads say and a
// new checker says; the one that does not poll must do so as soon as
// this process writes again (read your writes), since its write gets a
// revision the follower applied before the restore.
func TestRestoreUnderALiveFollower(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) fullStore
		tool backupTool
	}{
		{"sqlite", openSQLite, sqliteBackup},
		{"postgres", openPostgres, pgBackup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testRestore(t, tc.open(t).(*sqlstore.Store), tc.tool)
		})
	}
}

func testRestore(t *testing.T, s *sqlstore.Store, tool backupTool) {
	is := is.New(t)
	ctx := t.Context()
	for p := 1; p <= consProjects; p++ {
		is.NoErr(s.SetProjectSpace(ctx, projectID(p), spaceID(1+p%consSpaces)))
	}
	admin, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
	is.NoErr(err)
	_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(2)})
	is.NoErr(err)

	polling := followRewinds(t, s, restoreInterval)
	writing := followRewinds(t, s, time.Hour) // hears of the restore only through this process's writes

	backup := tool.take(t, s)
	before := revision(t, s)
	is.NoErr(s.Delete(ctx, admin.ID)) // the revocation the restore loses
	_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(3)})
	is.NoErr(err)
	is.NoErr(s.RestrictProject(ctx, projectID(1)))
	is.Equal(polling.c.Revision(), before+3)
	is.True(!allowed(t, polling.c, userID(1), "SPACE_UPDATE", rbac.Space, spaceID(1))) // revoked

	// The restore commits somewhere between the tool's start and its
	// return (pg_restore is another process): the time to notice is
	// measured from both.
	started := time.Now()
	tool.restore(t, s, backup)
	restored := time.Now()
	is.Equal(revision(t, s), before) // the store went back
	// Until the reload both followers answer for writes the store lost.
	waitFor(t, func() bool { return polling.rewound.Load() > 0 }) // reported, once the step is over
	st := polling.fl.Status()
	noticed := max(st.LastReload.Sub(restored), 0)
	t.Logf("restore noticed: the polling follower reloaded %v after the restore tool returned, %v after it started (it ran %v; interval %v): %s",
		noticed.Round(time.Millisecond), st.LastReload.Sub(started).Round(time.Millisecond), restored.Sub(started).Round(time.Millisecond), restoreInterval, st.LastReloadReason)
	if noticed > restoreInterval+time.Second {
		// One interval, and the poll's reads and the snapshot load, with
		// room for a busy machine.
		t.Fatalf("the follower reloaded %v after the restore; want within the polling interval of %v", noticed, restoreInterval)
	}
	compareCheckers(t, s, 0, map[string]*check.Checker{"polling": polling.c, "new": caughtUp(t, s)})
	is.True(allowed(t, polling.c, userID(1), "SPACE_UPDATE", rbac.Space, spaceID(1))) // as the restored store says
	polling.assertReloadedForRewind(t)

	is.Equal(writing.c.Revision(), before+3)                                           // no poll, no write: stale
	is.True(!allowed(t, writing.c, userID(1), "SPACE_UPDATE", rbac.Space, spaceID(1))) // still answering for the lost writes
	is.NoErr(s.Delete(ctx, admin.ID))                                                  // revoke again: gets revision before+1 once more
	compareCheckers(t, s, 0, map[string]*check.Checker{"writing": writing.c, "polling": polling.c, "new": caughtUp(t, s)})
	is.True(!allowed(t, writing.c, userID(1), "SPACE_UPDATE", rbac.Space, spaceID(1))) // read your writes
	writing.assertReloadedForRewind(t)
	is.Equal(polling.fl.Status().Rewinds, 1) // the write was no rewind for the follower that had reloaded
	is.NoErr(polling.fl.Err())
}

func openSQLite(t *testing.T) fullStore {
	for _, st := range stores {
		if st.name == "sqlite" {
			return st.open(t)
		}
	}
	t.Fatal("no sqlite among the stores")
	return nil
}

// caughtUp returns a new checker that has loaded s.
func caughtUp(t *testing.T, s fullStore) *check.Checker {
	t.Helper()
	c, err := check.New(check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CatchUp(t.Context(), s); err != nil {
		t.Fatalf("CatchUp of a new checker: %v", err)
	}
	return c
}

// sqliteBackup backs a SQLite store up with VACUUM INTO, through the
// store's own database handle (a consistent copy, in one read
// transaction), and restores it with SQLite's online backup API, the
// one behind the sqlite3 shell's .restore: an operator's tool, on its own
// connection to the live file, copies the backup's pages over the
// database in one write transaction. The store's connections stay open
// and see the restored database at their next transaction, as they see
// any other connection's commit; nothing copies files under them (a
// file copied over a live WAL database would corrupt it).
var sqliteBackup = backupTool{
	take: func(t *testing.T, s *sqlstore.Store) string {
		path := filepath.Join(t.TempDir(), "backup.db")
		if _, err := s.DB().ExecContext(t.Context(), "VACUUM INTO ?", path); err != nil {
			t.Fatalf("VACUUM INTO: %v", err)
		}
		return path
	},
	restore: func(t *testing.T, s *sqlstore.Store, backup string) {
		var live string
		if err := s.DB().QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&live); err != nil {
			t.Fatalf("the live database's file: %v", err)
		}
		tool, err := sql.Open("sqlite", "file:"+live+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer tool.Close()
		conn, err := tool.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			r, ok := dc.(interface {
				NewRestore(string) (*sqlite.Backup, error)
			})
			if !ok {
				return fmt.Errorf("the driver's connection, a %T, has no NewRestore", dc)
			}
			b, err := r.NewRestore("file:" + backup)
			if err != nil {
				return err
			}
			for more := true; more; {
				if more, err = b.Step(-1); err != nil {
					b.Finish()
					return err
				}
			}
			return b.Finish()
		})
		if err != nil {
			t.Fatalf("restore %s over %s: %v", backup, live, err)
		}
		var mode string
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("after the restore the journal mode is %q (%v); want the store's wal", mode, err)
		}
	},
}

// pgBackup backs a PostgreSQL store's schema up with pg_dump and puts it
// back with pg_restore --clean --single-transaction, into the same
// schema of the live database, while the store's connections stay open:
// the restore drops and recreates the schema's tables in one transaction,
// and the store's next statements find the restored tables by name (the
// connections' search_path names the schema).
var pgBackup = backupTool{
	take: func(t *testing.T, s *sqlstore.Store) string {
		path := filepath.Join(t.TempDir(), "backup.dump")
		pgTool(t, "pg_dump", "--format=custom", "--schema="+pgSchema(t, s), "--file="+path, "--dbname="+os.Getenv("RBAC_POSTGRES_DSN"))
		return path
	},
	restore: func(t *testing.T, s *sqlstore.Store, backup string) {
		pgTool(t, "pg_restore", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--dbname="+os.Getenv("RBAC_POSTGRES_DSN"), backup)
	},
}

// pgSchema returns the schema the store's tables are in.
func pgSchema(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var schema string
	if err := s.DB().QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return schema
}

// pgTool runs one of PostgreSQL's client programs: the one beside the
// server that .ci/postgres.sh started (RBAC_POSTGRES_BIN), else the
// newest installed one, else one on PATH. Without it the test skips,
// and fails under CI, which must run it.
func pgTool(t *testing.T, name string, args ...string) {
	t.Helper()
	path := findPGTool(name)
	if path == "" {
		msg := name + " not found (install PostgreSQL's client programs; .ci/postgres.sh does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this fails instead of skipping)")
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func findPGTool(name string) string {
	if bin := os.Getenv("RBAC_POSTGRES_BIN"); bin != "" {
		if p := filepath.Join(bin, name); isExecutable(p) {
			return p
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// pgMajor returns the major version in a /usr/lib/postgresql/N/bin path.
func pgMajor(dir string) int {
	var n int
	fmt.Sscanf(filepath.Base(filepath.Dir(dir)), "%d", &n)
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// TestSubscriptionAndFeedAgree: the change a store hands its subscribers
// and the one its feed returns for the same write must digest alike, or
// every poll would take the store for one that went back. A follower
// applies each write from the subscription; CatchUp then reads it back
// from the feed and compares. Every kind of change is made.
func TestSubscriptionAndFeedAgree(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			s := st.open(t)
			r := followRewinds(t, s, time.Hour)
			var b rbac.Binding
			var role rbac.Role
			var err error
			for _, w := range []struct {
				name string
				do   func() error
			}{
				{"CreateRole", func() error {
					role, err = s.CreateRole(ctx, rbac.NewRole{Name: "Reviewer", Description: "reads", Permissions: []string{"PROJECT_READ", "SPACE_READ"}})
					return err
				}},
				{"UpdateRole", func() error {
					_, err := s.UpdateRole(ctx, role.ID, rbac.RoleUpdate{Permissions: []string{"QUEUE_READ", "PROJECT_READ"}})
					return err
				}},
				{"SetProjectSpace", func() error { return s.SetProjectSpace(ctx, projectID(1), spaceID(1)) }},
				{"Create", func() error {
					b, err = s.Create(ctx, rbac.NewBinding{RoleID: role.ID, UserID: userID(1), ResourceType: rbac.Project, ResourceID: projectID(1)})
					return err
				}},
				{"ChangeRole", func() error {
					_, err := s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: perm.MemberRoleID})
					return err
				}},
				{"RestrictProject", func() error { return s.RestrictProject(ctx, projectID(1)) }},
				{"UnrestrictProject", func() error { return s.UnrestrictProject(ctx, projectID(1)) }},
				{"Delete", func() error { return s.Delete(ctx, b.ID) }},
				{"DeleteUserBindings", func() error {
					if _, err := s.Create(ctx, rbac.NewBinding{RoleID: role.ID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)}); err != nil {
						return err
					}
					_, err := s.DeleteUserBindings(ctx, userID(2))
					return err
				}},
				{"DeleteResourceBindings", func() error {
					if _, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(2)}); err != nil {
						return err
					}
					_, err := s.DeleteResourceBindings(ctx, rbac.Space, spaceID(2))
					return err
				}},
				{"DeleteRole", func() error { return s.DeleteRole(ctx, role.ID) }},
			} {
				is.NoErr(w.do()) // the write
				rev, err := r.c.CatchUp(ctx, s)
				if err != nil {
					t.Fatalf("after %s, reading it back from the feed: %v", w.name, err)
				}
				is.Equal(rev, revision(t, s))
			}
			st := r.fl.Status()
			is.Equal(st.Rewinds, 0) // no false alarm
			is.Equal(st.Reloads, 0)
			is.Equal(r.reported.Load(), int64(0))
		})
	}
}
