package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
)

// The SQLite connections of [OpenSQLite] and [SQLiteConnector] pass
// through the small wrapper below. A SQLite connection can go bad for
// good in ways database/sql cannot see, and database/sql keeps such a
// connection in its pool and hands it out again and again:
//
//   - SQLite opens the file read-only when it cannot be written at that
//     moment (its permissions, a read-only mount), and that connection
//     refuses every write from then on, even once the file is writable
//     again: a store whose file was read-only for a while kept failing
//     writes until it was restarted.
//   - A connection that met an I/O error, or found its file moved, may
//     hold a file descriptor or cached pages that no longer match the
//     file.
//
// The wrapper marks such a connection and reports it invalid through
// driver.Validator and driver.SessionResetter, so that database/sql closes
// it when it comes back to the pool (or before its next use) and opens a
// new one, which sees the file as it is now. Nothing is retried: the call
// that met the error still fails, with the driver's error.
//
// It forwards exactly the optional interfaces that modernc.org/sqlite's
// connections and statements implement; database/sql falls back to
// slower or context-blind paths for any it does not find. It adds no
// allocation per statement or transaction.

// sqliteConn is what a modernc.org/sqlite connection implements and
// database/sql looks for. It does not implement driver.NamedValueChecker,
// so neither does conn.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what a modernc.org/sqlite statement implements and
// database/sql looks for.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// readOnlyReporter is implemented by modernc.org/sqlite's connections
// (sqlite3_db_readonly).
type readOnlyReporter interface {
	IsReadOnly(schema string) (bool, error)
}

// connector opens the driver's connections and wraps each.
type connector struct{ driver.Connector }

// Connect opens a connection. One that SQLite opened read-only is marked
// at once: it can still serve the call that opened it (a read, while the
// file is not writable), and is then closed, so that no read-only
// connection outlives the fault in the pool and fails a write after it.
func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlstore: the SQLite driver's connection, a %T, lacks an interface the store relies on", dc)
	}
	cn := &conn{inner: inner}
	cn.tx.c = cn
	if ro, ok := dc.(readOnlyReporter); ok {
		if readOnly, err := ro.IsReadOnly("main"); err != nil || readOnly {
			cn.bad.Store(true)
		}
	}
	return cn, nil
}

// conn is a connection that remembers whether it met an error after which
// it should not be used again.
type conn struct {
	inner sqliteConn
	bad   atomic.Bool
	// tx is the transaction BeginTx hands out: a connection has at most
	// one at a time, so it lives here rather than in an allocation per
	// transaction.
	tx tx
}

// Unwrap returns the driver's connection, as modernc.org/sqlite asks of
// wrappers (sqlite.Limit looks through it).
func (c *conn) Unwrap() driver.Conn { return c.inner }

// note marks the connection bad when err says so, and returns err.
func (c *conn) note(err error) error {
	if err != nil && spoilsConn(err) {
		c.bad.Store(true)
	}
	return err
}

// spoilsConn reports whether a connection that met err should be closed
// rather than used again: a read-only error (the connection itself was
// opened read-only, or its file was moved or replaced) or an I/O error.
func spoilsConn(err error) bool {
	switch classifySQLite(err) {
	case errReadOnly, errIO:
		return true
	}
	return false
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.note(err)
	}
	st, ok := ds.(sqliteStmt)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("sqlstore: the SQLite driver's statement, a %T, lacks an interface the store relies on", ds)
	}
	// One allocation per statement prepared, not per execution: the
	// store prepares its statements once per connection.
	return &stmt{c: c, inner: st}, nil
}

func (c *conn) Close() error { return c.inner.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.inner.BeginTx(ctx, opts)
	if err != nil {
		return nil, c.note(err)
	}
	c.tx.inner = t
	return &c.tx, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.inner.ExecContext(ctx, query, args)
	return r, c.note(err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.inner.QueryContext(ctx, query, args)
	return r, c.note(err)
}

func (c *conn) Ping(ctx context.Context) error { return c.note(c.inner.Ping(ctx)) }

// ResetSession is called before a connection from the pool is used again;
// driver.ErrBadConn makes database/sql close it and take another.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.bad.Load() {
		return driver.ErrBadConn
	}
	return c.inner.ResetSession(ctx)
}

// IsValid is called before a connection goes back to the pool; false
// makes database/sql close it.
func (c *conn) IsValid() bool { return !c.bad.Load() && c.inner.IsValid() }

// stmt is a prepared statement whose errors its connection notes. Errors
// met while stepping through the rows after the first are not seen (the
// driver reports the first step's error from Query): wrapping every
// result would cost an allocation per query, and a write, where the
// read-only errors arise, steps once.
type stmt struct {
	c     *conn
	inner sqliteStmt
}

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	r, err := s.inner.Exec(args)
	return r, s.c.note(err)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	r, err := s.inner.Query(args)
	return r, s.c.note(err)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.inner.ExecContext(ctx, args)
	return r, s.c.note(err)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.inner.QueryContext(ctx, args)
	return r, s.c.note(err)
}

// tx is a connection's transaction; a failed commit (an I/O error while
// writing the log, say) marks the connection.
type tx struct {
	c     *conn
	inner driver.Tx
}

func (t *tx) Commit() error   { return t.c.note(t.inner.Commit()) }
func (t *tx) Rollback() error { return t.c.note(t.inner.Rollback()) }
