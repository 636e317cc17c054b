package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

// idWithKey returns an ID of type typ, number 1 and the given key.
func idWithKey(typ, key string) string { return ids.Encode(typ, "1", key) }

// isCategory reports whether err is one of the three error categories.
func isCategory(err error) bool {
	return errors.Is(err, rbac.ErrInvalid) || errors.Is(err, rbac.ErrNotFound) || errors.Is(err, rbac.ErrConflict)
}

func TestRetiredIDsNeverComeBack(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		setup := func(t *testing.T) (s *sqlstore.Store, live, gone rbac.Binding) {
			is := is.New(t)
			s = e.open(t, sqlstore.Options{})
			live, err := s.Create(ctx, newBinding(1, 1, 1))
			is.NoErr(err)
			gone, err = s.Create(ctx, newBinding(2, 2, 1))
			is.NoErr(err)
			is.NoErr(s.Delete(ctx, gone.ID))
			return s, live, gone
		}

		t.Run("the database refuses a deleted binding's ID", func(t *testing.T) {
			is := is.New(t)
			s, _, gone := setup(t)
			_, err := s.DB().ExecContext(ctx, e.sql(`INSERT INTO rbac_role_bindings
				(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
				VALUES (?, ?, ?, 'SPACE', ?, 0, 0)`), gone.ID, roleID(1), userID(3), spaceID(3))
			is.True(err != nil) // a raw insert with a retired ID fails
			_, err = s.Get(ctx, gone.ID)
			is.True(errors.Is(err, rbac.ErrNotFound)) // and the ID still names nothing
		})

		for _, c := range []struct {
			name  string
			taken func(live, gone rbac.Binding) string
		}{
			{"a new ID that was deleted before is replaced by a fresh one", func(_, gone rbac.Binding) string { return gone.ID }},
			{"a new ID that is in use is replaced by a fresh one", func(live, _ rbac.Binding) string { return live.ID }},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				s, live, gone := setup(t)
				taken := c.taken(live, gone)
				table := ids.DefaultTable()
				var fresh string
				sqlstore.SetNewID(s, func() (string, error) {
					if fresh != "" {
						return table.NewID(ids.RoleBinding)
					}
					fresh, _ = table.NewID(ids.RoleBinding)
					return taken, nil
				})
				b, err := s.Create(ctx, newBinding(3, 3, 1))
				is.NoErr(err)          // the create goes through
				is.True(b.ID != taken) // with another ID
				got, err := s.Get(ctx, b.ID)
				is.NoErr(err)
				is.Equal(got, b)
			})
		}

		t.Run("a generator that only repeats IDs fails the create with an internal error", func(t *testing.T) {
			is := is.New(t)
			s, _, gone := setup(t)
			sqlstore.SetNewID(s, func() (string, error) { return gone.ID, nil })
			_, err := s.Create(ctx, newBinding(3, 3, 1))
			is.True(err != nil)       // refused
			is.True(!isCategory(err)) // not the caller's fault, not a conflict
			is.Equal(count(t, s), 1)
		})
	})
}

func TestCollationIsBinary(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		// Two users whose IDs differ only in the case of their key: two
		// users, so two bindings on one space.
		lower := rbac.NewBinding{RoleID: roleID(1), UserID: idWithKey("User", "abc"), ResourceType: rbac.Space, ResourceID: spaceID(1)}
		upper := lower
		upper.UserID = idWithKey("User", "ABC")
		_, err := s.Create(ctx, lower)
		is.NoErr(err)
		_, err = s.Create(ctx, upper)
		is.NoErr(err) // not a conflict: IDs compare byte for byte
		p, err := s.List(ctx, rbac.ListQuery{UserID: upper.UserID})
		is.NoErr(err)
		is.Equal(len(p.Bindings), 1) // a filter matches exactly
	})
}

// TestContention races 32 goroutines over four *sql.DB handles, as four
// processes would have, to create one binding: exactly one wins and every
// other gets a conflict, never "database is locked" or anything else.
func TestContention(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		first := e.open(t, sqlstore.Options{})
		stores := []*sqlstore.Store{first}
		for range 3 {
			s, err := sqlstore.New(ctx, e.db(t, first), e.dialect, sqlstore.Options{Catalogue: testCatalogue()})
			is.NoErr(err)
			t.Cleanup(func() { s.Close() })
			stores = append(stores, s)
		}
		const racers, rounds = 32, 5
		for round := range rounds {
			start := make(chan struct{})
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					_, errs[i] = stores[i%len(stores)].Create(ctx, newBinding(round, round, i))
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, rbac.ErrConflict):
				default:
					t.Fatalf("round %d: a racer failed with %v; want success or a conflict", round, err)
				}
			}
			is.Equal(won, 1) // exactly one create wins
		}
		is.Equal(count(t, first), rounds)
	})
}

// helper runs this test binary as a child process in the given mode.
func helper(t *testing.T, mode, db string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "RBAC_SQLSTORE_HELPER="+mode, "RBAC_SQLSTORE_DB="+db)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is the child side of the multi-process tests; run on
// its own it has nothing to do.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("RBAC_SQLSTORE_HELPER")
	if mode == "" {
		t.Skip("the child process of the multi-process tests")
	}
	ctx := context.Background()
	path := os.Getenv("RBAC_SQLSTORE_DB")
	switch mode {
	case "open":
		// Report how opening went, and nothing else.
		s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(0)
		}
		s.Close()
		fmt.Println("opened")
		os.Exit(0)
	case "contend":
		s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Println(contend(ctx, s, true))
		s.Close()
		os.Exit(0)
	case "crash":
		s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		// Create until killed, acknowledging each binding only after
		// Create returned.
		for i := 0; ; i++ {
			b, err := s.Create(ctx, newBinding(i, i, i%7))
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Printf("%s %d %d %d %d\n", b.ID, i, i, i%7, b.CreatedAt.UnixMicro())
		}
	}
	t.Fatalf("unknown helper mode %q", mode)
}

// contendN is how many bindings each side of the two-process test tries.
const contendN = 1000

// contend tries to create the same contendN bindings as the other side,
// in the other order (down when down is set), so that the two sides meet
// halfway and then race for every binding left, and reports how it went:
// bindings created, conflicts, other errors, and when its first create
// began and its last one ended (Unix nanoseconds, one clock for both
// processes of a machine).
func contend(ctx context.Context, s *sqlstore.Store, down bool) string {
	var created, conflicts int
	var other []string
	began := time.Now().UnixNano()
	for j := range contendN {
		i := j
		if down {
			i = contendN - 1 - j
		}
		_, err := s.Create(ctx, newBinding(i, i, 1))
		switch {
		case err == nil:
			created++
		case errors.Is(err, rbac.ErrConflict):
			conflicts++
		default:
			other = append(other, err.Error())
		}
	}
	return fmt.Sprintf("%d %d %q %d %d", created, conflicts, strings.Join(other, "; "), began, time.Now().UnixNano())
}

func TestTwoProcesses(t *testing.T) {
	// The processes start a pipe write apart; now and then the scheduler
	// lets one finish before the other begins, and such a round shows
	// nothing about contention. The rules are checked in every round; a
	// round in which the two processes' creates did not overlap in time is
	// run again, a few times. (Overlap, not both creating: SQLite does not
	// hand its write lock out fairly between processes, and one often
	// makes every binding while the other waits on the lock, then finds
	// each taken. That is contention too: the waiting one must come
	// through with conflicts, not "database is locked".)
	for round := 1; ; round++ {
		if twoProcessRound(t) || t.Failed() {
			return
		}
		if round == 3 {
			t.Fatal("in three rounds, one process always finished before the other began: no contention was tested")
		}
		t.Logf("round %d: one process finished before the other began; again", round)
	}
}

// twoProcessRound runs one contention round between this process and a
// child on a new database file, checks the rules, and reports whether
// both processes created bindings (so that the writes really overlapped).
func twoProcessRound(t *testing.T) bool {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	s := openSQLite(t, path, sqlstore.Options{})

	cmd := helper(t, "contend", path)
	stdin, err := cmd.StdinPipe()
	is.NoErr(err)
	stdout, err := cmd.StdoutPipe()
	is.NoErr(err)
	is.NoErr(cmd.Start())
	lines := bufio.NewScanner(stdout)
	is.True(lines.Scan())
	is.Equal(lines.Text(), "ready") // the child opened the database

	_, err = io.WriteString(stdin, "go\n")
	is.NoErr(err)
	mine := contend(ctx, s, false)
	is.True(lines.Scan())
	theirs := lines.Text()
	is.NoErr(cmd.Wait())

	var created, conflicts int
	var began, ended []int64
	for _, report := range []string{mine, theirs} {
		var c, f int
		var other string
		var b, e int64
		_, err := fmt.Sscanf(report, "%d %d %q %d %d", &c, &f, &other, &b, &e)
		is.NoErr(err)
		is.Equal(other, "") // no error but conflicts, no "database is locked"
		created += c
		conflicts += f
		began, ended = append(began, b), append(ended, e)
	}
	is.Equal(created, contendN)   // each binding made once
	is.Equal(conflicts, contendN) // and refused once
	is.Equal(count(t, s), contendN)
	t.Logf("this process %s, the other %s (created, conflicts, errors, began, ended)", mine, theirs)
	return max(began[0], began[1]) < min(ended[0], ended[1])
}

// TestCrash kills a process that is creating bindings and checks that
// every binding it acknowledged is there, intact, in a sound database.
func TestCrash(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crash.db")
	s := openSQLite(t, path, sqlstore.Options{})
	is.NoErr(s.Close())

	cmd := helper(t, "crash", path)
	stdout, err := cmd.StdoutPipe()
	is.NoErr(err)
	is.NoErr(cmd.Start())
	lines := bufio.NewScanner(stdout)
	var acked []string
	for len(acked) < 200 && lines.Scan() {
		acked = append(acked, lines.Text())
	}
	is.NoErr(cmd.Process.Signal(syscall.SIGKILL)) // mid-stream
	// What the child wrote before it died was acknowledged too.
	for lines.Scan() {
		acked = append(acked, lines.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	is.True(errors.As(err, &exit)) // the child was killed
	is.Equal(exit.Sys().(syscall.WaitStatus).Signal(), syscall.SIGKILL)

	s = openSQLite(t, path, sqlstore.Options{})
	var check string
	is.NoErr(s.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check))
	is.Equal(check, "ok") // the database is sound
	for _, line := range acked {
		f := strings.Fields(line)
		is.Equal(len(f), 5) // an acknowledgement line
		n := func(i int) int { v, err := strconv.Atoi(f[i]); is.NoErr(err); return v }
		created, err := strconv.ParseInt(f[4], 10, 64)
		is.NoErr(err)
		b, err := s.Get(ctx, f[0])
		is.NoErr(err) // an acknowledged binding survived the crash
		want := newBinding(n(1), n(2), n(3))
		is.Equal(b.RoleID, want.RoleID) // intact
		is.Equal(b.UserID, want.UserID)
		is.Equal(b.ResourceID, want.ResourceID)
		is.Equal(b.CreatedAt.UnixMicro(), created)
		is.Equal(b.UpdatedAt, b.CreatedAt)
	}
	total := count(t, s)
	is.True(total >= len(acked)) // at most the one in flight was not acknowledged
	is.True(total <= len(acked)+1)
	t.Logf("%d bindings acknowledged before SIGKILL, %d in the database", len(acked), total)
}

func TestBadConditionsAtOpen(t *testing.T) {
	ctx := t.Context()

	t.Run("a missing directory is an error and is not created", func(t *testing.T) {
		is := is.New(t)
		dir := filepath.Join(t.TempDir(), "missing")
		_, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "rbac.db"), sqlstore.Options{Catalogue: testCatalogue()})
		is.True(errors.Is(err, fs.ErrNotExist)) // says what is missing
		is.True(strings.Contains(err.Error(), dir))
		_, err = os.Stat(dir)
		is.True(errors.Is(err, fs.ErrNotExist)) // nothing made
	})

	t.Run("a file that is not a database is an error and is not overwritten", func(t *testing.T) {
		is := is.New(t)
		path := filepath.Join(t.TempDir(), "notes.txt")
		text := bytes.Repeat([]byte("these are someone's notes, not a database\n"), 200)
		is.NoErr(os.WriteFile(path, text, 0o644))
		_, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), "not a SQLite database")) // says what is wrong
		after, err := os.ReadFile(path)
		is.NoErr(err)
		is.True(bytes.Equal(after, text)) // untouched
	})

	// database returns the bytes of a new store's file that holds one
	// binding, closed.
	database := func(t *testing.T) (path string, data []byte) {
		is := is.New(t)
		dir := t.TempDir()
		path = filepath.Join(dir, "rbac.db")
		s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
		is.NoErr(err)
		_, err = s.Create(ctx, newBinding(1, 1, 1))
		is.NoErr(err)
		is.NoErr(s.Close())
		data, err = os.ReadFile(path)
		is.NoErr(err)
		return path, data
	}

	t.Run("a database opened read-only is refused at open and not changed", func(t *testing.T) {
		is := is.New(t)
		path, before := database(t)
		// A host that opened its database read-only hands it over.
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_busy_timeout=1000")
		is.NoErr(err)
		defer db.Close()
		_, err = sqlstore.New(ctx, db, sqlstore.SQLite, sqlstore.Options{Catalogue: testCatalogue()})
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), "read-only")) // says what is wrong
		after, err := os.ReadFile(path)
		is.NoErr(err)
		is.True(bytes.Equal(after, before))
	})

	t.Run("a read-only file is refused at open and not changed", func(t *testing.T) {
		is := is.New(t)
		path, before := database(t)
		is.NoErr(os.Chmod(path, 0o444))
		if os.Geteuid() != 0 {
			_, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{Catalogue: testCatalogue()})
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), "read-only")) // says what is wrong
		} else {
			// Permission bits do not stop root, so the open is tried by
			// a child process running as nobody, from a copy of this
			// test binary that nobody can read.
			out := openAsNobody(t, path)
			t.Logf("as nobody: %s", out)
			is.True(strings.HasPrefix(out, "error:"))   // refused
			is.True(strings.Contains(out, "read-only")) // says what is wrong
		}
		after, err := os.ReadFile(path)
		is.NoErr(err)
		is.True(bytes.Equal(after, before))
	})
}

// openAsNobody runs the "open" helper as user nobody and returns what it
// printed.
func openAsNobody(t *testing.T, db string) string {
	t.Helper()
	const nobody = 65534
	dir := filepath.Dir(db)
	bin := filepath.Join(dir, "sqlstore.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatalf("read the test binary: %v", err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	// t.TempDir makes 0700 directories; nobody needs to get through them
	// to the binary and the database, but may write to none of them.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "RBAC_SQLSTORE_HELPER=open", "RBAC_SQLSTORE_DB="+db, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run a child process as nobody here (%v); the read-only file case needs a non-root user", err)
	}
	return strings.TrimSpace(string(out))
}
