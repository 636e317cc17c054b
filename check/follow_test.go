package check_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// feed is a store.ChangeFeed kept by hand: a log of changes and the state
// they add up to, starting, as a new store does, with the default
// catalogue's roles and no changes. write commits a change as this process's store would
// (subscribers called); remote commits one as another process sharing the
// database would (only the log sees it).
type feed struct {
	mu       sync.Mutex
	log      []store.Change // log[i] has revision oldest+i+1
	oldest   uint64         // revisions up to oldest are compacted away
	bindings map[[2]string]rbac.Binding
	roles    map[string]rbac.Role
	links    map[string]string
	restrict map[string]bool

	subMu sync.Mutex
	subs  map[int]func(store.Change)
	next  int
}

var _ store.ChangeFeed = (*feed)(nil)

func newFeed() *feed {
	f := &feed{
		bindings: map[[2]string]rbac.Binding{},
		roles:    map[string]rbac.Role{},
		links:    map[string]string{},
		restrict: map[string]bool{},
		subs:     map[int]func(store.Change){},
	}
	for _, r := range perm.DefaultCatalogue(perm.DefaultVocabulary()) {
		r.Predefined = true
		f.roles[r.ID] = r
	}
	return f
}

func (f *feed) commit(ch store.Change) store.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch.Revision = f.oldest + uint64(len(f.log)) + 1
	f.log = append(f.log, ch)
	switch ch.Kind {
	case store.BindingCreated, store.BindingRoleChanged:
		f.bindings[[2]string{ch.Binding.UserID, ch.Binding.ResourceID}] = ch.Binding
	case store.BindingDeleted:
		delete(f.bindings, [2]string{ch.Binding.UserID, ch.Binding.ResourceID})
	case store.UserBindingsDeleted:
		for k := range f.bindings {
			if k[0] == ch.Binding.UserID {
				delete(f.bindings, k)
			}
		}
	case store.ResourceBindingsDeleted:
		for k := range f.bindings {
			if k[1] == ch.Binding.ResourceID {
				delete(f.bindings, k)
			}
		}
	case store.RoleCreated, store.RoleUpdated:
		f.roles[ch.Role.ID] = ch.Role
	case store.RoleDeleted:
		delete(f.roles, ch.Role.ID)
	case store.ProjectSpaceSet:
		f.links[ch.ProjectID] = ch.SpaceID
	case store.ProjectRestricted:
		f.restrict[ch.ProjectID] = true
	case store.ProjectUnrestricted:
		delete(f.restrict, ch.ProjectID)
	}
	return ch
}

// write commits ch and calls the subscribers, as a local write does.
func (f *feed) write(ch store.Change) uint64 {
	ch = f.commit(ch)
	f.subMu.Lock()
	subs := make([]func(store.Change), 0, len(f.subs))
	for _, fn := range f.subs {
		subs = append(subs, fn)
	}
	f.subMu.Unlock()
	for _, fn := range subs {
		fn(ch)
	}
	return ch.Revision
}

// remote commits ch as another process would: no subscriber hears of it.
func (f *feed) remote(ch store.Change) uint64 { return f.commit(ch).Revision }

// corrupt appends ch to the log without changing the state, as a feed
// whose store did not check a write would: the change is there to read,
// but describes nothing the store holds.
func (f *feed) corrupt(ch store.Change) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch.Revision = f.oldest + uint64(len(f.log)) + 1
	f.log = append(f.log, ch)
	return ch.Revision
}

func (f *feed) compact() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oldest += uint64(len(f.log))
	f.log = nil
}

func (f *feed) Revision(ctx context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oldest + uint64(len(f.log)), nil
}

func (f *feed) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after < f.oldest {
		return nil, &store.CompactedError{After: after, Oldest: f.oldest + 1}
	}
	if after >= f.oldest+uint64(len(f.log)) {
		// Nothing after it is committed (yet, or any more, after a
		// restore).
		return []store.Change{}, nil
	}
	rest := f.log[after-f.oldest:]
	return slices.Clone(rest[:min(limit, len(rest))]), nil
}

func (f *feed) Snapshot(ctx context.Context, fn func(store.Change) error) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []store.Change
	for _, r := range f.roles {
		all = append(all, store.Change{Kind: store.RoleCreated, Role: r})
	}
	for p, s := range f.links {
		all = append(all, store.Change{Kind: store.ProjectSpaceSet, ProjectID: p, SpaceID: s})
	}
	for p := range f.restrict {
		all = append(all, store.Change{Kind: store.ProjectRestricted, ProjectID: p})
	}
	for _, b := range f.bindings {
		all = append(all, store.Change{Kind: store.BindingCreated, Binding: b})
	}
	for _, ch := range all {
		if err := fn(ch); err != nil {
			return 0, err
		}
	}
	return f.oldest + uint64(len(f.log)), nil
}

func (f *feed) Subscribe(fn func(store.Change)) func() {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	id := f.next
	f.next++
	f.subs[id] = fn
	return func() {
		f.subMu.Lock()
		defer f.subMu.Unlock()
		delete(f.subs, id)
	}
}

func created(user, role string, rt rbac.ResourceType, res string, n int) store.Change {
	return store.Change{Kind: store.BindingCreated, Binding: rbac.Binding{ID: bindID(n), RoleID: role, UserID: user, ResourceType: rt, ResourceID: res}}
}

func follow(t *testing.T, f *feed, interval time.Duration) (*check.Checker, *check.Follower) {
	t.Helper()
	c, err := check.New(check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fl, err := check.Follow(t.Context(), c, f, check.FollowOptions{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	return c, fl
}

func allowed(t *testing.T, c *check.Checker, user, perm string, rt rbac.ResourceType, res string) bool {
	t.Helper()
	ok, err := c.Check(user, perm, rt, res)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestFollowLoadsTheSnapshot(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	f.remote(store.Change{Kind: store.ProjectSpaceSet, ProjectID: p1, SpaceID: s1})
	f.remote(created(alice, perm.ReadOnlyRoleID, rbac.Space, s1, 1))
	c, _ := follow(t, f, time.Hour)
	is.Equal(c.Revision(), uint64(2))
	is.True(allowed(t, c, alice, "PROJECT_READ", rbac.Project, p1)) // state as of the snapshot
}

func TestReadYourWritesWithoutPolling(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, _ := follow(t, f, time.Hour) // no poll will happen during the test
	f.write(store.Change{Kind: store.ProjectSpaceSet, ProjectID: p1, SpaceID: s1})
	rev := f.write(created(alice, perm.MemberRoleID, rbac.Space, s1, 1))
	is.Equal(c.Revision(), rev)                                     // applied before the write returned
	is.True(allowed(t, c, alice, "PROJECT_READ", rbac.Project, p1)) // visible at once
	f.write(store.Change{Kind: store.ProjectRestricted, ProjectID: p1})
	is.True(!allowed(t, c, alice, "PROJECT_READ", rbac.Project, p1)) // and so is the restriction
}

func TestAnotherProcessWriteFillsTheGap(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, _ := follow(t, f, time.Hour)
	f.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))  // revision 1, elsewhere
	f.write(created(alice, perm.AdminRoleID, rbac.Space, s2, 2)) // revision 2, here: a gap
	is.Equal(c.Revision(), uint64(2))
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))   // the gap was read from the feed
	is.True(allowed(t, c, alice, "SPACE_READ", rbac.Space, s2)) // then the local write applied
}

func TestAnotherProcessWriteArrivesByPolling(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, _ := follow(t, f, 5*time.Millisecond)
	rev := f.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	is.NoErr(c.WaitFor(ctx, rev)) // the poll brings it within the interval
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))
}

func TestSyncReadsTheFeedAtOnce(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, fl := follow(t, f, time.Hour)
	rev := f.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))
	is.True(!allowed(t, c, bob, "SPACE_READ", rbac.Space, s1)) // not polled yet
	is.NoErr(fl.Sync(t.Context(), rev))                        // at least as fresh as rev
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := fl.Sync(ctx, rev+5) // a revision nobody has written yet
	is.True(errors.Is(err, context.DeadlineExceeded))
}

func TestCompactedFeedReloadsTheSnapshot(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, _ := follow(t, f, time.Hour)
	f.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))
	f.remote(created(alice, perm.AdminRoleID, rbac.Space, s2, 2))
	f.compact()
	rev, err := c.CatchUp(t.Context(), f)
	is.NoErr(err)
	is.Equal(rev, uint64(2))
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))
	is.True(allowed(t, c, alice, "SPACE_READ", rbac.Space, s2))
}

func TestApplyOrder(t *testing.T) {
	is := is.New(t)
	c, err := check.New(check.Options{})
	is.NoErr(err)
	ch := created(alice, perm.AdminRoleID, rbac.Space, s1, 1)
	ch.Revision = 2
	is.True(errors.Is(c.Apply(ch), check.ErrGap)) // revision 1 is missing
	is.Equal(c.Revision(), uint64(0))             // nothing applied
	ch.Revision = 0
	is.True(c.Apply(ch) != nil) // snapshot changes go through Load
	ch.Revision = 1
	is.NoErr(c.Apply(ch))
	is.NoErr(c.Apply(ch)) // applying it again is a no-op
	is.Equal(check.BindingCount(c), 1)
	is.Equal(c.Revision(), uint64(1))
}

// TestChecksDuringApplies runs checks on several goroutines while changes
// are applied, for the race detector, and checks that a binding no change
// touches answers the same throughout.
func TestChecksDuringApplies(t *testing.T) {
	w := newWorld(t, check.Options{})
	w.link(p1, s1)
	w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1)
	var stop atomic.Bool
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ok, err := w.c.Check(alice, "PROJECT_READ", rbac.Project, p1)
				if err != nil || !ok {
					wrong.Add(1)
				}
				u := userID(1000 + (g*7+i)%50)
				if _, err := w.c.Check(u, "SPACE_READ", rbac.Space, s1); err != nil {
					wrong.Add(1)
				}
				if _, err := w.c.Explain(u, "PROJECT_READ", rbac.Project, p1); err != nil {
					wrong.Add(1)
				}
				if _, err := w.c.WhoCan("SPACE_READ", rbac.Space, s1, "", 10); err != nil {
					wrong.Add(1)
				}
			}
		}()
	}
	for i := range 2000 {
		u := userID(1000 + i%50)
		switch i % 4 {
		case 0, 1:
			w.bind(u, perm.MemberRoleID, rbac.Space, s1)
		case 2:
			w.link(projectID(10+i%7), spaceID(1+i%3))
		default:
			if _, ok := w.bindings[[2]string{userID(1000 + (i-3)%50), s1}]; ok {
				w.unbind(userID(1000+(i-3)%50), s1)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Fatalf("%d checks went wrong while changes were applied", n)
	}
}

// flakyFeed is a feed whose Changes can be made to fail, as a database
// that went away would.
type flakyFeed struct {
	*feed
	down atomic.Bool
}

func (f *flakyFeed) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if f.down.Load() {
		return nil, errors.New("database down")
	}
	return f.feed.Changes(ctx, after, limit)
}

func TestFollowerReportsAndRecoversFromFeedErrors(t *testing.T) {
	is := is.New(t)
	inner := newFeed()
	f := &flakyFeed{feed: inner}
	c, err := check.New(check.Options{})
	is.NoErr(err)
	var reported atomic.Int64
	fl, err := check.Follow(t.Context(), c, f, check.FollowOptions{Interval: 5 * time.Millisecond, OnError: func(error) { reported.Add(1) }})
	is.NoErr(err)
	defer fl.Close()

	f.down.Store(true)
	inner.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))
	rev := inner.write(created(alice, perm.AdminRoleID, rbac.Space, s2, 2)) // a gap it cannot fill
	is.True(c.Revision() < rev)                                             // not applied out of order
	is.True(fl.Err() != nil)                                                // the failure is reported
	is.True(reported.Load() > 0)

	f.down.Store(false)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	is.NoErr(c.WaitFor(ctx, rev)) // the next poll catches up
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))
	is.True(allowed(t, c, alice, "SPACE_READ", rbac.Space, s2))
}

// TestFollowerPassesOverARefusedChange: a change the index refuses (issue
// 8's SPACE binding on a Model ID) is reported through OnError, Err, the
// log and Status, and the follower goes on with the writes after it.
func TestFollowerPassesOverARefusedChange(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	c, err := check.New(check.Options{})
	is.NoErr(err)
	var logged syncLog
	var reported atomic.Int64
	fl, err := check.Follow(t.Context(), c, f, check.FollowOptions{
		Interval: time.Hour,
		OnError:  func(error) { reported.Add(1) },
		Logger:   slog.New(slog.NewTextHandler(&logged, nil)),
	})
	is.NoErr(err)
	defer fl.Close()

	bad := created(alice, perm.AdminRoleID, rbac.Space, p1, 1) // a Model ID on a SPACE binding
	badRev := f.corrupt(bad)
	rev := f.write(created(bob, perm.AdminRoleID, rbac.Space, s1, 2)) // fills the gap, passing over the bad one
	is.Equal(c.Revision(), rev)                                       // the follower went on
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))         // with the write after it
	is.True(!allowed(t, c, alice, "PROJECT_READ", rbac.Project, p1))  // and nothing of the bad one
	is.True(errors.Is(fl.Err(), rbac.ErrInvalid))                     // reported as invalid
	is.Equal(reported.Load(), int64(1))                               // through OnError, once
	st := fl.Status()
	is.Equal(st.Refused, 1)                                  // counted
	is.True(errors.Is(st.LastError, rbac.ErrInvalid))        // and in the status
	is.True(strings.Contains(logged.String(), "level=WARN")) // logged as a warning
	is.True(strings.Contains(logged.String(), "revision "+strconv.FormatUint(badRev, 10)+" refused"))

	f.write(created(alice, perm.ReadOnlyRoleID, rbac.Space, s2, 3))
	is.NoErr(fl.Err()) // the next step succeeded
}

// TestFollowerStatus: Status says which revision checks answer from, how
// far behind the store that is, when the follower last polled, and its
// last error; the log says when it loads a snapshot.
func TestFollowerStatus(t *testing.T) {
	is := is.New(t)
	inner := newFeed()
	f := &flakyFeed{feed: inner}
	inner.remote(created(bob, perm.AdminRoleID, rbac.Space, s1, 1))
	c, err := check.New(check.Options{})
	is.NoErr(err)
	var logged syncLog
	fl, err := check.Follow(t.Context(), c, f, check.FollowOptions{
		Interval: 5 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(&logged, nil)),
	})
	is.NoErr(err)
	defer fl.Close()
	st := fl.Status()
	is.Equal(st.Revision, uint64(1))      // the snapshot's
	is.Equal(st.StoreRevision, uint64(1)) // the store's, as the snapshot read it
	is.Equal(st.Lag, uint64(0))           // nothing missing
	is.NoErr(st.LastError)

	f.down.Store(true) // the changes cannot be read: the follower falls behind
	rev := inner.remote(created(alice, perm.AdminRoleID, rbac.Space, s2, 2))
	waitFor(t, func() bool { return fl.Status().StoreRevision == rev && fl.Status().LastError != nil })
	st = fl.Status()
	is.Equal(st.Revision, uint64(1)) // stuck
	is.Equal(st.Lag, uint64(1))      // one write behind the store
	is.True(!st.LastPoll.IsZero())   // as of the last poll
	is.Equal(st.LastError, fl.Err()) // which failed, saying why

	f.down.Store(false)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	is.NoErr(c.WaitFor(ctx, rev))
	waitFor(t, func() bool { return fl.Status().LastError == nil })
	st = fl.Status()
	is.Equal(st.Lag, uint64(0)) // caught up
	is.Equal(st.Revision, rev)
	is.True(strings.Contains(logged.String(), "loaded a snapshot")) // the first load is logged
	is.True(strings.Contains(logged.String(), "level=ERROR"))       // and so is the failing poll
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within five seconds")
		}
	}
}

// syncLog is a log the follower's goroutine writes while the test reads.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
