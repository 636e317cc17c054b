package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// BenchmarkPairedConnWrapper measures what OpenSQLite's connection
// wrapper (conn.go) costs on the hot paths: the raw baselines' prepared
// SELECT by ID and one-INSERT transaction, through a store's *sql.DB
// (every call through the wrapper) against a *sql.DB that sql.Open made
// with the same DSN (no wrapper), on two files filled alike, one of each
// in turn, as BenchmarkPaired does. BenchmarkPaired's own ratios cannot
// show it: its raw side runs through the wrapper too.
func BenchmarkPairedConnWrapper(b *testing.B) {
	ctx := context.Background()
	wrapped, wrappedIDs := rawFill(b, 1000)
	other, plainIDs := rawFill(b, 1000)
	var file string
	if err := other.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		b.Fatal(err)
	}
	dsn, err := sqlstore.SQLiteDSN(file)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { plain.Close() })

	// pair runs w on the wrapped side and p on the plain one b.N times,
	// in turn, and reports both and their ratio; before, when not nil,
	// runs ahead of each round, outside the timers.
	pair := func(b *testing.B, w, p, before func(i int)) {
		var wt, pt time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if before != nil {
				b.StopTimer()
				before(i)
				b.StartTimer()
			}
			inTurn(i,
				func() { wt += timed(func() { w(i) }) },
				func() { pt += timed(func() { p(i) }) })
		}
		b.StopTimer()
		b.ReportMetric(float64(wt.Nanoseconds())/1e3/float64(b.N), "wrapped-µs/op")
		b.ReportMetric(float64(pt.Nanoseconds())/1e3/float64(b.N), "plain-µs/op")
		b.ReportMetric(float64(wt)/float64(pt), "wrapped/plain")
	}

	b.Run("Get", func(b *testing.B) {
		const get = `SELECT id, role_id, user_id, resource_type, resource_id, created_at, updated_at
			FROM rbac_role_bindings WHERE id = ?`
		reader := func(db *sql.DB, ids []string) func(i int) {
			st, err := db.PrepareContext(ctx, get)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			order := randomOrder(ids)
			return func(i int) {
				var bd rbac.Binding
				var rt string
				var created, updated int64
				err := st.QueryRowContext(ctx, order[i%len(order)]).Scan(&bd.ID, &bd.RoleID, &bd.UserID, &rt, &bd.ResourceID, &created, &updated)
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		pair(b, reader(wrapped, wrappedIDs), reader(plain, plainIDs), nil)
	})
	b.Run("Insert", func(b *testing.B) {
		extra := benchData().Extra
		w, p := newRawInserter(b, wrapped), newRawInserter(b, plain)
		b.Cleanup(w.undo)
		b.Cleanup(p.undo)
		pair(b,
			func(i int) { w.insert(extra[i%len(extra)]) },
			func(i int) { p.insert(extra[i%len(extra)]) },
			// The Extra bindings are inserted in order and deleted
			// again every len(extra), to keep the tables' size.
			func(i int) {
				if i%len(extra) == 0 && i > 0 {
					w.undo()
					p.undo()
				}
			})
	})
}
