package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/store/storetest"
)

// benchSizes are the store sizes of the benchmarks: a database on disk is
// slow to fill one create at a time, so they stop at 100,000.
var benchSizes = []int{1000, 100000}

// BenchmarkStore runs the shared benchmark suite on a SQLite file.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB, opts storetest.Options) store.Store {
		return openSQLite(tb, filepath.Join(tb.TempDir(), "bench.db"), sqlstore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
	}, storetest.BenchOptions{Sizes: benchSizes})
}

// The raw baselines below use the same driver, DSN (pragmas), schema and
// table as the store, and the same rows as the suite
// (storetest.BenchData), but plain database/sql and no store code, to
// show what the store adds.

// benchData is the suite's input at the largest size of benchSizes.
var benchData = sync.OnceValue(func() storetest.BenchInput {
	return storetest.BenchData(slices.Max(benchSizes))
})

// rawBinding is the i-th binding of the batch benchmarks, which need
// more bindings than the suite's data holds: four bindings per user,
// each user with the next ID.
func rawBinding(i int) rbac.NewBinding {
	u := 10_000_000_000 + uint64(i/4)*7
	r := 20_000_000_000 + uint64(i%4+i/64)*3
	return rbac.NewBinding{
		RoleID:       ids.Encode("Role", strconv.Itoa(1+i%6), "role"),
		UserID:       ids.Encode("User", strconv.FormatUint(u, 10), "uKey"),
		ResourceType: rbac.Project,
		ResourceID:   ids.Encode("Model", strconv.FormatUint(r, 10), "pKey"),
	}
}

const rawInsert = `INSERT INTO rbac_role_bindings
	(id, role_id, user_id, resource_type, resource_id, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

// rawFill returns the database of a new store holding the suite's first
// n bindings, and their IDs. Like the suite's fill, it makes them one
// transaction each (an INSERT in autocommit mode), so that the file, its
// WAL and its indexes are in the same state as the store's in
// BenchmarkStore.
func rawFill(b *testing.B, n int) (*sql.DB, []string) {
	b.Helper()
	ctx := context.Background()
	data := benchData()
	s := openSQLite(b, filepath.Join(b.TempDir(), "raw.db"), sqlstore.Options{Catalogue: data.Catalogue})
	db := s.DB()
	table := ids.DefaultTable()
	st, err := db.PrepareContext(ctx, rawInsert)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	made := make([]string, n)
	now := time.Now().UnixMicro()
	for i, nb := range data.Fill[:n] {
		id, err := table.NewID(ids.RoleBinding)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.ExecContext(ctx, id, nb.RoleID, nb.UserID, string(nb.ResourceType), nb.ResourceID, now, now); err != nil {
			b.Fatal(err)
		}
		made[i] = id
	}
	return db, made
}

// BenchmarkRawInsert is one prepared INSERT per transaction, the floor
// under Store.Create: the bindings the suite's Create benchmark creates,
// in its order, deleted again every 1,000 inserts, outside the timer, to
// keep the table's size.
func BenchmarkRawInsert(b *testing.B) {
	extra := benchData().Extra
	for _, n := range benchSizes {
		// Filled once, outside b.Run, whose function runs once per
		// round of b.N.
		db, _ := rawFill(b, n)
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			ctx := context.Background()
			table := ids.DefaultTable()
			ins, err := db.PrepareContext(ctx, rawInsert)
			if err != nil {
				b.Fatal(err)
			}
			defer ins.Close()
			del, err := db.PrepareContext(ctx, "DELETE FROM rbac_role_bindings WHERE id = ?")
			if err != nil {
				b.Fatal(err)
			}
			defer del.Close()
			made := make([]string, 0, len(extra))
			undo := func() {
				b.StopTimer()
				for _, id := range made {
					if _, err := del.ExecContext(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				made = made[:0]
				b.StartTimer()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % len(extra)
				if k == 0 && i > 0 {
					undo()
				}
				nb := extra[k]
				id, err := table.NewID(ids.RoleBinding)
				if err != nil {
					b.Fatal(err)
				}
				now := time.Now().UnixMicro()
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.StmtContext(ctx, ins).ExecContext(ctx, id, nb.RoleID, nb.UserID, string(nb.ResourceType), nb.ResourceID, now, now); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				made = append(made, id)
			}
			undo()
		})
	}
}

// BenchmarkRawGet is one prepared SELECT of a binding by its ID, the
// floor under Store.Get.
func BenchmarkRawGet(b *testing.B) {
	for _, n := range benchSizes {
		db, made := rawFill(b, n)
		order := randomOrder(made)
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			ctx := context.Background()
			get, err := db.PrepareContext(ctx, `SELECT id, role_id, user_id, resource_type, resource_id, created_at, updated_at
				FROM rbac_role_bindings WHERE id = ?`)
			if err != nil {
				b.Fatal(err)
			}
			defer get.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				var bd rbac.Binding
				var rt string
				var created, updated int64
				err := get.QueryRowContext(ctx, order[i%len(order)]).Scan(&bd.ID, &bd.RoleID, &bd.UserID, &rt, &bd.ResourceID, &created, &updated)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// randomOrder returns the IDs in a fixed pseudo-random order, so that
// reads go all over the table as the suite's Get benchmark does.
func randomOrder(made []string) []string {
	order := make([]string, 1<<18)
	x := uint64(1)
	for i := range order {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		order[i] = made[x%uint64(len(made))]
	}
	return order
}

// BenchmarkBatchCreate creates bindings in batches of one transaction
// each, in a store that starts empty; BenchmarkSingleCreate is the same
// one call, and one commit, per binding. Both report bindings/s.
func BenchmarkBatchCreate(b *testing.B) {
	for _, size := range []int{10000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s := openSQLite(b, filepath.Join(b.TempDir(), "batch.db"), sqlstore.Options{})
			batch := make([]rbac.NewBinding, size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				for j := range batch {
					batch[j] = rawBinding(i*size + j)
				}
				b.StartTimer()
				res, err := s.CreateBatch(ctx, batch, sqlstore.BatchOptions{AllOrNothing: true})
				if err != nil {
					b.Fatal(err)
				}
				if res[size-1].Err != nil {
					b.Fatal(res[size-1].Err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "bindings/s")
		})
	}
}

func BenchmarkSingleCreate(b *testing.B) {
	ctx := context.Background()
	s := openSQLite(b, filepath.Join(b.TempDir(), "single.db"), sqlstore.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Create(ctx, rawBinding(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bindings/s")
}
