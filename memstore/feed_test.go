package memstore_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// TestChangeRetention checks that the feed keeps the number of changes it
// was told to, and that a reader behind that window is told to load a
// snapshot, as a follower does.
func TestChangeRetention(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := newStore(memstore.Options{ChangeRetention: 10})
	for i := range 45 {
		_, err := s.Create(ctx, rbac.NewBinding{RoleID: roleID(0), UserID: userID(i), ResourceType: rbac.Space, ResourceID: spaceID(0)})
		is.NoErr(err) // create
	}
	rev, err := s.Revision(ctx)
	is.NoErr(err)
	is.Equal(rev, uint64(45)) // one revision per write
	_, err = s.Changes(ctx, 0, store.MaxChanges)
	var compacted *store.CompactedError
	is.True(errors.As(err, &compacted))       // the oldest changes are gone
	is.True(errors.Is(err, rbac.ErrNotFound)) // which is a kind of not found
	is.True(compacted.Oldest > 1 && compacted.Oldest <= rev-9)
	chs, err := s.Changes(ctx, rev-10, store.MaxChanges)
	is.NoErr(err)          // the last ten are kept
	is.Equal(len(chs), 10) // all of them
	is.Equal(chs[9].Revision, rev)

	// A checker that starts from revision 0 loads a snapshot instead.
	c, err := check.New(check.Options{})
	is.NoErr(err)
	got, err := c.CatchUp(ctx, s)
	is.NoErr(err)      // catch up through a snapshot
	is.Equal(got, rev) // to the store's revision
	for i := range 45 {
		ok, err := c.Check(userID(i), perm.ProjectRestrict, rbac.Space, spaceID(0))
		is.NoErr(err)
		is.True(ok) // every binding, with its role from the snapshot
	}

	all := newStore(memstore.Options{ChangeRetention: -1})
	for i := range 45 {
		_, err := all.Create(ctx, rbac.NewBinding{RoleID: roleID(0), UserID: userID(i), ResourceType: rbac.Space, ResourceID: spaceID(0)})
		is.NoErr(err)
	}
	chs, err = all.Changes(ctx, 0, store.MaxChanges)
	is.NoErr(err)          // a negative retention keeps everything
	is.Equal(len(chs), 45) // every change
}

// TestSubscribersInOrder checks what memstore promises beyond the
// contract: subscribers see every revision once, in order, with no gaps,
// one at a time, even while many goroutines write.
func TestSubscribersInOrder(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := newStore(memstore.Options{})
	var (
		mu      sync.Mutex
		revs    []uint64
		inside  int
		overlap bool
	)
	cancel := s.Subscribe(func(ch store.Change) {
		mu.Lock()
		inside++
		overlap = overlap || inside > 1
		mu.Unlock()
		time.Sleep(10 * time.Microsecond) // widen the window for an overlap
		mu.Lock()
		revs = append(revs, ch.Revision)
		inside--
		mu.Unlock()
	})
	defer cancel()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b, err := s.Create(ctx, rbac.NewBinding{RoleID: roleID(i % 3), UserID: userID(g*100 + i), ResourceType: rbac.Space, ResourceID: spaceID(g)})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				if i%3 == 0 {
					if err := s.Delete(ctx, b.ID); err != nil {
						t.Errorf("delete: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	rev, err := s.Revision(ctx)
	is.NoErr(err)
	mu.Lock()
	defer mu.Unlock()
	is.True(!overlap)             // one call at a time
	is.Equal(len(revs), int(rev)) // every revision
	for i, r := range revs {
		if r != uint64(i+1) {
			t.Fatalf("the subscriber saw revisions %v; want 1 to %d in order", revs, rev)
		}
	}
}

// TestPanickingSubscriber checks that a subscriber that panics does not
// leave the store stuck: the panic reaches the writer, and later writes
// still go through and reach the other subscribers.
func TestPanickingSubscriber(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := newStore(memstore.Options{})
	first := true
	cancel := s.Subscribe(func(store.Change) {
		if first {
			first = false
			panic("subscriber failed")
		}
	})
	defer cancel()
	var seen []uint64
	defer s.Subscribe(func(ch store.Change) { seen = append(seen, ch.Revision) })()
	func() {
		defer func() { is.Equal(recover(), "subscriber failed") }() // the panic reaches the writer
		_, _ = s.Create(ctx, rbac.NewBinding{RoleID: roleID(0), UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(0)})
	}()
	done := make(chan error, 1)
	go func() {
		_, err := s.Create(ctx, rbac.NewBinding{RoleID: roleID(0), UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(0)})
		done <- err
	}()
	select {
	case err := <-done:
		is.NoErr(err) // the next write goes through
	case <-time.After(5 * time.Second):
		t.Fatal("a write after a panicking subscriber did not return; want the store to go on")
	}
	is.Equal(seen, []uint64{2}) // the later subscriber missed the change whose call panicked before it, and sees the next
}

// TestCatalogueOption checks the defaults and the refusal of a bad
// catalogue.
func TestCatalogueOption(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	def := memstore.New(memstore.Options{})
	page, err := def.ListRoles(ctx, rbac.RoleQuery{})
	is.NoErr(err)
	is.Equal(len(page.Roles), len(perm.DefaultCatalogue(perm.DefaultVocabulary()))) // nil means the default catalogue
	is.Equal(page.Roles[0].ID, perm.AdminRoleID)                                    // in its order
	_, err = def.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
	is.NoErr(err) // its roles can be bound

	none := memstore.New(memstore.Options{Catalogue: []rbac.Role{}})
	page, err = none.ListRoles(ctx, rbac.RoleQuery{})
	is.NoErr(err)
	is.Equal(len(page.Roles), 0) // an empty catalogue means no predefined roles

	good := rbac.Role{ID: roleID(0), Name: "Viewer", Permissions: []string{"PROJECT_READ"}}
	for _, c := range []struct {
		name string
		cat  []rbac.Role
	}{
		{"a non-canonical ID", []rbac.Role{{ID: "Um9sZToxOlY0S2E", Name: "X", Permissions: []string{"PROJECT_READ"}}}},
		{"an ID of another type", []rbac.Role{{ID: userID(1), Name: "X", Permissions: []string{"PROJECT_READ"}}}},
		{"a repeated ID", []rbac.Role{good, {ID: roleID(0), Name: "Other", Permissions: []string{"PROJECT_READ"}}}},
		{"a repeated name", []rbac.Role{good, {ID: roleID(1), Name: "Viewer", Permissions: []string{"PROJECT_READ"}}}},
		{"no permission", []rbac.Role{{ID: roleID(1), Name: "X"}}},
		{"a permission outside the vocabulary", []rbac.Role{{ID: roleID(1), Name: "X", Permissions: []string{"NOPE"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("New with a catalogue with %s did not panic; want a panic, the catalogue being the program's configuration", c.name)
				}
			}()
			memstore.New(memstore.Options{Catalogue: c.cat})
		})
	}
}

// TestVocabularyOption checks that role permissions are checked against
// the vocabulary the store was given.
func TestVocabularyOption(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	v, err := perm.NewVocabulary([]string{"WIDGET_READ", "WIDGET_WRITE"})
	is.NoErr(err)
	s := memstore.New(memstore.Options{Vocabulary: v, Catalogue: perm.DefaultCatalogue(v)})
	r, err := s.CreateRole(ctx, rbac.NewRole{Name: "Widgets", Permissions: []string{"WIDGET_WRITE", "WIDGET_READ"}})
	is.NoErr(err)                                                    // the host's permissions
	is.Equal(r.Permissions, []string{"WIDGET_READ", "WIDGET_WRITE"}) // sorted
	_, err = s.CreateRole(ctx, rbac.NewRole{Name: "Projects", Permissions: []string{"PROJECT_READ"}})
	is.True(errors.Is(err, rbac.ErrInvalid)) // the default vocabulary's are not
	admin, err := s.GetRole(ctx, perm.AdminRoleID)
	is.NoErr(err)
	is.Equal(admin.Permissions, []string{"WIDGET_READ", "WIDGET_WRITE"}) // the catalogue over the host's vocabulary
}
