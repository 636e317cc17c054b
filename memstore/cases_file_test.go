package memstore_test

import (
	"testing"

	"github.com/rolebind/rbac/internal/sharedtest"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// TestSharedCases runs the contract's public cases from the shared file
// itself, which may be newer than the copy the suite embeds.
func TestSharedCases(t *testing.T) {
	data := sharedtest.ReadFile(t, "testdata/cases.json")
	storetest.RunCases(t, func(tb testing.TB, opts storetest.Options) store.Store {
		return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
	}, data)
}
