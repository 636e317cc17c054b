package sqlstore_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// truncateUnderStore fills a store, opens it again (so that no
// connection has the pages in its cache), truncates the file to its first
// page while the store is open, and reports a Get, a List and a Create.
func truncateUnderStore(path string) error {
	ctx := context.Background()
	opts := sqlstore.Options{Catalogue: testCatalogue()}
	s, err := sqlstore.OpenSQLite(ctx, path, opts)
	if err != nil {
		return err
	}
	// Enough bindings that the table and its indexes are far more than
	// what a connection caches.
	const n = 20000
	batch := make([]rbac.NewBinding, n)
	for i := range batch {
		batch[i] = newBinding(i, i%50, i%testRoleCount)
	}
	res, err := s.CreateBatch(ctx, batch, sqlstore.BatchOptions{AllOrNothing: true})
	if err != nil {
		return err
	}
	// One from the middle: the write below changes the last page of
	// the table, which then lives in the WAL, untouched by the
	// truncation.
	mid := res[n/2].Binding
	if err := s.Close(); err != nil {
		return err
	}
	if s, err = sqlstore.OpenSQLite(ctx, path, opts); err != nil {
		return err
	}
	defer s.Close()
	// A write leaves frames in the WAL, so that SQLite takes the
	// database's size from the WAL rather than from the file: the pages
	// cut off are then read, not taken for missing. (With a memory map,
	// that read was a SIGBUS.)
	if _, err := s.Create(ctx, newBinding(n, 1, 1)); err != nil {
		return err
	}
	// Keep the first page, with the file's header and the schema, so
	// that what is gone is the data.
	if err := os.Truncate(path, 4096); err != nil {
		return err
	}
	report("get", func() error { _, err := s.Get(ctx, mid.ID); return err })
	report("list", func() error { _, err := s.List(ctx, rbac.ListQuery{UserID: mid.UserID}); return err })
	report("create", func() error { _, err := s.Create(ctx, newBinding(n+1, 2, 1)); return err })
	return nil
}

// TestTruncatedUnderAnOpenStore truncates the file of an open store: the
// calls that need the pages cut off return internal errors, and the
// process lives on.
func TestTruncatedUnderAnOpenStore(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rbac.db")
	out := runFaultChild(t, exec.Command(os.Args[0]), "truncate", path)
	for _, step := range []string{"get", "list", "create"} {
		is.True(strings.HasPrefix(out[step], "internal ")) // an error that is no category, not a panic, not a crash
	}
}

// TestDamagedFileAtOpen opens files that are not sound databases: the
// error names the file and says what is wrong with it.
func TestDamagedFileAtOpen(t *testing.T) {
	ctx := t.Context()
	opts := sqlstore.Options{Catalogue: testCatalogue()}
	// database returns the path of a closed store's file that holds a
	// few hundred bindings, so that they take pages of their own.
	database := func(t *testing.T) string {
		is := is.New(t)
		path := filepath.Join(t.TempDir(), "rbac.db")
		s, err := sqlstore.OpenSQLite(ctx, path, opts)
		is.NoErr(err)
		batch := make([]rbac.NewBinding, 500)
		for i := range batch {
			batch[i] = newBinding(i, i%50, i%testRoleCount)
		}
		_, err = s.CreateBatch(ctx, batch, sqlstore.BatchOptions{AllOrNothing: true})
		is.NoErr(err)
		is.NoErr(s.Close())
		return path
	}
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"a file that is not a database", func(t *testing.T, path string) {
			is.New(t).NoErr(os.WriteFile(path, bytes.Repeat([]byte("not a database\n"), 1000), 0o644))
		}, "not a SQLite database"},
		{"a database cut short", func(t *testing.T, path string) {
			is.New(t).NoErr(os.Truncate(path, 4096))
		}, "damaged"},
		{"a database whose schema page is overwritten", func(t *testing.T, path string) {
			is := is.New(t)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			is.NoErr(err)
			defer f.Close()
			// Past the 100-byte file header: the first page's b-tree
			// header and cells, where the schema is.
			_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, 4096-100), 100)
			is.NoErr(err)
		}, "damaged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			path := database(t)
			c.damage(t, path)
			_, err := sqlstore.OpenSQLite(ctx, path, opts)
			t.Log(err)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), path))   // names the file
			is.True(strings.Contains(err.Error(), c.want)) // says what is wrong
		})
	}
}

// mmapOf returns the mmap_size of a connection of s's pool.
func mmapOf(tb testing.TB, s *sqlstore.Store) int64 {
	tb.Helper()
	var n int64
	if err := s.DB().QueryRowContext(tb.Context(), "PRAGMA mmap_size").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestMemoryMapIsAskedFor checks that a store maps its file only when
// the host asks (Options.MmapSize), since a mapped file cut short kills
// the process.
func TestMemoryMapIsAskedFor(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	s := openSQLite(t, filepath.Join(dir, "plain.db"), sqlstore.Options{})
	is.Equal(mmapOf(t, s), int64(0)) // no map by default
	s = openSQLite(t, filepath.Join(dir, "mapped.db"), sqlstore.Options{MmapSize: 1 << 20})
	is.Equal(mmapOf(t, s), int64(1<<20)) // the map the host asked for
	dsn, err := sqlstore.SQLiteDSN(filepath.Join(dir, "host.db"))
	is.NoErr(err)
	u, err := url.Parse(dsn)
	is.NoErr(err)
	is.True(slices.Contains(u.Query()["_pragma"], "mmap_size(0)")) // nor for a host's own *sql.DB
}
