package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
)

// Load replaces the index with a snapshot of the store behind feed: every
// change [store.ChangeFeed.Snapshot] emits, roles (the predefined ones
// included) first. The new index is built aside and swapped in whole, so
// checks keep answering from the old one meanwhile and never see a
// half-built state.
//
// A snapshot change the index refuses (see [Checker.Apply]) is left out
// and the rest loaded: Load then swaps the index in all the same and
// returns an error matching [rbac.ErrInvalid] that counts what was left
// out and quotes the first. Any other error means the index was not
// replaced.
func (c *Checker) Load(ctx context.Context, feed store.ChangeFeed) error {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	rs, err := c.loadLocked(ctx, feed)
	if err != nil {
		return err
	}
	return rs.err()
}

// loadLocked loads a snapshot; refused counts the changes left out.
func (c *Checker) loadLocked(ctx context.Context, feed store.ChangeFeed) (rs refused, err error) {
	ix := newIndex()
	rev, err := feed.Snapshot(ctx, func(ch store.Change) error {
		ch, err := c.canonicalChange(ch)
		if err == nil {
			err = ix.apply(c.vocab, ch)
		}
		rs.add(err)
		return nil
	})
	if err != nil {
		return refused{}, fmt.Errorf("check: load snapshot: %w", err)
	}
	ix.rev = rev
	c.ix.Store(ix)
	c.loaded = true
	c.notify()
	return rs, nil
}

// refused counts the changes a load or a catch-up refused as invalid and
// passed over, keeping the first error to quote: a feed full of bad
// changes must not fill memory with errors. As an error it matches
// [rbac.ErrInvalid], through the first.
type refused struct {
	n     int
	first error
}

// add counts err, a refusal or, merged, a count of them; nil is none.
func (r *refused) add(err error) {
	var o *refused
	switch {
	case err == nil:
		return
	case errors.As(err, &o):
	default:
		o = &refused{n: 1, first: err}
	}
	if r.n == 0 {
		r.first = o.first
	}
	r.n += o.n
}

// err returns r as an error, nil when nothing was refused.
func (r refused) err() error {
	if r.n == 0 {
		return nil
	}
	return &r
}

func (r *refused) Error() string {
	if r.n == 1 {
		return "check: passed over a refused change: " + r.first.Error()
	}
	return fmt.Sprintf("check: passed over %d refused changes; the first: %v", r.n, r.first)
}

func (r *refused) Unwrap() error { return r.first }

// CatchUp applies every change the feed holds after the index's revision,
// in order, and returns the revision reached. When the feed no longer
// holds the changes it needs (a [*store.CompactedError]), or the checker
// has never loaded a snapshot (a new checker holds no roles, and a store
// need not record its predefined roles as changes), it loads a snapshot
// instead and continues from there.
//
// A change the index refuses as invalid (see [Checker.Apply]) is passed
// over: its revision is counted as applied, with nothing changed, and
// CatchUp goes on with the next, returning at the end an error matching
// [rbac.ErrInvalid]. Stopping there instead would leave the checker at
// that revision for good, deaf to every later write, revocations
// included; and a change whose IDs are malformed or of the wrong type
// names nothing a well-formed question can ask about, so leaving it out
// changes no answer.
func (c *Checker) CatchUp(ctx context.Context, feed store.ChangeFeed) (uint64, error) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.catchUpLocked(ctx, feed, nil)
}

// catchUpLocked is CatchUp; it logs snapshot loads to log when not nil.
func (c *Checker) catchUpLocked(ctx context.Context, feed store.ChangeFeed, log *slog.Logger) (uint64, error) {
	var rs refused
	for {
		rev := c.Revision()
		var compacted *store.CompactedError
		var changes []store.Change
		var err error
		if c.loaded {
			changes, err = feed.Changes(ctx, rev, store.MaxChanges)
		}
		switch {
		case !c.loaded || errors.As(err, &compacted):
			why := "first load"
			if compacted != nil {
				why = "the feed no longer holds the changes after the checker's revision"
			}
			r, err := c.loadLocked(ctx, feed)
			if err != nil {
				return rev, err
			}
			rs.add(r.err())
			if log != nil {
				log.Info("check: loaded a snapshot", "revision", c.Revision(), "from_revision", rev, "why", why, "refused", r.n)
			}
			continue
		case err != nil:
			return rev, errors.Join(fmt.Errorf("check: read changes after %d: %w", rev, err), rs.err())
		}
		for _, ch := range changes {
			if err := c.applyFeedLocked(ch); err != nil {
				if !errors.Is(err, rbac.ErrInvalid) {
					return c.Revision(), errors.Join(err, rs.err())
				}
				rs.add(err)
			}
		}
		if len(changes) < store.MaxChanges {
			return c.Revision(), rs.err()
		}
	}
}

// applyFeedLocked applies a change read from a store, passing over one
// the index refuses as invalid (see CatchUp for why), which it reports as
// a [refused].
func (c *Checker) applyFeedLocked(ch store.Change) error {
	err := c.applyLocked(ch)
	if !errors.Is(err, rbac.ErrInvalid) {
		return err
	}
	// applyLocked reports invalid content only for the next revision, so
	// this moves the index on by exactly one.
	ix := c.ix.Load()
	ix.mu.Lock()
	ix.rev = ch.Revision
	ix.mu.Unlock()
	c.notify()
	var rs refused
	rs.add(err)
	return rs.err()
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
	// in the background (a failed poll, a change it cannot apply, a
	// change it refused as invalid and passed over). The follower keeps
	// trying; the checker keeps answering from the revision it has.
	OnError func(error)
	// Logger, when not nil, is where the follower tells operators what it
	// does in the background: each error it meets (at level Error, or
	// Warn for changes refused as invalid and passed over) and each
	// snapshot it loads (Info), with the revisions involved. Nil logs
	// nothing.
	Logger *slog.Logger
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

	mu       sync.Mutex
	err      error
	head     uint64 // the newest store revision seen
	lastPoll time.Time
	refused  int
}

// Follow loads a snapshot of the store behind feed into c, subscribes c to
// the store's writes and starts polling. It returns once the snapshot is
// loaded, so checks made after it returns reflect every write committed
// before it was called. Close stops it.
//
// Snapshot changes the index refuses as invalid are left out (see
// [Checker.Load]); Follow still succeeds, and reports them as it reports
// background errors (OnError, Logger, [Follower.Err]).
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
	rs, err := c.loadLocked(ctx, feed)
	f.loaded = err == nil
	rev := c.Revision()
	c.applyMu.Unlock()
	if err != nil {
		f.cancel()
		return nil, err
	}
	f.sawHead(rev)
	if opts.Logger != nil {
		opts.Logger.Info("check: loaded a snapshot", "revision", rev, "why", "follow", "refused", rs.n)
	}
	f.report(rs.err())
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
	f.sawHead(ch.Revision)
	err := f.c.applyFeedLocked(ch)
	if errors.Is(err, ErrGap) {
		// Another process wrote in between; its changes are committed
		// (revision order is commit order), so the feed has them.
		ctx, cancel := context.WithTimeout(context.Background(), f.opts.GapTimeout)
		_, err = f.c.catchUpLocked(ctx, f.feed, f.opts.Logger)
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
			err := f.pollOnce(ctx)
			if ctx.Err() == nil {
				f.report(err)
			}
		}
	}
}

// pollOnce reads the store's head, so that Status can say how far behind
// the checker is, and catches up with it.
func (f *Follower) pollOnce(ctx context.Context) error {
	head, err := f.feed.Revision(ctx)
	f.mu.Lock()
	f.lastPoll = time.Now()
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("check: read the store's revision: %w", err)
	}
	f.sawHead(head)
	f.c.applyMu.Lock()
	defer f.c.applyMu.Unlock()
	_, err = f.c.catchUpLocked(ctx, f.feed, f.opts.Logger)
	return err
}

func (f *Follower) sawHead(rev uint64) {
	f.mu.Lock()
	f.head = max(f.head, rev)
	f.mu.Unlock()
}

// report records the outcome of a background step, and tells the host of
// an error.
func (f *Follower) report(err error) {
	var rs *refused
	n := 0
	if errors.As(err, &rs) {
		n = rs.n
	}
	f.mu.Lock()
	f.err = err
	f.refused += n
	f.mu.Unlock()
	if err == nil {
		return
	}
	if log := f.opts.Logger; log != nil {
		level := slog.LevelError
		if _, only := err.(*refused); only {
			// The follower went on past them: worth a look, not a page.
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "check: follower", "err", err, "revision", f.c.Revision())
	}
	if f.opts.OnError != nil {
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

// Status is what a [Follower] tells operators about itself: which
// revision checks answer from and how far that is behind the store.
type Status struct {
	// Revision is the revision the checker answers from
	// ([Checker.Revision]).
	Revision uint64 `json:"revision"`
	// StoreRevision is the newest revision of the store the follower has
	// seen: the store's head at the last poll, or a later write of this
	// process.
	StoreRevision uint64 `json:"store_revision"`
	// Lag is StoreRevision minus Revision: how many writes the checker
	// is known to be missing. It stays above 0 while the follower cannot
	// apply what the store holds (see LastError).
	Lag uint64 `json:"lag"`
	// LastPoll is when the follower last polled the store; zero before
	// the first poll.
	LastPoll time.Time `json:"last_poll"`
	// LastError is the error of the last background step, as
	// [Follower.Err]; nil when it succeeded.
	LastError error `json:"-"`
	// Refused counts the changes the checker refused as invalid and
	// passed over since Follow (see [Checker.CatchUp]). A store never
	// emits one; anything above 0 says the feed is corrupt.
	Refused int `json:"refused"`
}

// Status returns the follower's state now, for a health endpoint or a
// metrics exporter.
func (f *Follower) Status() Status {
	rev := f.c.Revision()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Status{Revision: rev, StoreRevision: f.head, LastPoll: f.lastPoll, LastError: f.err, Refused: f.refused}
	if f.head > rev {
		st.Lag = f.head - rev
	}
	return st
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
	_, err := f.c.CatchUp(ctx, f.feed)
	if _, only := err.(*refused); only {
		// Passed over, as a poll would have: the caller's revision is
		// reached all the same.
		f.report(err)
		err = nil
	}
	if err != nil {
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
