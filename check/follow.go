package check

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rolebind/rbac/store"
)

// Load replaces the index with a snapshot of the store behind feed: the
// catalogue's roles, then every change [store.ChangeFeed.Snapshot] emits.
// The new index is built aside and swapped in whole, so checks keep
// answering from the old one meanwhile and never see a half-built state.
func (c *Checker) Load(ctx context.Context, feed store.ChangeFeed) error {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.loadLocked(ctx, feed)
}

func (c *Checker) loadLocked(ctx context.Context, feed store.ChangeFeed) error {
	ix := c.freshIndex()
	rev, err := feed.Snapshot(ctx, func(ch store.Change) error { return ix.apply(c.vocab, ch) })
	if err != nil {
		return fmt.Errorf("check: load snapshot: %w", err)
	}
	ix.rev = rev
	c.ix.Store(ix)
	c.notify()
	return nil
}

// CatchUp applies every change the feed holds after the index's revision,
// in order, and returns the revision reached. When the feed no longer
// holds the changes it needs (a [*store.CompactedError]), it loads a
// snapshot instead and continues from there.
func (c *Checker) CatchUp(ctx context.Context, feed store.ChangeFeed) (uint64, error) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.catchUpLocked(ctx, feed)
}

func (c *Checker) catchUpLocked(ctx context.Context, feed store.ChangeFeed) (uint64, error) {
	for {
		rev := c.Revision()
		changes, err := feed.Changes(ctx, rev, store.MaxChanges)
		var compacted *store.CompactedError
		switch {
		case errors.As(err, &compacted):
			if err := c.loadLocked(ctx, feed); err != nil {
				return rev, err
			}
			continue
		case err != nil:
			return rev, fmt.Errorf("check: read changes after %d: %w", rev, err)
		}
		for _, ch := range changes {
			if err := c.applyLocked(ch); err != nil {
				return c.Revision(), err
			}
		}
		if len(changes) < store.MaxChanges {
			return c.Revision(), nil
		}
	}
}

// WaitFor blocks until the index has applied revision rev, or ctx is done
// (its error is returned, wrapped). It does not fetch anything itself: a
// [Follower] does; see [Follower.Sync] for a wait that fetches at once.
func (c *Checker) WaitFor(ctx context.Context, rev uint64) error {
	for {
		c.wakeMu.Lock()
		wake := c.wake
		c.wakeMu.Unlock()
		if c.Revision() >= rev {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("check: wait for revision %d (at %d): %w", rev, c.Revision(), ctx.Err())
		}
	}
}

// FollowOptions configures a [Follower].
type FollowOptions struct {
	// Interval is how often the follower polls the feed for other
	// processes' writes: the bound on how stale a check can be with
	// respect to them. 0 means one second. Writes made through the
	// subscribed store in this process are applied at once, whatever the
	// interval.
	Interval time.Duration
	// GapTimeout bounds the feed read that fills a gap on the write path
	// (a local write whose revision jumps past the index's, because
	// another process wrote in between). The write has committed either
	// way; on timeout the change waits for the next poll and Err reports
	// it. 0 means five seconds.
	GapTimeout time.Duration
	// OnError, when not nil, is called with each error the follower meets
	// in the background (a failed poll, a change it cannot apply). The
	// follower keeps trying; the checker keeps answering from the
	// revision it has.
	OnError func(error)
}

// Follower keeps a [Checker] current with a store: it loads a snapshot,
// applies this process's writes synchronously through the store's
// subscription (read your writes), and polls the feed for other
// processes' writes.
type Follower struct {
	c      *Checker
	feed   store.ChangeFeed
	opts   FollowOptions
	cancel func()
	stop   context.CancelFunc
	done   chan struct{}

	// loaded is set, under the checker's applyMu, once the first
	// snapshot is in.
	loaded bool

	mu  sync.Mutex
	err error
}

// Follow loads a snapshot of the store behind feed into c, subscribes c to
// the store's writes and starts polling. It returns once the snapshot is
// loaded, so checks made after it returns reflect every write committed
// before it was called. Close stops it.
func Follow(ctx context.Context, c *Checker, feed store.ChangeFeed, opts FollowOptions) (*Follower, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.GapTimeout <= 0 {
		opts.GapTimeout = 5 * time.Second
	}
	f := &Follower{c: c, feed: feed, opts: opts, done: make(chan struct{})}
	// Subscribe first, then load: a write that commits in between is
	// either in the snapshot or arrives through the subscription (and is
	// ignored if the snapshot already has it, or fills the gap from the
	// feed if the snapshot is older).
	f.cancel = feed.Subscribe(f.onChange)
	c.applyMu.Lock()
	err := c.loadLocked(ctx, feed)
	f.loaded = err == nil
	c.applyMu.Unlock()
	if err != nil {
		f.cancel()
		return nil, err
	}
	pollCtx, stop := context.WithCancel(context.Background())
	f.stop = stop
	go f.poll(pollCtx)
	return f, nil
}

// onChange is the subscription hook: it runs on the write path of this
// process, after the write committed and before the write returns.
func (f *Follower) onChange(ch store.Change) {
	f.c.applyMu.Lock()
	defer f.c.applyMu.Unlock()
	if !f.loaded {
		// The snapshot has not started: it takes applyMu, which this
		// hook holds, so it will read this committed write.
		return
	}
	err := f.c.applyLocked(ch)
	if errors.Is(err, ErrGap) {
		// Another process wrote in between; its changes are committed
		// (revision order is commit order), so the feed has them.
		ctx, cancel := context.WithTimeout(context.Background(), f.opts.GapTimeout)
		_, err = f.c.catchUpLocked(ctx, f.feed)
		cancel()
	}
	f.report(err)
}

func (f *Follower) poll(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(f.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := f.c.CatchUp(ctx, f.feed)
			if ctx.Err() == nil {
				f.report(err)
			}
		}
	}
}

func (f *Follower) report(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
	if err != nil && f.opts.OnError != nil {
		f.opts.OnError(err)
	}
}

// Err returns the error of the last background step (subscription apply
// or poll), nil when it succeeded. A host's health check can report it.
func (f *Follower) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Sync makes the checker at least as fresh as revision rev: when the index
// is behind, it reads the feed at once rather than waiting for the next
// poll, then waits (for a write in flight elsewhere that has its revision
// but has not committed yet) until rev is applied or ctx is done. A caller
// that got rev from a write in another process passes it here to check
// "at least as fresh as" that write.
func (f *Follower) Sync(ctx context.Context, rev uint64) error {
	if f.c.Revision() >= rev {
		return nil
	}
	if _, err := f.c.CatchUp(ctx, f.feed); err != nil {
		return err
	}
	return f.c.WaitFor(ctx, rev)
}

// Close stops polling and unsubscribes. The checker keeps its index and
// keeps answering; it just stops moving.
func (f *Follower) Close() {
	f.cancel()
	f.stop()
	<-f.done
}
