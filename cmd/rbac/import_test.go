package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// TestImportSpeed measures rbac import of RBAC_IMPORT_BENCH bindings (the
// issue asks for 1,000,000) into a new SQLite file, against the store's
// own CreateBatch of the same bindings into another new file, in the same
// run, and fails when import takes more than 1.5 times as long. It takes
// minutes at a million, so it runs only when asked:
//
//	RBAC_IMPORT_BENCH=1000000 go test ./cmd/rbac -run TestImportSpeed -v
func TestImportSpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RBAC_IMPORT_BENCH"))
	if n <= 0 {
		t.Skip("set RBAC_IMPORT_BENCH to a number of bindings to measure import (minutes at 1000000)")
	}
	is := is.New(t)
	src := seededSQLite(t, n)
	exp := rbacPipe(t, nil, "--db", src, "export")
	is.Equal(exp.code, 0) // export
	var nbs []rbac.NewBinding
	_, err := func() (uint64, error) {
		s, err := sqlstore.OpenSQLite(t.Context(), src, sqlstore.Options{})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		return s.Dump(t.Context(), func(r sqlstore.Record) error {
			if r.Kind == sqlstore.BindingRecord {
				b := r.Binding
				nbs = append(nbs, rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID})
			}
			return nil
		})
	}()
	is.NoErr(err) // read the bindings
	is.Equal(len(nbs), n)

	// The store's own batch create: a new file with the custom role, the
	// bindings in batches of importChunk, as import restores them.
	batchDB := filepath.Join(t.TempDir(), "batch.db")
	s, err := sqlstore.OpenSQLite(t.Context(), batchDB, sqlstore.Options{})
	is.NoErr(err)
	defer s.Close()
	seedStore(t, s, 0) // the custom role, links and restrictions
	// The role of seedStore made again has another ID.
	have := map[string]bool{}
	for _, id := range rolesByName(t, s) {
		have[id] = true
	}
	restricter := rolesByName(t, s)["restricter"]
	for i := range nbs {
		if !have[nbs[i].RoleID] {
			nbs[i].RoleID = restricter
		}
	}
	start := time.Now()
	for k := 0; k < n; k += importChunk {
		chunk := nbs[k:min(n, k+importChunk)]
		res, err := s.CreateBatch(t.Context(), chunk, sqlstore.BatchOptions{})
		is.NoErr(err)
		for _, r := range res {
			is.NoErr(r.Err)
		}
	}
	batch := time.Since(start)

	dst := filepath.Join(t.TempDir(), "import.db")
	start = time.Now()
	imp := rbacPipe(t, bytes.NewReader([]byte(exp.stdout)), "--db", dst, "import")
	took := time.Since(start)
	is.Equal(imp.code, 0) // import
	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	t.Logf("%d bindings: import %v (%.0f bindings/s), CreateBatch %v (%.0f bindings/s), ratio %.2f",
		n, took.Round(time.Millisecond), rate(took), batch.Round(time.Millisecond), rate(batch), took.Seconds()/batch.Seconds())
	if took.Seconds() > 1.5*batch.Seconds() {
		t.Errorf("import took %.2f times as long as CreateBatch; the target is 1.5", took.Seconds()/batch.Seconds())
	}
}

// rolesByName returns the IDs of the roles of s by name.
func rolesByName(tb testing.TB, s *sqlstore.Store) map[string]string {
	tb.Helper()
	out := map[string]string{}
	p, err := s.ListRoles(tb.Context(), rbac.RoleQuery{Limit: rbac.MaxLimit})
	if err != nil {
		tb.Fatalf("list roles: %v", err)
	}
	for _, r := range p.Roles {
		out[r.Name] = r.ID
	}
	return out
}
