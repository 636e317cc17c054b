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

// rawInserter makes the raw baseline's inserts into db: one prepared
// INSERT per transaction, with a new ID and timestamp each, as the store
// makes them; undo deletes what it made.
type rawInserter struct {
	b        *testing.B
	db       *sql.DB
	ins, del *sql.Stmt
	table    ids.Table
	made     []string
}

func newRawInserter(b *testing.B, db *sql.DB) *rawInserter {
	ctx := context.Background()
	ins, err := db.PrepareContext(ctx, rawInsert)
	if err != nil {
		b.Fatal(err)
	}
	del, err := db.PrepareContext(ctx, "DELETE FROM rbac_role_bindings WHERE id = ?")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ins.Close()
		del.Close()
	})
	return &rawInserter{b: b, db: db, ins: ins, del: del, table: ids.DefaultTable()}
}

func (r *rawInserter) insert(nb rbac.NewBinding) {
	ctx := context.Background()
	id, err := r.table.NewID(ids.RoleBinding)
	if err != nil {
		r.b.Fatal(err)
	}
	now := time.Now().UnixMicro()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		r.b.Fatal(err)
	}
	if _, err := tx.StmtContext(ctx, r.ins).ExecContext(ctx, id, nb.RoleID, nb.UserID, string(nb.ResourceType), nb.ResourceID, now, now); err != nil {
		r.b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		r.b.Fatal(err)
	}
	r.made = append(r.made, id)
}

func (r *rawInserter) undo() {
	for _, id := range r.made {
		if _, err := r.del.ExecContext(context.Background(), id); err != nil {
			r.b.Fatal(err)
		}
	}
	r.made = r.made[:0]
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
			raw := newRawInserter(b, db)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % len(extra)
				if k == 0 && i > 0 {
					b.StopTimer()
					raw.undo()
					b.StartTimer()
				}
				raw.insert(extra[k])
			}
			b.StopTimer()
			raw.undo()
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
			s := openSQLite(b, filepath.Join(b.TempDir(), "batch.db"), sqlstore.Options{})
			batch := make([]rbac.NewBinding, size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				nextBatch(batch, i)
				b.StartTimer()
				createBatch(b, s, batch)
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "bindings/s")
		})
	}
}

// timed returns how long f took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// inTurn runs a and then b in even rounds i, and b and then a in odd
// ones, so that neither always runs right after the other.
func inTurn(i int, a, b func()) {
	if i%2 == 0 {
		a()
		b()
		return
	}
	b()
	a()
}

// nextBatch fills batch with the bindings of the batch benchmarks' round
// i.
func nextBatch(batch []rbac.NewBinding, i int) {
	for j := range batch {
		batch[j] = rawBinding(i*len(batch) + j)
	}
}

// createBatch creates batch, all or nothing, and fails b unless every
// item was created.
func createBatch(b *testing.B, s *sqlstore.Store, batch []rbac.NewBinding) {
	res, err := s.CreateBatch(context.Background(), batch, sqlstore.BatchOptions{AllOrNothing: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := res[len(res)-1].Err; err != nil {
		b.Fatal(err)
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

// BenchmarkPaired measures the store and its baseline in one loop, one
// operation of each in turn (which goes first alternates), so that both
// see the same moments of a machine whose speed drifts. The separate
// benchmarks above run minutes apart, between fills, and on a shared VM
// their ratio moves with whatever else ran in between; here it does not.
// Each sub-benchmark reports both sides and their ratio as metrics:
//
//   - CreateVsRawInsert/bindings=N: Store.Create against the raw INSERT,
//     as BenchmarkStore/Create and BenchmarkRawInsert do them: the same
//     rows, stores of N bindings, deleted again every 1,000.
//   - BatchVsSingle/size=N: one CreateBatch of N bindings against 1,000
//     single creates, as BenchmarkBatchCreate and BenchmarkSingleCreate do
//     them, in bindings per second.
func BenchmarkPaired(b *testing.B) {
	ctx := context.Background()
	data := benchData()
	n := slices.Max(benchSizes)

	s := openSQLite(b, filepath.Join(b.TempDir(), "paired.db"), sqlstore.Options{Catalogue: data.Catalogue})
	for i, nb := range data.Fill[:n] {
		if _, err := s.Create(ctx, nb); err != nil {
			b.Fatalf("fill, binding %d: %v", i, err)
		}
	}
	db, _ := rawFill(b, n)
	b.Run(fmt.Sprintf("CreateVsRawInsert/bindings=%d", n), func(b *testing.B) {
		raw := newRawInserter(b, db)
		var made []string
		undo := func() {
			b.StopTimer()
			for _, id := range made {
				if err := s.Delete(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			made = made[:0]
			raw.undo()
			b.StartTimer()
		}
		create := func(nb rbac.NewBinding) {
			bd, err := s.Create(ctx, nb)
			if err != nil {
				b.Fatal(err)
			}
			made = append(made, bd.ID)
		}
		var storeTime, rawTime time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := i % len(data.Extra)
			if k == 0 && i > 0 {
				undo()
			}
			nb := data.Extra[k]
			inTurn(i,
				func() { storeTime += timed(func() { create(nb) }) },
				func() { rawTime += timed(func() { raw.insert(nb) }) })
		}
		undo()
		b.ReportMetric(float64(storeTime.Microseconds())/float64(b.N), "store-µs/op")
		b.ReportMetric(float64(rawTime.Microseconds())/float64(b.N), "raw-µs/op")
		b.ReportMetric(float64(storeTime)/float64(rawTime), "store/raw")
	})

	const size, singles = 10000, 1000
	b.Run(fmt.Sprintf("BatchVsSingle/size=%d", size), func(b *testing.B) {
		batchStore := openSQLite(b, filepath.Join(b.TempDir(), "batch.db"), sqlstore.Options{})
		singleStore := openSQLite(b, filepath.Join(b.TempDir(), "single.db"), sqlstore.Options{})
		batch := make([]rbac.NewBinding, size)
		createSingles := func(first int) {
			for j := range singles {
				if _, err := singleStore.Create(ctx, rawBinding(first+j)); err != nil {
					b.Fatal(err)
				}
			}
		}
		var batchTime, singleTime time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			nextBatch(batch, i)
			b.StartTimer()
			inTurn(i,
				func() { batchTime += timed(func() { createBatch(b, batchStore, batch) }) },
				func() { singleTime += timed(func() { createSingles(i * singles) }) })
		}
		batchRate := float64(b.N*size) / batchTime.Seconds()
		singleRate := float64(b.N*singles) / singleTime.Seconds()
		b.ReportMetric(batchRate, "batch-bindings/s")
		b.ReportMetric(singleRate, "single-bindings/s")
		b.ReportMetric(batchRate/singleRate, "batch/single")
	})
}
