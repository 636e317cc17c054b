package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rolebind/rbac"
)

// write runs fn as one write. A Store of its own runs it in a transaction
// of its own, retrying the whole transaction when the engine gave up on
// it, and hands the changes fn recorded to the subscribers once it has
// committed. A Store bound to a host's transaction runs fn in it once:
// a failed statement ends a PostgreSQL transaction, and the host, which
// commits, decides what happens next; the subscribers are not called,
// since the store does not see the commit.
func (s *Store) write(ctx context.Context, fn func(r runner) error) error {
	if s.tx != nil {
		return withCtxErr(ctx, fn(runner{s: s, tx: s.tx}))
	}
	var rec *recorder
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		rec, err = s.writeOnce(ctx, fn)
		if !errors.Is(err, errIDTaken) {
			break
		}
	}
	if err != nil {
		return err
	}
	s.feed.publish(rec)
	return nil
}

// errIDTaken says that a new ID was refused by the database (taken, or
// used before): a transaction that PostgreSQL failed for it is run again,
// and draws a new ID.
var errIDTaken = errors.New("sqlstore: the new id was used before")

// writeOnce runs fn in one transaction, retried while the engine is busy,
// and returns the recorder of the attempt that committed.
func (s *Store) writeOnce(ctx context.Context, fn func(r runner) error) (*recorder, error) {
	var rec *recorder
	err := s.retry(ctx, func() error {
		rec = &recorder{}
		tx, err := s.db.BeginTx(ctx, s.writeTxOptions())
		if err != nil {
			return err
		}
		r := runner{s: s, tx: tx, rec: rec}
		if err := fn(r); err != nil {
			_ = tx.Rollback()
			s.abandon(rec)
			return err
		}
		if err := tx.Commit(); err != nil {
			s.abandon(rec)
			return err
		}
		return nil
	})
	return rec, err
}

// readCommitted is the isolation of the store's own write transactions
// on PostgreSQL, whatever default_transaction_isolation the host set.
//
// Why: every write takes the change feed's counter row as its last
// statement, and its lock is what orders writers (see record). Under
// READ COMMITTED a writer that waited for that lock goes on with the
// committed row; under REPEATABLE READ or SERIALIZABLE it fails with a
// serialization failure (40001) instead, so of N concurrent writes one
// commits and the others start over, again and again, until the retries
// run out. The store's rules do not depend on a higher level: the
// database's constraints and the store's explicit row locks keep them.
var readCommitted = sql.TxOptions{Isolation: sql.LevelReadCommitted}

// writeTxOptions returns the options of the store's own write
// transactions: READ COMMITTED on PostgreSQL; SQLite's are serializable
// whatever is asked, and the driver takes only the default.
func (s *Store) writeTxOptions() *sql.TxOptions {
	if s.d == PostgreSQL {
		return &readCommitted
	}
	return nil
}

// abandon forgets the changes of a transaction that did not commit.
func (s *Store) abandon(rec *recorder) {
	if rec.registered != 0 {
		s.feed.unregister(rec.registered)
		rec.registered = 0
	}
	rec.changes = nil
}

// read runs fn, which only reads, with the runner of pool.
func (s *Store) read(ctx context.Context, fn func(r runner) error) error {
	return s.retry(ctx, func() error { return fn(s.pool()) })
}

// pool returns the runner of statements that need no transaction of
// their own: one that runs each on the pool, or, for a Store bound to a
// host's transaction, in that transaction.
func (s *Store) pool() runner { return runner{s: s, tx: s.tx} }

// maxAttempts bounds how often an operation is retried after the engine
// gave up on it for reasons that go away on their own (see errBusy).
const maxAttempts = 5

// retry runs op until it succeeds, fails for good, or has been tried
// maxAttempts times. Only errors the dialect calls busy are retried: each
// attempt is a whole statement or transaction that wrote nothing. In a
// host's transaction op runs once: on PostgreSQL the busy error failed
// the transaction, and a second try would only hide it behind "current
// transaction is aborted".
func (s *Store) retry(ctx context.Context, op func() error) error {
	if s.tx != nil {
		return withCtxErr(ctx, op())
	}
	return retryBusy(ctx, s.d, maxAttempts, op)
}

// retryBusy runs op up to attempts times while it fails with an error the
// dialect calls busy, backing off a little longer each time.
func retryBusy(ctx context.Context, d *Dialect, attempts int, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || attempt == attempts || d.classify(err) != errBusy {
			return withCtxErr(ctx, err)
		}
		// Back off a little, with jitter, so retries do not collide.
		wait := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return withCtxErr(ctx, err)
		case <-t.C:
		}
	}
}

// withCtxErr makes err wrap the context's error when the context ended,
// so that callers can tell with errors.Is: database/sql reports a
// transaction it rolled back on cancellation as sql.ErrTxDone.
func withCtxErr(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, rbac.ErrInvalid) || errors.Is(err, rbac.ErrNotFound) || errors.Is(err, rbac.ErrConflict) {
		// A category is a definite answer, whatever the context did
		// since.
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
