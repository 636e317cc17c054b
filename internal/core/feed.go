// Package core holds what both stores share, so that they cannot drift
// apart.
package core

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rolebind/rbac/store"
)

// Subscribers is the subscriber list of a change feed: what
// [store.ChangeFeed.Subscribe] registers and each write notifies. The
// zero value is an empty list, ready to use; it is safe for concurrent
// use. In which order and from which goroutine writes notify is each
// store's own business (revision order across concurrent commits); the
// list only promises that a notification reaches the subscribers in the
// order they subscribed, and that a cancelled subscriber is called no
// more.
type Subscribers struct {
	// list is replaced whole (copy on write) under mu, so that Notify,
	// which is on every write's path, reads it with one atomic load and
	// without allocating.
	mu   sync.Mutex
	list atomic.Pointer[[]*subscriber]

	// calling is held for reading by every Notify under way, and for
	// writing by a cancel while it takes its subscriber off the list:
	// cancel so waits out the notifications that may call it, and every
	// later one reads the new list.
	calling sync.RWMutex
}

type subscriber struct {
	fn func(store.Change)
	// cancelled stops a Notify that is under way (one with many
	// changes, say) from calling fn again once cancel was called.
	cancelled atomic.Bool
}

// Subscribe adds fn at the end of the list. Cancel takes it off: once
// cancel returns, fn is not running and will not be called again. Cancel
// may be called more than once, and from any goroutine but one inside a
// call of a subscriber of this list, which it would wait for forever.
func (s *Subscribers) Subscribe(fn func(store.Change)) (cancel func()) {
	sub := &subscriber{fn: fn}
	s.mu.Lock()
	s.store(append(slices.Clone(s.load()), sub))
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			// Set first, so that a Notify under way lets go of the
			// calling lock without another call of fn.
			sub.cancelled.Store(true)
			s.calling.Lock()
			defer s.calling.Unlock()
			s.mu.Lock()
			defer s.mu.Unlock()
			s.store(slices.DeleteFunc(slices.Clone(s.load()), func(x *subscriber) bool { return x == sub }))
		})
	}
}

// Empty reports whether nobody is subscribed, so that a store can skip
// building changes that nobody would see.
func (s *Subscribers) Empty() bool { return len(s.load()) == 0 }

// Notify calls every subscriber with each change in turn, in the order
// they subscribed, from the caller's goroutine. A subscriber cancelled
// meanwhile is not called again, even for the rest of changes. A
// panicking subscriber leaves the list usable.
func (s *Subscribers) Notify(changes ...store.Change) {
	s.calling.RLock()
	defer s.calling.RUnlock()
	subs := s.load()
	for _, ch := range changes {
		for _, sub := range subs {
			if !sub.cancelled.Load() {
				sub.fn(ch)
			}
		}
	}
}

// load returns the current list, which the caller must not change.
func (s *Subscribers) load() []*subscriber {
	if p := s.list.Load(); p != nil {
		return *p
	}
	return nil
}

// store replaces the list. The caller holds mu.
func (s *Subscribers) store(list []*subscriber) { s.list.Store(&list) }
