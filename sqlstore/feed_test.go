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
