package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// TestConcurrentBatchesOnPostgres runs batches whose items share (user,
// resource) keys in different orders, from many processes at once (each
// pool is a Store with its own *sql.DB, as a process of its own would
// have). Two such batches that insert the same keys in opposite orders
// wait for each other's row locks, which PostgreSQL ends by failing one
// with a deadlock (40P01); the store inserts in one global order so that
// this cannot happen. Every item must end created or in conflict, each
// key created once, with no batch failing and in a few seconds.
func TestConcurrentBatchesOnPostgres(t *testing.T) {
	const (
		pools     = 32
		perPool   = 10 // batches each pool runs, one after the other
		keys      = 60
		batchSize = 30
		bound     = 30 * time.Second
	)
	is := is.New(t)
	ctx := t.Context()
	schema := newSchema(t)
	stores := make([]*sqlstore.Store, pools)
	for p := range stores {
		db := postgresDB(t, schema)
		db.SetMaxOpenConns(2)
		s, err := sqlstore.New(ctx, db, sqlstore.PostgreSQL, sqlstore.Options{Catalogue: testCatalogue()})
		is.NoErr(err) // open pool
		t.Cleanup(func() { s.Close() })
		stores[p] = s
	}

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	// batches[p][k] is the k-th batch of pool p: batchSize keys of the
	// keys, in a random order of its own.
	batches := make([][][]rbac.NewBinding, pools)
	for p := range batches {
		batches[p] = make([][]rbac.NewBinding, perPool)
		for k := range batches[p] {
			for _, key := range rng.Perm(keys)[:batchSize] {
				// Key n is user n on space n%7: users and spaces repeat
				// across keys, as they do in real data.
				batches[p][k] = append(batches[p][k], newBinding(key, key%7, 1+key%3))
			}
		}
	}

	results := make([][][]sqlstore.BatchResult, pools)
	errs := make([]error, pools)
	// The run ends at the bound, so that a run that stalls fails there
	// instead of at the test binary's timeout.
	runCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var wg sync.WaitGroup
	var done atomic.Int64 // batches that returned without error
	start := time.Now()
	for p := range stores {
		results[p] = make([][]sqlstore.BatchResult, perPool)
		wg.Go(func() {
			for k, batch := range batches[p] {
				res, err := stores[p].CreateBatch(runCtx, batch, sqlstore.BatchOptions{})
				if err != nil {
					errs[p] = fmt.Errorf("pool %d, batch %d: %w", p, k, err)
					return
				}
				results[p][k] = res
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d pools, %d of %d batches of %d items from %d keys done in %v: %.0f batches/s",
		pools, done.Load(), pools*perPool, batchSize, keys, elapsed.Round(time.Millisecond), float64(done.Load())/elapsed.Seconds())

	is.NoErr(errors.Join(errs...)) // no batch fails
	created := map[string]int{}    // creations per user and resource
	for p := range results {
		for k, res := range results[p] {
			is.Equal(len(res), batchSize) // one result per item
			for i, r := range res {
				nb := batches[p][k][i]
				if r.Err != nil {
					is.True(errors.Is(r.Err, rbac.ErrConflict)) // an item is created or in conflict
					continue
				}
				is.Equal(r.Binding.UserID, nb.UserID) // each result at its item's index
				is.Equal(r.Binding.ResourceID, nb.ResourceID)
				created[nb.UserID+" "+nb.ResourceID]++
			}
		}
	}
	is.Equal(len(created), keys) // every key was created
	for key, n := range created {
		if n != 1 {
			t.Errorf("%s created %d times", key, n)
		}
	}
	is.Equal(count(t, stores[0]), keys) // the table holds one binding per key
	is.True(elapsed < bound)            // no batch waited out deadlocks
}
