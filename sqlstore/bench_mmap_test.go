package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// mmapSize is the memory map of BenchmarkPairedMmap: more than the file
// holds, so every read goes through the map.
const mmapSize = 256 << 20

// BenchmarkPairedMmap measures what the memory map ([sqlstore.Options]
// MmapSize) buys, which is what a host weighs against its risk (a SIGBUS
// that kills the process when the file is cut short). Two stores open
// byte-identical copies of one file of the suite's bindings, one with
// the map and one without, and each round of the loop runs the same
// operation on both, in turn (which goes first alternates), as
// BenchmarkPaired does, so that both see the same moments of a machine
// whose speed drifts. Each sub-benchmark reports both sides and their
// ratio:
//
//   - Get/bindings=N: Store.Get of IDs all over the table, in the same
//     pseudo-random order on both.
//   - List/bindings=N: the first page of 50 bindings on spaces, the
//     suite's List/page=first.
func BenchmarkPairedMmap(b *testing.B) {
	ctx := context.Background()
	data := benchData()
	n := slices.Max(benchSizes)
	dir := b.TempDir()
	plainPath, mappedPath := filepath.Join(dir, "plain.db"), filepath.Join(dir, "mapped.db")

	// Filled in batches, which is much faster than the suite's one
	// create at a time; the copy makes the two files the same whatever
	// layout that gives them.
	s, err := sqlstore.OpenSQLite(ctx, plainPath, sqlstore.Options{Catalogue: data.Catalogue})
	if err != nil {
		b.Fatal(err)
	}
	made := make([]string, 0, n)
	for chunk := range slices.Chunk(data.Fill[:n], 10000) {
		res, err := s.CreateBatch(ctx, chunk, sqlstore.BatchOptions{AllOrNothing: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			made = append(made, r.Binding.ID)
		}
	}
	// Closing the last connection checkpoints the WAL into the file and
	// removes it, so the file alone is the database.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	copyFile(b, plainPath, mappedPath)
	plain := openSQLite(b, plainPath, sqlstore.Options{Catalogue: data.Catalogue})
	mapped := openSQLite(b, mappedPath, sqlstore.Options{Catalogue: data.Catalogue, MmapSize: mmapSize})
	if got := mmapOf(b, mapped); got != mmapSize {
		b.Fatalf("the mapped store's mmap_size is %d; want %d", got, mmapSize)
	}

	// paired runs op on both stores b.N times, in turn, and reports
	// both sides' time per op and their ratio.
	paired := func(b *testing.B, op func(s *sqlstore.Store, i int) error) {
		var mappedTime, plainTime time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			inTurn(i,
				func() {
					mappedTime += timed(func() {
						if err := op(mapped, i); err != nil {
							b.Fatal(err)
						}
					})
				},
				func() {
					plainTime += timed(func() {
						if err := op(plain, i); err != nil {
							b.Fatal(err)
						}
					})
				})
		}
		b.ReportMetric(float64(mappedTime.Nanoseconds())/1e3/float64(b.N), "mmap-µs/op")
		b.ReportMetric(float64(plainTime.Nanoseconds())/1e3/float64(b.N), "plain-µs/op")
		b.ReportMetric(float64(mappedTime)/float64(plainTime), "mmap/plain")
	}

	order := randomOrder(made)
	b.Run(fmt.Sprintf("Get/bindings=%d", n), func(b *testing.B) {
		paired(b, func(s *sqlstore.Store, i int) error {
			_, err := s.Get(ctx, order[i%len(order)])
			return err
		})
	})
	q := rbac.ListQuery{ResourceType: rbac.Space, Limit: 50}
	b.Run(fmt.Sprintf("List/bindings=%d", n), func(b *testing.B) {
		paired(b, func(s *sqlstore.Store, _ int) error {
			p, err := s.List(ctx, q)
			if err == nil && len(p.Bindings) != q.Limit {
				err = fmt.Errorf("list: %d bindings; want a full page", len(p.Bindings))
			}
			return err
		})
	})
}

// copyFile copies the file at from to a new file at to.
func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}
