package core_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

func change(rev uint64) store.Change {
	return store.Change{Revision: rev, Kind: store.ProjectRestricted}
}

// recorder collects the calls of named subscribers, in order.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) fn(name string) func(store.Change) {
	return func(ch store.Change) {
		r.mu.Lock()
		r.calls = append(r.calls, fmt.Sprintf("%s%d", name, ch.Revision))
		r.mu.Unlock()
	}
}

func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func TestSubscribersAreCalledInTheOrderTheySubscribed(t *testing.T) {
	is := is.New(t)
	var subs core.Subscribers
	is.True(subs.Empty()) // the zero value is an empty list
	subs.Notify(change(1))
	var rec recorder
	for _, name := range []string{"a", "b", "c"} {
		subs.Subscribe(rec.fn(name))
	}
	is.True(!subs.Empty())
	subs.Notify(change(2), change(3))
	is.Equal(rec.log(), []string{"a2", "b2", "c2", "a3", "b3", "c3"}) // each change to everyone, in order
}

func TestCancelledSubscriberIsNotCalledAgain(t *testing.T) {
	is := is.New(t)
	var subs core.Subscribers
	var rec recorder
	cancelA := subs.Subscribe(rec.fn("a"))
	cancelB := subs.Subscribe(rec.fn("b"))
	subs.Subscribe(rec.fn("c"))
	subs.Notify(change(1))
	cancelB()
	cancelB() // a second cancel changes nothing
	subs.Notify(change(2))
	subs.Subscribe(rec.fn("d"))
	cancelA()
	subs.Notify(change(3))
	is.Equal(rec.log(), []string{"a1", "b1", "c1", "a2", "c2", "c3", "d3"})
}

func TestEmptyOnceEveryoneCancelled(t *testing.T) {
	is := is.New(t)
	var subs core.Subscribers
	cancels := []func(){subs.Subscribe(func(store.Change) {}), subs.Subscribe(func(store.Change) {})}
	for _, cancel := range cancels {
		is.True(!subs.Empty())
		cancel()
	}
	is.True(subs.Empty()) // so a store skips building changes
}

// TestCancelDuringACall cancels a subscriber from another goroutine while
// a notification of two changes is calling the subscriber before it.
func TestCancelDuringACall(t *testing.T) {
	is := is.New(t)
	var subs core.Subscribers
	var rec recorder
	inA, releaseA := make(chan struct{}), make(chan struct{})
	subs.Subscribe(func(ch store.Change) {
		rec.fn("a")(ch)
		if ch.Revision == 1 {
			close(inA)
			<-releaseA
		}
	})
	cancelB := subs.Subscribe(rec.fn("b"))

	notified := make(chan struct{})
	go func() {
		defer close(notified)
		subs.Notify(change(1), change(2))
	}()
	<-inA
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		cancelB()
	}()
	// Cancel must wait for the notification, and marks b cancelled
	// before it does.
	for !core.CancelWaiting(&subs) {
		select {
		case <-cancelled:
			t.Fatal("cancel returned while a notification that may call the subscriber was under way")
		case <-time.After(time.Millisecond):
		}
	}
	close(releaseA)
	<-notified
	<-cancelled
	is.Equal(rec.log(), []string{"a1", "a2"}) // b, cancelled during a's call, was called for neither change

	subs.Notify(change(3))
	is.Equal(rec.log(), []string{"a1", "a2", "a3"}) // nor after
}

func TestPanickingSubscriberLeavesTheListUsable(t *testing.T) {
	is := is.New(t)
	var subs core.Subscribers
	cancel := subs.Subscribe(func(store.Change) { panic("subscriber failed") })
	func() {
		defer func() { is.Equal(recover(), "subscriber failed") }()
		subs.Notify(change(1))
	}()
	cancel() // does not wait forever for the notification that panicked
	var rec recorder
	subs.Subscribe(rec.fn("a"))
	subs.Notify(change(2))
	is.Equal(rec.log(), []string{"a2"})
}

// TestSubscribeAndCancelWhileNotifying is for the race detector: lists
// change while notifications read them, and a cancelled subscriber is
// never called once its cancel has returned.
func TestSubscribeAndCancelWhileNotifying(t *testing.T) {
	var subs core.Subscribers
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for rev := uint64(1); !stop.Load(); rev++ {
			subs.Notify(change(rev))
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				var gone atomic.Bool
				cancel := subs.Subscribe(func(store.Change) {
					if gone.Load() {
						t.Errorf("goroutine %d, subscriber %d: called after its cancel returned", g, i)
					}
				})
				cancel()
				gone.Store(true)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
}
