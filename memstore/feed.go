package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// DefaultChangeRetention is how many changes a Store's feed keeps when
// [Options].ChangeRetention is 0. A follower in the same process is
// called synchronously on every write and never reads old changes; the
// log is there for followers that catch up after an error, and a reader
// that falls further behind loads a snapshot (see [store.CompactedError]).
// Keeping every change would make the store's memory grow with every
// write ever made, not with what it holds.
const DefaultChangeRetention = store.DefaultChangeRetention

// changeRec is one change of the log, kept compact: the strings are
// shared with the rest of the store, and a role is a pointer to a role
// value that is never changed once made.
type changeRec struct {
	kind store.ChangeKind
	rt   rtIndex
	at   int64
	// Binding kinds: the binding's fields. Project kinds: res is the
	// project and user the space.
	id, role, user, res string
	created, updated    int64
	r                   *rbac.Role
}

// bindingChange returns the record of a binding change.
func (s *Store) bindingChange(kind store.ChangeKind, r *record, at int64) changeRec {
	return changeRec{
		kind: kind, rt: r.rt, at: at,
		id: r.id, role: s.byRole.keys[r.role].id, user: s.byUser.keys[r.user].id, res: s.byResource.keys[r.res].id,
		created: r.created, updated: r.updated,
	}
}

// change returns the store.Change that c records, with revision rev.
func (c *changeRec) change(rev uint64) store.Change {
	ch := store.Change{Revision: rev, Kind: c.kind, At: fromMicros(c.at)}
	switch c.kind {
	case store.BindingCreated, store.BindingRoleChanged, store.BindingDeleted:
		ch.Binding = rbac.Binding{
			ID: c.id, RoleID: c.role, UserID: c.user, ResourceType: rtNames[c.rt], ResourceID: c.res,
			CreatedAt: fromMicros(c.created), UpdatedAt: fromMicros(c.updated),
		}
	case store.UserBindingsDeleted:
		ch.Binding.UserID = c.user
	case store.ResourceBindingsDeleted:
		ch.Binding.ResourceType, ch.Binding.ResourceID = rtNames[c.rt], c.res
	case store.RoleCreated, store.RoleUpdated, store.RoleDeleted:
		ch.Role = copyRole(c.r)
	case store.ProjectSpaceSet:
		ch.ProjectID, ch.SpaceID = c.res, c.user
	case store.ProjectRestricted, store.ProjectUnrestricted:
		ch.ProjectID = c.res
	}
	return ch
}

// feed is the change log and the subscribers. The log and rev are guarded
// by the Store's mu; the rest has locks of its own.
type feed struct {
	retention int
	rev       uint64 // revision of the last write
	oldest    uint64 // revisions up to oldest are no longer in log
	log       []changeRec

	subs core.Subscribers

	// Subscribers are called in revision order, outside mu: a write takes
	// its revision under mu, lets go of mu, then waits until every
	// earlier revision has been handed to the subscribers (notified).
	// Waiting outside mu is what lets a subscriber call Changes while
	// other writers queue up behind it.
	notifyMu   sync.Mutex
	notifyCond *sync.Cond
	notified   uint64
}

func (f *feed) init(retention int) {
	f.retention = retention
	f.notifyCond = sync.NewCond(&f.notifyMu)
}

// record appends a change to the log and returns its revision. The caller
// holds mu for writing and calls s.publish after letting go of it.
func (s *Store) record(c changeRec) uint64 {
	f := &s.feed
	f.rev++
	f.log = append(f.log, c)
	if f.retention > 0 && len(f.log) >= 2*f.retention {
		// Drop the oldest half in one copy, so that each change is
		// copied about once however long the store lives.
		drop := len(f.log) - f.retention
		f.oldest += uint64(drop)
		f.log = append(make([]changeRec, 0, 2*f.retention), f.log[drop:]...)
	}
	return f.rev
}

// publish hands the change of revision rev to the subscribers, in
// revision order. The caller holds no lock of the store.
func (s *Store) publish(rev uint64, c *changeRec) {
	f := &s.feed
	f.notifyMu.Lock()
	for f.notified != rev-1 {
		f.notifyCond.Wait()
	}
	f.notifyMu.Unlock()
	// Every later write waits for notified to reach rev, so this one
	// has the subscribers to itself without holding a lock. A panicking
	// subscriber still lets the writes behind this one through.
	defer func() {
		f.notifyMu.Lock()
		f.notified = rev
		f.notifyCond.Broadcast()
		f.notifyMu.Unlock()
	}()
	if !f.subs.Empty() {
		f.subs.Notify(c.change(rev))
	}
}

// Revision returns the revision of the last write; see
// [store.ChangeFeed.Revision].
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	if err := done(ctx); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.feed.rev, nil
}

// Changes returns the changes after a revision; see
// [store.ChangeFeed.Changes].
func (s *Store) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if limit < 1 || limit > store.MaxChanges {
		return nil, rbac.Invalid("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d", store.MaxChanges))
	}
	if err := done(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f := &s.feed
	if after < f.oldest {
		return nil, &store.CompactedError{After: after, Oldest: f.oldest + 1}
	}
	if after >= f.rev {
		return []store.Change{}, nil
	}
	from := after - f.oldest
	n := min(uint64(limit), f.rev-after)
	out := make([]store.Change, n)
	for i := range out {
		out[i] = f.log[from+uint64(i)].change(after + uint64(i) + 1)
	}
	return out, nil
}

// Snapshot reads the whole state; see [store.ChangeFeed.Snapshot]. It
// holds the read lock while it calls fn, so fn must not call the store.
func (s *Store) Snapshot(ctx context.Context, fn func(store.Change) error) (uint64, error) {
	if err := done(ctx); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	at := fromMicros(s.stamp())
	for it := s.roles.order.after(0); ; it.next() {
		e, ok := it.peek()
		if !ok {
			break
		}
		if err := fn(store.Change{Kind: store.RoleCreated, At: at, Role: copyRole(s.roles.slots.items[e.slot].role)}); err != nil {
			return 0, err
		}
	}
	projects := make([]string, 0, len(s.projects.links))
	for p := range s.projects.links {
		projects = append(projects, p)
	}
	slices.SortFunc(projects, strings.Compare)
	for _, p := range projects {
		if err := fn(store.Change{Kind: store.ProjectSpaceSet, At: at, ProjectID: p, SpaceID: s.projects.links[p]}); err != nil {
			return 0, err
		}
	}
	for it := s.projects.order.after(0); ; it.next() {
		e, ok := it.peek()
		if !ok {
			break
		}
		if err := fn(store.Change{Kind: store.ProjectRestricted, At: at, ProjectID: s.projects.slots.items[e.slot].project}); err != nil {
			return 0, err
		}
	}
	m := merged{a: s.byType[0].after(0), b: s.byType[1].after(0)}
	for {
		e, ok := m.peek()
		if !ok {
			break
		}
		m.next()
		if err := fn(store.Change{Kind: store.BindingCreated, At: at, Binding: s.binding(s.bindings.at(e.slot))}); err != nil {
			return 0, err
		}
	}
	return s.feed.rev, nil
}

// Subscribe registers fn; see [store.ChangeFeed.Subscribe]. A Store calls
// subscribers in revision order, with no gaps, one change at a time, from
// the goroutine of the write, after the write's locks are released, so fn
// may call Changes, Revision and the read methods, but not the write
// methods nor cancel (cancel waits for the calls under way, fn's own
// among them).
func (s *Store) Subscribe(fn func(store.Change)) (cancel func()) {
	return s.feed.subs.Subscribe(fn)
}
