package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

// TestCheckProcessTime measures what BENCHMARKS.md reports for "rbac
// check": the wall time of one check as a process, on a SQLite file of
// RBAC_CLI_BENCH bindings (say 1000000). It builds the binary, fills the
// file with CreateBatch, and times a few runs with exec. It takes minutes
// at a million, so it runs only when asked:
//
//	RBAC_CLI_BENCH=1000000 go test -run TestCheckProcessTime -v ./cmd/rbac
func TestCheckProcessTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RBAC_CLI_BENCH"))
	if n <= 0 {
		t.Skip("set RBAC_CLI_BENCH to a number of bindings to measure rbac check as a process")
	}
	is := is.New(t)
	ctx := t.Context()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rbac")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	is.NoErr(build.Run()) // go build

	db := filepath.Join(dir, "bench.db")
	start := time.Now()
	fill(t, ctx, db, n)
	t.Logf("filled %d bindings in %v", n, time.Since(start).Round(time.Millisecond))
	fi, err := os.Stat(db)
	is.NoErr(err)
	t.Logf("file: %d MB", fi.Size()>>20)

	// The last user, on the last space: nothing about the answer is
	// cheaper than any other.
	user := ids.Encode("User", strconv.Itoa(n-1), "u")
	sp := ids.Encode("Space", strconv.Itoa((n-1)%1000), "s")
	var best, total time.Duration
	const runs = 5
	for i := range runs {
		cmd := exec.CommandContext(ctx, bin, "--db", db, "check", user, "PROJECT_READ", "SPACE", sp)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		is.NoErr(err)                      // allowed: exit 0
		is.Equal(string(out), "allowed\n") // the check's answer
		t.Logf("run %d: %v", i+1, d.Round(time.Millisecond))
		total += d
		if best == 0 || d < best {
			best = d
		}
	}
	t.Logf("rbac check on %d bindings: best %v, mean %v of %d runs", n, best.Round(time.Millisecond), (total / runs).Round(time.Millisecond), runs)
}

// fill writes n bindings to a new SQLite file at path: user i is Member
// of space i mod 1000.
func fill(tb testing.TB, ctx context.Context, path string, n int) {
	s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	member := ids.Encode("Role", "2", "Member")
	const chunk = 50_000
	for lo := 0; lo < n; lo += chunk {
		batch := make([]rbac.NewBinding, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			batch = append(batch, rbac.NewBinding{RoleID: member, UserID: ids.Encode("User", strconv.Itoa(i), "u"),
				ResourceType: rbac.Space, ResourceID: ids.Encode("Space", strconv.Itoa(i%1000), "s")})
		}
		res, err := s.CreateBatch(ctx, batch, sqlstore.BatchOptions{AllOrNothing: true})
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				tb.Fatal(r.Err)
			}
		}
	}
}
