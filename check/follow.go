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
	c.hist.reset(rev)
	c.notify()
	c.rememberLocked(ctx, feed, rev)
	return rs, nil
}

// rememberLocked records the digest of the store's change at rev, the
// revision of the snapshot just loaded, so that a store that goes back
// and is written past rev again before the next catch-up is found: the
// snapshot itself says nothing about the change that made its revision.
// Failing that (a store that keeps no change at rev), the next catch-up
// remembers the change it reads there.
func (c *Checker) rememberLocked(ctx context.Context, feed store.ChangeFeed, rev uint64) {
	if rev == 0 {
		return
	}
	changes, err := feed.Changes(ctx, rev-1, 1)
	if err != nil || len(changes) != 1 || changes[0].Revision != rev {
		return
	}
	ch, _ := c.canonicalChange(changes[0])
	c.hist.record(rev, c.hist.digest(&ch))
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
// It reads the feed from the index's own revision, not the one after,
// and compares what it reads back with what it applied: when the store
// no longer has the change the index applied at its revision, or any
// change there (its newest revision is below the index's), the store's
// history went back behind the checker, and CatchUp loads a snapshot
// too, continues from there, and returns at the end an error matching
// [ErrRewound] that says what it found.
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
	var n notes
	rev, err := c.catchUpLocked(ctx, feed, &n, true)
	return rev, n.join(err)
}

// notes is what a catch-up met that did not stop it: changes refused
// and passed over, a store found behind the checker. onLoad, when not
// nil, hears of each snapshot loaded.
type notes struct {
	rs      refused
	rewound error // the last rewind found; nil when none
	onLoad  func(load)
}

// load describes a snapshot a catch-up loaded.
type load struct {
	why      string
	from, to uint64 // the index's revision before and after
	refused  int
	rewound  bool // loaded because the store went back
}

// join returns err with what n noted: the error a catch-up returns to a
// caller that does not look at notes. A single error is returned as it
// is, so that report can tell refusals alone by their type.
func (n *notes) join(err error) error {
	var errs []error
	for _, e := range []error{err, n.rewound, n.rs.err()} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// catchUpLocked is CatchUp; n collects what it meets besides failure.
// With readBack, it reads the feed from the oldest revision it has not
// compared with the store yet (the writes of this process applied from
// the subscription since the last read, the latest historySize of
// them), so that a rewind hidden behind them is found; without, from the
// index's revision only, as a gap fill on the write path does to stay
// short.
func (c *Checker) catchUpLocked(ctx context.Context, feed store.ChangeFeed, n *notes, readBack bool) (uint64, error) {
	for loads := 0; ; {
		rev := c.Revision()
		from := rev // the first applied revision to compare
		if readBack && c.hist.verified < rev {
			from = c.hist.verified + 1
			if rev-from >= historySize {
				// Older ones are no longer remembered: nothing to
				// compare them with.
				from = rev - historySize + 1
				c.hist.verified = from - 1
			}
		}
		after := max(from, 1) - 1
		var compacted *store.CompactedError
		var changes []store.Change
		var err error
		read := 0
		if c.loaded && c.hist.rewound == nil {
			changes, err = feed.Changes(ctx, after, store.MaxChanges)
			if errors.As(err, &compacted) && after < rev {
				// The feed keeps nothing at or before the index's
				// revision to compare with (a short retention): go on
				// from it, comparing nothing. The poll's head still
				// finds a store that went back below it.
				compacted = nil
				after = rev
				c.hist.verified = max(c.hist.verified, rev)
				changes, err = feed.Changes(ctx, after, store.MaxChanges)
			}
		}
		why := ""
		switch {
		case !c.loaded:
			why = "first load"
		case c.hist.rewound != nil:
			why = c.hist.rewound.Error()
		case errors.As(err, &compacted):
			why = "the feed no longer holds the changes after the checker's revision"
		case err != nil:
			return rev, fmt.Errorf("check: read changes after %d: %w", after, err)
		default:
			read = len(changes)
			changes = c.compareLocked(rev, after, changes)
			if c.hist.rewound != nil {
				why = c.hist.rewound.Error()
			}
		}
		if why != "" {
			if loads++; loads > 2 {
				// A feed that contradicts its own snapshot (a revision
				// its changes do not reach) would otherwise be
				// reloaded for ever.
				return rev, fmt.Errorf("check: loaded %d snapshots in one catch-up and the feed still disagrees: %s", loads-1, why)
			}
			rewound := c.hist.rewound
			r, err := c.loadLocked(ctx, feed)
			if err != nil {
				return rev, err
			}
			n.rs.add(r.err())
			if rewound != nil {
				n.rewound = fmt.Errorf("%w; loaded a snapshot at revision %d", rewound, c.Revision())
			}
			if n.onLoad != nil {
				n.onLoad(load{why: why, from: rev, to: c.Revision(), refused: r.n, rewound: rewound != nil})
			}
			continue
		}
		for _, ch := range changes {
			if err := c.applyFeedLocked(ch); err != nil {
				if !errors.Is(err, rbac.ErrInvalid) {
					return c.Revision(), err
				}
				n.rs.add(err)
			}
			if ch.Revision == c.hist.verified+1 {
				c.hist.verified = ch.Revision
			}
		}
		if read < store.MaxChanges {
			return c.Revision(), nil
		}
	}
}

// rewoundLocked notes that the store's history went back behind the
// index, unless that is known already: the next catch-up loads a
// snapshot, and nothing is applied until then.
func (c *Checker) rewoundLocked(err error) {
	if c.hist.rewound == nil {
		c.hist.rewound = err
	}
}

// compareLocked compares the changes read from the feed after revision
// after, up to the index's revision rev, with the ones applied there,
// and returns the rest, to apply. A change that differs, or a feed that
// ends below rev, sets c.hist.rewound.
func (c *Checker) compareLocked(rev, after uint64, changes []store.Change) []store.Change {
	last := after
	for i, ch := range changes {
		if ch.Revision > rev {
			return changes[i:]
		}
		ch, _ = c.canonicalChange(ch)
		sum := c.hist.digest(&ch)
		switch err := c.hist.compare(ch.Revision, sum); {
		case err == errUnremembered:
			// A snapshot was loaded at or after this revision, or the
			// ring moved on: the store's change there is the one to
			// remember.
			c.hist.record(ch.Revision, sum)
		case err != nil:
			return nil
		}
		if ch.Revision == c.hist.verified+1 {
			c.hist.verified = ch.Revision
		}
		last = ch.Revision
	}
	if last < rev && len(changes) < store.MaxChanges {
		// Every change the store has after after was read, and the
		// index's revision was not among them.
		c.rewoundLocked(fmt.Errorf("%w: the store's newest revision is %d, below the checker's %d", ErrRewound, last, rev))
	}
	return nil
}

// applyFeedLocked applies a change read from a store, passing over one
// the index refuses as invalid (see CatchUp for why), which it reports as
// a [refused].
func (c *Checker) applyFeedLocked(ch store.Change) error {
	err := c.applyLocked(ch, true)
	if !errors.Is(err, rbac.ErrInvalid) {
		return err
	}
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
	// another process wrote in between), and the snapshot load when a
	// local write shows that the store went back (see [ErrRewound]). The
	// write has committed either way; on timeout the change waits for
	// the next poll and Err reports it. 0 means five seconds.
	GapTimeout time.Duration
	// OnError, when not nil, is called with each error the follower meets
	// in the background (a failed poll, a change it cannot apply, a
	// change it refused as invalid and passed over, a store whose
	// history went back, matching [ErrRewound], for which it loaded a
	// snapshot). The follower keeps trying; the checker keeps answering
	// from the revision it has.
	OnError func(error)
	// Logger, when not nil, is where the follower tells operators what it
	// does in the background: each error it meets (at level Error, or
	// Warn for changes refused as invalid and passed over) and each
	// snapshot it loads (Info, or Warn when the store went back), with
	// the revisions involved. Nil logs nothing.
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

	mu         sync.Mutex
	err        error
	head       uint64 // the newest store revision seen
	lastPoll   time.Time
	refused    int
	reloads    int
	rewinds    int
	lastReload time.Time
	reloadWhy  string
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
	n := f.notes()
	err := f.c.applyFeedLocked(ch)
	switch {
	case errors.Is(err, ErrGap), errors.Is(err, ErrRewound), err == errUnremembered:
		// A gap: another process wrote in between; its changes are
		// committed (revision order is commit order), so the feed has
		// them. A rewind: this write got a revision the checker has
		// applied, with other content, so the store's history went back
		// (restored from a backup); the catch-up loads a snapshot, which
		// holds this committed write, so the writer reads it back. A
		// revision applied but no longer remembered: the catch-up
		// compares the store's change at the checker's revision, which
		// finds a store whose history went back below it.
		ctx, cancel := context.WithTimeout(context.Background(), f.opts.GapTimeout)
		_, err = f.c.catchUpLocked(ctx, f.feed, n, false)
		cancel()
	}
	f.report(n.join(err))
}

// notes returns the notes of one background step, which hear of the
// snapshots it loads.
func (f *Follower) notes() *notes { return &notes{onLoad: f.loadedSnapshot} }

// loadedSnapshot records and logs a snapshot loaded by a catch-up. It
// runs under the checker's applyMu, as every change of the head does.
func (f *Follower) loadedSnapshot(ld load) {
	f.mu.Lock()
	// The snapshot read the store's head: after a rewind, the newest
	// revision seen before it is no longer in the store.
	f.head = ld.to
	f.reloads++
	if ld.rewound {
		f.rewinds++
	}
	f.lastReload = time.Now()
	f.reloadWhy = ld.why
	f.mu.Unlock()
	if log := f.opts.Logger; log != nil {
		level := slog.LevelInfo
		if ld.rewound {
			// The checker answered for writes the store no longer has
			// until now: operators should know that it happened.
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "check: loaded a snapshot", "revision", ld.to, "from_revision", ld.from, "why", ld.why, "refused", ld.refused)
	}
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
// the checker is, and catches up with it, reading back the writes of
// this process applied since the last poll (see catchUpLocked).
//
// It reads the head under applyMu, as the subscription hook notes its
// writes' revisions, so that a head read before a write and recorded
// after it cannot hide that write; and since every revision the checker
// has was committed before the read, a head below it is the store's
// history gone back, not a race.
func (f *Follower) pollOnce(ctx context.Context) error {
	f.c.applyMu.Lock()
	defer f.c.applyMu.Unlock()
	head, err := f.feed.Revision(ctx)
	f.mu.Lock()
	f.lastPoll = time.Now()
	if err == nil {
		f.head = head
	}
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("check: read the store's revision: %w", err)
	}
	if rev := f.c.Revision(); head < rev {
		// Every revision the checker has was committed before this
		// read: the store lost some. Found here too, and not only by
		// the catch-up's read-back, for a feed that keeps no change at
		// the checker's revision to read back.
		f.c.rewoundLocked(fmt.Errorf("%w: the store's newest revision is %d, below the checker's %d", ErrRewound, head, rev))
	}
	n := f.notes()
	_, err = f.c.catchUpLocked(ctx, f.feed, n, true)
	f.sawHead(f.c.Revision())
	return n.join(err)
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
	// Reloads counts the snapshots the follower loaded since Follow,
	// after the first: because the feed no longer held the changes it
	// needed, or because the store went back (Rewinds).
	Reloads int `json:"reloads"`
	// Rewinds counts the times the follower found the store's history
	// behind the checker (see [ErrRewound]): a database restored from a
	// backup, or one that lost its last writes. Each made it load a
	// snapshot. Anything above 0 says that writes were lost, and that
	// until the reload checks answered for them.
	Rewinds int `json:"rewinds"`
	// LastReload is when the last of the Reloads happened; zero when
	// none has.
	LastReload time.Time `json:"last_reload"`
	// LastReloadReason says why, in a sentence for operators.
	LastReloadReason string `json:"last_reload_reason,omitempty"`
}

// Status returns the follower's state now, for a health endpoint or a
// metrics exporter.
func (f *Follower) Status() Status {
	rev := f.c.Revision()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Status{
		Revision: rev, StoreRevision: f.head, LastPoll: f.lastPoll, LastError: f.err, Refused: f.refused,
		Reloads: f.reloads, Rewinds: f.rewinds, LastReload: f.lastReload, LastReloadReason: f.reloadWhy,
	}
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
	f.c.applyMu.Lock()
	n := f.notes()
	_, err := f.c.catchUpLocked(ctx, f.feed, n, true)
	f.sawHead(f.c.Revision())
	f.c.applyMu.Unlock()
	if err != nil {
		return n.join(err)
	}
	if notes := n.join(nil); notes != nil {
		// Changes passed over, or a snapshot loaded because the store
		// went back, as a poll would have: the checker is as current as
		// the store all the same, so the caller waits on; the host
		// hears of it as of a poll's.
		f.report(notes)
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
