package sqlstore_test

import (
	"testing"

	"github.com/rolebind/rbac/internal/pgtest"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// TestDifferential runs the suite's table of failing calls against
// memstore, which downstream tests use as the fake of this store, and
// against this store on every engine at hand, and demands the same whole
// error from each. PostgreSQL joins when RBAC_POSTGRES_DSN is set (and
// is required when CI is: see postgresDSN).
func TestDifferential(t *testing.T) {
	factories := map[string]storetest.Factory{
		"memstore": func(tb testing.TB, opts storetest.Options) store.Store {
			return memstore.New(memstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
		},
		"sqlite": factory(sqliteEngine),
	}
	if pgtest.Wanted() {
		factories["postgres"] = factory(postgresEngine)
	}
	storetest.RunDifferential(t, factories)
}
