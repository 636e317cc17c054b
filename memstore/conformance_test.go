package memstore_test

import (
	"testing"

	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// TestConformance runs the suite every store passes.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, opts storetest.Options) store.Store {
		return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
	})
}
