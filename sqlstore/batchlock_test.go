package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
//
// The second run has pools whose sessions default to SERIALIZABLE, as a
// host may set for its own transactions: the store's writes must not
// turn into serialization failures (40001) on the change feed's counter
// row, which every write updates.
func TestConcurrentBatchesOnPostgres(t *testing.T) {
	t.Run("read committed", func(t *testing.T) { contendBatches(t, nil) })
	t.Run("serializable by default", func(t *testing.T) {
		contendBatches(t, map[string]string{"default_transaction_isolation": "serializable"})
	})
}

// contendBatches runs the workload of TestConcurrentBatchesOnPostgres on
// pools whose sessions have the runtime parameters params.
func contendBatches(t *testing.T, params map[string]string) {
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
		db := postgresPool(t, schema, params)
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

// postgresPool opens a handle whose sessions work in schema and have the
// runtime parameters params.
func postgresPool(tb testing.TB, schema string, params map[string]string) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(postgresDSN(tb))
	if err != nil {
		tb.Fatalf("RBAC_POSTGRES_DSN: %v", err)
	}
	maps.Copy(cfg.RuntimeParams, params)
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestBatchDeadlockRetried makes a batch one side of a deadlock that
// ordering cannot prevent: a host's transaction holds key B and then
// asks for key A, which the batch took before it asked for B. PostgreSQL
// fails the batch's transaction with 40P01; the store must run the batch
// again, and the caller must see a clean result, not the deadlock.
func TestBatchDeadlockRetried(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := postgresEngine.open(t, sqlstore.Options{})
	a, b := newBinding(1, 1, 1), newBinding(2, 2, 1)
	if a.UserID > b.UserID {
		a, b = b, a // the batch takes a first: its lock order is byte order
	}

	host, err := s.DB().BeginTx(ctx, nil)
	is.NoErr(err) // the host's transaction
	defer host.Rollback()
	// PostgreSQL fails the transaction whose deadlock check, run
	// deadlock_timeout after it began to wait, finds the cycle; the host
	// waits longer before it checks, so the batch is the one that fails.
	// (Setting it takes a superuser, which the test server's user is.)
	_, err = host.ExecContext(ctx, "SET LOCAL deadlock_timeout = '20s'")
	is.NoErr(err) // the host checks for deadlocks late
	var hostPID int
	is.NoErr(host.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&hostPID))
	_, err = s.WithTx(host).Create(ctx, b)
	is.NoErr(err) // the host takes b

	type outcome struct {
		res []sqlstore.BatchResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := s.CreateBatch(ctx, []rbac.NewBinding{b, a}, sqlstore.BatchOptions{})
		done <- outcome{res, err}
	}()
	// Wait until the batch, holding a, waits for the host's b.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var blocked bool
		is.NoErr(s.DB().QueryRowContext(ctx,
			"SELECT count(*) > 0 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", hostPID).Scan(&blocked))
		if blocked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the host's transaction")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = s.WithTx(host).Create(ctx, a)
	is.NoErr(err) // the host gets a once the deadlock failed the batch's first try
	is.NoErr(host.Commit())

	got := <-done
	is.NoErr(got.err) // the deadlock does not reach the caller
	is.Equal(len(got.res), 2)
	for _, r := range got.res {
		is.True(errors.Is(r.Err, rbac.ErrConflict)) // the retried batch finds both keys taken by the host
	}
	is.Equal(count(t, s), 2)
}
