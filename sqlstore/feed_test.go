package sqlstore_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
)

func TestSubscribersSeeOneStoreInRevisionOrder(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		before, err := s.Revision(ctx)
		is.NoErr(err)
		var mu sync.Mutex
		var seen []uint64
		cancel := s.Subscribe(func(ch store.Change) {
			mu.Lock()
			seen = append(seen, ch.Revision)
			mu.Unlock()
			// A subscriber may read the feed: its own change is there.
			got, err := s.Changes(ctx, ch.Revision-1, 1)
			if err != nil || len(got) != 1 || got[0].Binding.ID != ch.Binding.ID {
				t.Errorf("Changes from a subscriber: %v, %v", got, err)
			}
		})
		defer cancel()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 10 {
					if _, err := s.Create(ctx, newBinding(g*100+i, 1, i%3)); err != nil {
						t.Errorf("create: %v", err)
					}
				}
			})
		}
		wg.Wait()
		want := make([]uint64, 40)
		for i := range want {
			want[i] = before + 1 + uint64(i)
		}
		is.Equal(seen, want) // every revision once, in revision order, from four goroutines
	})
}

func TestChangeRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{ChangeRetention: 50})
		start, err := s.Revision(ctx)
		is.NoErr(err)
		// Enough changes to cross a pruning point (every 1,000
		// revisions) in one batch.
		nbs := make([]rbac.NewBinding, 1100)
		for i := range nbs {
			nbs[i] = newBinding(i, 1, i%5)
		}
		res, err := s.CreateBatch(ctx, nbs, sqlstore.BatchOptions{AllOrNothing: true})
		is.NoErr(err)
		is.NoErr(res[0].Err)
		last, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(last, start+1100)

		_, err = s.Changes(ctx, start, 10)
		var compacted *store.CompactedError
		is.True(errors.As(err, &compacted))       // pruned down to the retention
		is.True(errors.Is(err, rbac.ErrNotFound)) // which is not found
		is.Equal(compacted.After, start)
		is.Equal(compacted.Oldest, last-50+1) // the 50 latest are kept
		kept, err := s.Changes(ctx, last-50, store.MaxChanges)
		is.NoErr(err)
		is.Equal(len(kept), 50)
		is.Equal(kept[49].Binding, res[1099].Binding)

		// A snapshot still has everything, and the revision to go on from.
		n := 0
		rev, err := s.Snapshot(ctx, func(ch store.Change) error {
			if ch.Kind == store.BindingCreated {
				n++
			}
			return nil
		})
		is.NoErr(err)
		is.Equal(rev, last)
		is.Equal(n, 1100)
	})
}

func TestRollbackLeavesNoGap(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s := e.open(t, sqlstore.Options{})
		before, err := s.Revision(ctx)
		is.NoErr(err)
		tx, err := s.DB().BeginTx(ctx, nil)
		is.NoErr(err)
		_, err = s.WithTx(tx).Create(ctx, newBinding(1, 1, 1))
		is.NoErr(err)
		is.NoErr(tx.Rollback())
		b, err := s.Create(ctx, newBinding(2, 1, 1))
		is.NoErr(err)
		changes, err := s.Changes(ctx, before, 10)
		is.NoErr(err)
		is.Equal(len(changes), 1)
		is.Equal(changes[0].Revision, before+1) // the revision of the rolled back write was handed out again
		is.Equal(changes[0].Binding, b)
		rev, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, before+1)
	})
}

func TestBindingPayloadIsWhatMarshalJSONWrites(t *testing.T) {
	is := is.New(t)
	at := rbac.StoreTime(time.Date(2024, 6, 1, 12, 0, 0, 123456789, time.UTC))
	for i, kind := range []store.ChangeKind{store.BindingCreated, store.BindingRoleChanged, store.BindingDeleted} {
		b := rbac.Binding{
			ID: "Um9sZUJpbmRpbmc6MTphQmNE", RoleID: roleID(i), UserID: userID(i),
			ResourceType: rbac.Project, ResourceID: "TW9kZWw6MTpGdmxM",
			CreatedAt: at, UpdatedAt: at.Add(time.Duration(i) * time.Second),
		}
		// A change at another time than the binding's, and one at its
		// creation (a create: the three timestamps are one instant,
		// which the encoding formats once).
		for _, chAt := range []time.Time{at.Add(time.Minute), at} {
			ch := store.Change{Kind: kind, At: chAt, Binding: b}
			got, ok := sqlstore.BindingPayload(ch)
			is.True(ok)
			want, err := ch.MarshalJSON()
			is.NoErr(err)
			is.Equal(got, string(want)) // byte for byte
			var back store.Change
			is.NoErr(json.Unmarshal([]byte(got), &back))
			is.Equal(back, ch) // and read back whole
		}
	}
	for _, ch := range []store.Change{
		{Kind: store.RoleCreated, Role: rbac.Role{ID: roleID(1), Name: "x", Permissions: []string{"PROJECT_READ"}}},
		{Kind: store.BindingCreated, Binding: rbac.Binding{ID: `a"b`}},
		{Kind: store.BindingCreated, Revision: 3},
	} {
		_, ok := sqlstore.BindingPayload(ch)
		is.True(!ok) // left to MarshalJSON
	}
}

// TestPayloadsRoundTrip checks the one stored form of every kind of
// change: what the store writes to the change log (the hand-written
// encoding for bindings, MarshalJSON for the rest) is what the log's
// reader decodes back, whole, with the revision left to the row.
func TestPayloadsRoundTrip(t *testing.T) {
	at := rbac.StoreTime(time.Date(2024, 6, 1, 12, 0, 0, 123456789, time.UTC))
	b := rbac.Binding{
		ID: "Um9sZUJpbmRpbmc6MTphQmNE", RoleID: roleID(1), UserID: userID(1),
		ResourceType: rbac.Space, ResourceID: spaceID(1), CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
	role := rbac.Role{
		ID: roleID(2), Name: `Auditor "read" ✓`, Description: "reads\nall",
		Permissions: []string{"PROJECT_READ", "SPACE_READ"}, CreatedAt: at, UpdatedAt: at,
	}
	odd := b
	odd.ID = `a"b\c` // a string JSON escapes: left to MarshalJSON
	for _, c := range []struct {
		name string
		ch   store.Change
	}{
		{"a binding created", store.Change{Kind: store.BindingCreated, At: at, Binding: b}},
		{"a binding's role changed", store.Change{Kind: store.BindingRoleChanged, At: at.Add(time.Minute), Binding: b}},
		{"a binding deleted", store.Change{Kind: store.BindingDeleted, At: at, Binding: b}},
		{"a binding with characters JSON escapes", store.Change{Kind: store.BindingCreated, At: at, Binding: odd}},
		{"a user's bindings deleted", store.Change{Kind: store.UserBindingsDeleted, At: at, Binding: rbac.Binding{UserID: userID(1)}}},
		{"a resource's bindings deleted", store.Change{Kind: store.ResourceBindingsDeleted, At: at, Binding: rbac.Binding{ResourceType: rbac.Space, ResourceID: spaceID(1)}}},
		{"a role created", store.Change{Kind: store.RoleCreated, At: at, Role: role}},
		{"a role updated", store.Change{Kind: store.RoleUpdated, At: at, Role: role}},
		{"a role deleted", store.Change{Kind: store.RoleDeleted, At: at, Role: role}},
		{"a project's space set", store.Change{Kind: store.ProjectSpaceSet, At: at, ProjectID: projectID(1), SpaceID: spaceID(1)}},
		{"a project restricted", store.Change{Kind: store.ProjectRestricted, At: at, ProjectID: projectID(1)}},
		{"a project unrestricted", store.Change{Kind: store.ProjectUnrestricted, At: at, ProjectID: projectID(1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			withRev := c.ch
			withRev.Revision = 42 // the row's column holds it, not the payload
			payloads, err := sqlstore.Payloads([]store.Change{withRev})
			is.NoErr(err)
			var back store.Change
			is.NoErr(json.Unmarshal([]byte(payloads[0]), &back))
			is.Equal(back, c.ch) // read back whole, revision 0
		})
	}
}

// BenchmarkChangePayload measures the two encoders of a binding change's
// stored form in one loop, a batch of 1,000 changes each in turn (see
// BenchmarkPaired): the store's (hand-written for binding changes) and
// MarshalJSON. The hand-written one is kept for as long as this shows it
// paying for itself; a batch create encodes one change per binding.
func BenchmarkChangePayload(b *testing.B) {
	at := rbac.StoreTime(time.Now())
	changes := make([]store.Change, 1000)
	for i := range changes {
		nb := newBinding(i, i%10, i%3)
		changes[i] = store.Change{Kind: store.BindingCreated, At: at, Binding: rbac.Binding{
			ID: userID(i), RoleID: nb.RoleID, UserID: nb.UserID, ResourceType: nb.ResourceType, ResourceID: nb.ResourceID,
			CreatedAt: at, UpdatedAt: at,
		}}
	}
	marshal := func() {
		out := make([]string, len(changes))
		for i, ch := range changes {
			data, err := ch.MarshalJSON()
			if err != nil {
				b.Fatal(err)
			}
			out[i] = string(data)
		}
	}
	stored := func() {
		if _, err := sqlstore.Payloads(changes); err != nil {
			b.Fatal(err)
		}
	}
	var storeTime, marshalTime time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		inTurn(i,
			func() { storeTime += timed(stored) },
			func() { marshalTime += timed(marshal) })
	}
	n := float64(b.N * len(changes))
	b.ReportMetric(float64(storeTime.Nanoseconds())/n, "store-ns/change")
	b.ReportMetric(float64(marshalTime.Nanoseconds())/n, "marshal-ns/change")
	b.ReportMetric(float64(marshalTime)/float64(storeTime), "marshal/store")
}
