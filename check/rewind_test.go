package check_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// feedBackup is a copy of a feed's whole state: what a backup of the
// database behind it holds.
type feedBackup struct {
	log      []store.Change
	oldest   uint64
	bindings map[[2]string]rbac.Binding
	roles    map[string]rbac.Role
	links    map[string]string
	restrict map[string]bool
}

func (f *feed) backup() feedBackup {
	f.mu.Lock()
	defer f.mu.Unlock()
	return feedBackup{slices.Clone(f.log), f.oldest, maps.Clone(f.bindings), maps.Clone(f.roles), maps.Clone(f.links), maps.Clone(f.restrict)}
}

// restore puts the feed back to b, as restoring the database from a
// backup does: the writes made since are gone, and their revisions will
// be handed out again.
func (f *feed) restore(b feedBackup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log, f.oldest = slices.Clone(b.log), b.oldest
	f.bindings, f.roles, f.links, f.restrict = maps.Clone(b.bindings), maps.Clone(b.roles), maps.Clone(b.links), maps.Clone(b.restrict)
}

// rewindFollower follows f with a logger and OnError that tests read.
type rewindFollower struct {
	c        *check.Checker
	fl       *check.Follower
	logged   *syncLog
	reported atomic.Int64
	rewound  atomic.Int64 // reports matching ErrRewound
}

func followRewinds(t *testing.T, f store.ChangeFeed, interval time.Duration) *rewindFollower {
	t.Helper()
	c, err := check.New(check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rewindFollower{c: c, logged: &syncLog{}}
	r.fl, err = check.Follow(t.Context(), c, f, check.FollowOptions{
		Interval: interval,
		Logger:   slog.New(slog.NewTextHandler(r.logged, nil)),
		OnError: func(err error) {
			r.reported.Add(1)
			if errors.Is(err, check.ErrRewound) {
				r.rewound.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.fl.Close)
	return r
}

// assertReloadedForRewind checks that the follower told of one rewind
// everywhere it tells things: Status, Err, OnError and the log.
func (r *rewindFollower) assertReloadedForRewind(t *testing.T) {
	t.Helper()
	is := is.NewRelaxed(t)
	st := r.fl.Status()
	is.Equal(st.Rewinds, 1)                                                                   // one rewind found
	is.Equal(st.Reloads, 1)                                                                   // one snapshot loaded for it
	is.True(!st.LastReload.IsZero())                                                          // when
	is.True(strings.Contains(st.LastReloadReason, "went back"))                               // and why
	is.True(errors.Is(st.LastError, check.ErrRewound))                                        // the step's error says so
	is.Equal(r.rewound.Load(), int64(1))                                                      // OnError heard of it once
	is.True(strings.Contains(r.logged.String(), `level=WARN msg="check: loaded a snapshot"`)) // logged
	is.Equal(st.Lag, uint64(0))                                                               // the head is the restored store's
}

// TestPollFindsARestoredStore: the store goes back to a backup taken
// before an administrator was revoked, with no write after the restore.
// The store's head is now below the follower's revision, and the next
// poll reloads: the administrator is allowed again, as the store says,
// and the follower answers like a new checker.
func TestPollFindsARestoredStore(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	f.write(created(alice, perm.AdminRoleID, rbac.Space, s1, 1))
	b := f.backup()
	f.write(store.Change{Kind: store.BindingDeleted, Binding: rbac.Binding{ID: bindID(1), RoleID: perm.AdminRoleID, UserID: alice, ResourceType: rbac.Space, ResourceID: s1}})
	f.write(created(bob, perm.AdminRoleID, rbac.Space, s2, 2))
	r := followRewinds(t, f, 5*time.Millisecond)
	is.Equal(r.c.Revision(), uint64(3))

	f.restore(b)
	waitFor(t, func() bool { return r.rewound.Load() > 0 })       // reported, once the step is over
	is.Equal(r.c.Revision(), uint64(1))                           // the store's revision
	is.True(allowed(t, r.c, alice, "SPACE_READ", rbac.Space, s1)) // as the store says
	is.True(!allowed(t, r.c, bob, "SPACE_READ", rbac.Space, s2))  // the lost grant is gone
	r.assertReloadedForRewind(t)
}

// TestLocalWriteAfterRestoreIsReadBack: after a restore, this process's
// own next write gets a revision the follower has applied. It used to be
// ignored as already applied, so the writer could not read its write
// back; now the follower finds the rewind and reloads before the write
// returns. No poll runs. Whether the follower applied the lost writes
// itself (it compares the write with the one it remembers at that
// revision) or loaded them in its snapshot (it remembers only the
// snapshot's revision, and finds the store below it), it is found.
func TestLocalWriteAfterRestoreIsReadBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // follow before the lost writes, rather than after
	}{
		{"lost writes applied from the subscription", true},
		{"lost writes loaded in the snapshot", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f := newFeed()
			var r *rewindFollower
			if tc.before {
				r = followRewinds(t, f, time.Hour)
			}
			f.write(created(alice, perm.AdminRoleID, rbac.Space, s1, 1))
			b := f.backup()
			f.write(created(bob, perm.AdminRoleID, rbac.Space, s2, 2))
			f.write(created(bob, perm.AdminRoleID, rbac.Space, s1, 3))
			if !tc.before {
				r = followRewinds(t, f, time.Hour)
			}
			is.Equal(r.c.Revision(), uint64(3))

			f.restore(b)
			rev := f.write(created(userID(3), perm.ReadOnlyRoleID, rbac.Space, s2, 4)) // revision 2 again
			is.Equal(rev, uint64(2))
			is.Equal(r.c.Revision(), rev)                                     // the write is applied
			is.True(allowed(t, r.c, userID(3), "SPACE_READ", rbac.Space, s2)) // read your writes
			is.True(!allowed(t, r.c, bob, "SPACE_READ", rbac.Space, s2))      // the lost writes are gone
			is.True(!allowed(t, r.c, bob, "SPACE_READ", rbac.Space, s1))      // all of them
			r.assertReloadedForRewind(t)

			f.write(created(bob, perm.ReadOnlyRoleID, rbac.Space, s1, 5))
			is.NoErr(r.fl.Err()) // the next step succeeds
			is.Equal(r.fl.Status().Rewinds, 1)
		})
	}
}

// TestRestoreOvertakenByOtherWritesIsFound: after the restore, other
// processes write past the follower's revision before it polls. The head
// is no longer below the follower's revision, but the change at that
// revision is not the one it applied.
func TestRestoreOvertakenByOtherWritesIsFound(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	b := f.backup()
	f.write(created(alice, perm.AdminRoleID, rbac.Space, s1, 1))
	f.write(created(alice, perm.AdminRoleID, rbac.Space, s2, 2))
	r := followRewinds(t, f, time.Hour) // the test polls by hand, through CatchUp
	f.restore(b)
	f.remote(created(bob, perm.ReadOnlyRoleID, rbac.Space, s1, 3))
	f.remote(created(bob, perm.ReadOnlyRoleID, rbac.Space, s2, 4))
	f.remote(created(userID(3), perm.ReadOnlyRoleID, rbac.Space, s2, 5))

	rev, err := r.c.CatchUp(t.Context(), f)
	is.True(errors.Is(err, check.ErrRewound)) // CatchUp says what it found
	is.Equal(rev, uint64(3))
	is.True(!allowed(t, r.c, alice, "SPACE_READ", rbac.Space, s1)) // the lost grants are gone
	is.True(allowed(t, r.c, bob, "SPACE_READ", rbac.Space, s2))    // the store's writes are in
	rev, err = r.c.CatchUp(t.Context(), f)
	is.NoErr(err) // once
	is.Equal(rev, uint64(3))
}

// TestRestoreHiddenBehindLocalWritesIsFound: the poll has compared the
// follower's revision with the store; then this process writes twice,
// the store goes back to before those writes, other processes write as
// many, and this process writes once more, which follows on at once.
// Only reading back the writes applied from the subscription, as the
// poll does, shows that two of them are not in the store.
func TestRestoreHiddenBehindLocalWritesIsFound(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	f.write(created(alice, perm.ReadOnlyRoleID, rbac.Space, s1, 1))
	c, _ := follow(t, f, time.Hour) // the test polls by hand, through CatchUp
	_, err := c.CatchUp(t.Context(), f)
	is.NoErr(err)
	b := f.backup()
	f.write(created(bob, perm.AdminRoleID, rbac.Space, s1, 2)) // lost
	f.write(created(bob, perm.AdminRoleID, rbac.Space, s2, 3)) // lost
	f.restore(b)
	f.remote(created(userID(3), perm.ReadOnlyRoleID, rbac.Space, s1, 4))
	f.remote(created(userID(3), perm.ReadOnlyRoleID, rbac.Space, s2, 5))
	rev := f.write(created(userID(4), perm.ReadOnlyRoleID, rbac.Space, s2, 6)) // follows on
	is.Equal(c.Revision(), rev)
	is.True(allowed(t, c, bob, "SPACE_READ", rbac.Space, s1)) // stale until the read-back

	_, err = c.CatchUp(t.Context(), f)
	is.True(errors.Is(err, check.ErrRewound))
	is.True(!allowed(t, c, bob, "SPACE_READ", rbac.Space, s1))
	is.True(allowed(t, c, userID(3), "SPACE_READ", rbac.Space, s1))
	is.True(allowed(t, c, userID(4), "SPACE_READ", rbac.Space, s2))
	is.Equal(c.Revision(), rev)
}

// TestApplyRefusesAnotherHistory: a host that numbers its own changes
// and goes back is told so by Apply, which then applies nothing more
// until a snapshot is loaded.
func TestApplyRefusesAnotherHistory(t *testing.T) {
	is := is.New(t)
	w := newWorld(t, check.Options{})
	w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
	w.bind(bob, perm.AdminRoleID, rbac.Space, s1)
	other := created(userID(3), perm.AdminRoleID, rbac.Space, s2, 9)
	other.Revision = 2
	err := w.c.Apply(other)
	is.True(errors.Is(err, check.ErrRewound)) // revision 2 held bob's binding
	next := created(userID(4), perm.AdminRoleID, rbac.Space, s2, 10)
	next.Revision = 3
	is.True(errors.Is(w.c.Apply(next), check.ErrRewound)) // nothing more on top
	is.Equal(w.c.Revision(), uint64(2))
	is.True(!allowed(t, w.c, userID(4), "SPACE_READ", rbac.Space, s2))

	same := created(alice, perm.AdminRoleID, rbac.Space, s1, 1)
	same.Revision = 1
	is.NoErr(w.c.Load(t.Context(), newFeed())) // a snapshot starts afresh
	is.NoErr(w.c.Apply(same))
	is.NoErr(w.c.Apply(same)) // the same change twice is no rewind
}

// emptyChanges is a feed whose change log reads empty whatever its
// snapshot says: a broken feed, which a checker must not take for a
// store gone back again after every reload.
type emptyChanges struct{ *feed }

func (emptyChanges) Changes(context.Context, uint64, int) ([]store.Change, error) {
	return []store.Change{}, nil
}

func TestCatchUpGivesUpOnAFeedThatContradictsItsSnapshot(t *testing.T) {
	is := is.New(t)
	f := newFeed()
	f.write(created(alice, perm.AdminRoleID, rbac.Space, s1, 1))
	c, err := check.New(check.Options{})
	is.NoErr(err)
	is.NoErr(c.Load(t.Context(), f))
	_, err = c.CatchUp(t.Context(), emptyChanges{f})
	is.True(err != nil) // an error, not a loop
	is.True(strings.Contains(err.Error(), "still disagrees"))
}
