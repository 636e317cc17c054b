package memstore_test

import (
	"testing"

	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// BenchmarkStore runs the benchmark suite every store runs; the figures
// and their targets are in BENCHMARKS.md.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB, opts storetest.Options) store.Store {
		return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
	}, storetest.BenchOptions{})
}
