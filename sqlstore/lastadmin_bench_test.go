package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// BenchmarkPairedLastAdmin measures single deletes with the
// last-administrator rule on and off, in the style of BenchmarkPaired:
// stores of the same data, one delete on each in turn (the order
// rotates), so that all see the same moments of the machine. A second
// store with the rule off (off2) is the control: off2/off is what the
// machine's noise alone makes of a ratio in the same run, the yardstick
// for on/off. Each delete removes an administrator of a space that has
// another one, so the rule is evaluated in full and allows it; every
// 1,000 deletes the deleted bindings are created again, outside the
// timer. PostgreSQL runs when RBAC_POSTGRES_DSN is set.
//
//	go test -run '^$' -bench BenchmarkPairedLastAdmin -count=5 ./sqlstore/
func BenchmarkPairedLastAdmin(b *testing.B) {
	es := []engine{sqliteEngine}
	if os.Getenv("RBAC_POSTGRES_DSN") != "" {
		es = append(es, postgresEngine)
	}
	for _, e := range es {
		b.Run("Delete/"+e.name, func(b *testing.B) {
			benches := []*deleteBench{newDeleteBench(b, e, true), newDeleteBench(b, e, false), newDeleteBench(b, e, false)}
			times := make([]time.Duration, len(benches))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % deleteBenchSpaces
				if k == 0 && i > 0 {
					b.StopTimer()
					for _, d := range benches {
						d.refill(b)
					}
					b.StartTimer()
				}
				for j := range benches {
					n := (i + j) % len(benches)
					times[n] += timed(func() { benches[n].delete(b, k) })
				}
			}
			on, off, off2 := times[0], times[1], times[2]
			b.ReportMetric(float64(on.Microseconds())/float64(b.N), "on-µs/op")
			b.ReportMetric(float64(off.Microseconds())/float64(b.N), "off-µs/op")
			b.ReportMetric(float64(on)/float64(off), "on/off")
			b.ReportMetric(float64(off2)/float64(off), "off2/off")
		})
	}
}

// deleteBenchSpaces is how many spaces a delete bench has, and so how
// many deletes run between refills.
const deleteBenchSpaces = 1000

// deleteBench is one store of the delete benchmark: each space has two
// administrators and a member; the victims are the first administrators.
type deleteBench struct {
	s       *sqlstore.Store
	victims []string
}

func newDeleteBench(b *testing.B, e engine, protect bool) *deleteBench {
	b.Helper()
	opts := sqlstore.Options{Catalogue: testCatalogue(), ProtectLastAdmin: protect}
	var s *sqlstore.Store
	if e.dialect == sqlstore.SQLite {
		s = openSQLite(b, filepath.Join(b.TempDir(), "lastadmin.db"), opts)
	} else {
		s = e.open(b, opts)
	}
	d := &deleteBench{s: s, victims: make([]string, deleteBenchSpaces)}
	ctx := context.Background()
	for i := range deleteBenchSpaces {
		for _, nb := range []rbac.NewBinding{
			{RoleID: perm.AdminRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(i)},
			{RoleID: perm.MemberRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(i)},
		} {
			if _, err := s.Create(ctx, nb); err != nil {
				b.Fatal(err)
			}
		}
	}
	d.refill(b)
	return d
}

// refill creates the victims again.
func (d *deleteBench) refill(b *testing.B) {
	b.Helper()
	for i := range d.victims {
		bd, err := d.s.Create(context.Background(), rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(i)})
		if err != nil {
			b.Fatal(err)
		}
		d.victims[i] = bd.ID
	}
}

func (d *deleteBench) delete(b *testing.B, k int) {
	if err := d.s.Delete(context.Background(), d.victims[k]); err != nil {
		b.Fatal(err)
	}
}
