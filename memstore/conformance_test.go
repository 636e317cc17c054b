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
		return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue, ProtectLastAdmin: opts.ProtectLastAdmin})
	})
}

// TestDifferential checks every error of the store against the contract;
// package sqlstore's tests compare it with the SQL stores too.
func TestDifferential(t *testing.T) {
	storetest.RunDifferential(t, map[string]storetest.Factory{
		"memstore": func(tb testing.TB, opts storetest.Options) store.Store {
			return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue, ProtectLastAdmin: opts.ProtectLastAdmin})
		},
	})
}
