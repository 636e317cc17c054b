package memstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// TestSharedCases runs the contract's public cases from the shared file
// itself, which may be newer than the copy the suite embeds.
func TestSharedCases(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "cases.json"))
	if err != nil {
		t.Fatalf("read the shared cases: %v", err)
	}
	storetest.RunCases(t, func(tb testing.TB, opts storetest.Options) store.Store {
		return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
	}, data)
}
