package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"

	// The SQLite driver, registered as "sqlite": pure Go, no cgo.
	"modernc.org/sqlite"
)

// Options configures a store. The zero value is ready to use.
type Options struct {
	// Validator checks every input. Nil means [validate.Default]; a host
	// with its own ID type names passes its own.
	Validator *validate.Validator
	// Now is the store's clock for CreatedAt and UpdatedAt. Nil means
	// [time.Now].
	Now func() time.Time
	// Vocabulary is the permission vocabulary that role permissions are
	// checked against; nil means perm.DefaultVocabulary. A host passes
	// the same vocabulary to its checker.
	Vocabulary *perm.Vocabulary
	// Catalogue is the predefined roles; nil means perm.DefaultCatalogue
	// over the default vocabulary, and an empty, non-nil slice means
	// none. A host passes the same catalogue to its checker. When the
	// store opens, the stored predefined roles are brought in line with
	// it in one transaction, and each role inserted or changed is a
	// change of the feed (see [Store.Snapshot]); stored predefined roles
	// that the catalogue no longer has are kept, since bindings may name
	// them. Every process that shares a database should open it with the
	// same catalogue. A catalogue with a role ID that is not canonical, a
	// repeated ID or name, a role that would not pass as a custom role
	// (no permission, a permission outside the vocabulary), or a name
	// that a stored custom role has, makes opening fail.
	Catalogue []rbac.Role
	// ChangeRetention is how many of the latest changes the change feed
	// keeps in the database; 0 means [DefaultChangeRetention], and a
	// negative number keeps every change. A write prunes the log once
	// every thousand revisions. A follower that falls behind further
	// than the retention loads a snapshot instead (see
	// [store.CompactedError]).
	ChangeRetention int
	// MmapSize is how many bytes at the start of a SQLite file
	// [OpenSQLite] reads through a memory map (SQLite's mmap_size); 0,
	// the default, maps nothing and reads with system calls. [New] and
	// PostgreSQL ignore it: a host that opens its own *sql.DB sets the
	// pragma in its DSN.
	//
	// The risk, and why it is off unless asked for: when a mapped file
	// is truncated under the process, or the storage under it fails, the
	// next read of a mapped page is a SIGBUS, which Go cannot turn into
	// an error: the whole host process dies. Without the map the same
	// damage is an error returned to the caller. Turn it on only for a
	// file on local storage that nothing but SQLite changes. What it
	// buys is measured by BenchmarkPairedMmap (see BENCHMARKS.md).
	MmapSize int64
	// ProtectLastAdmin keeps every space that has an administrator (a
	// binding on it whose role holds ROLE_BINDING_CREATE) from losing
	// its last one: a Delete, ChangeRole or UpdateRole that would is a
	// conflict, decided inside the write's transaction (see "The last
	// administrator" in package store, and in this package's
	// documentation for how). Off by default, as in every store. Every
	// process that shares a database should set it alike: one that does
	// not can still remove the last administrator.
	ProtectLastAdmin bool
}

// Store is a [store.Store], [store.RoleStore], [store.ResourceStore] and
// [store.ChangeFeed] over database/sql. It is safe for concurrent use, and
// any number of Stores, in any number of processes, may share one
// database: their writes are one history of revisions.
type Store struct {
	*shared
	// tx is the host's transaction that every statement runs in, for
	// the Store inside a [TxStore]; nil for a Store of its own, which
	// runs statements on the pool and writes in transactions it begins.
	// It is the only difference between the two, so the operations are
	// written once for both.
	tx *sql.Tx
}

// shared is what a Store has in common with the Stores it binds to host
// transactions ([Store.WithTx]): the database, the queries and prepared
// statements, and the feed's subscribers and ordering.
type shared struct {
	db      *sql.DB
	d       *Dialect
	v       *validate.Validator
	now     func() time.Time
	newID   func() (string, error)
	cursors *store.Cursors
	q       queries
	rq      roleQueries
	resq    resourceQueries
	fq      feedQueries
	vocab   *perm.Vocabulary
	feed    feed
	// ownDB is set when the store opened db itself and so closes it.
	ownDB bool
	// protect is Options.ProtectLastAdmin.
	protect bool

	// stmts holds a prepared statement per query text, so a call costs
	// one statement execution and no parsing. It does not change after
	// New.
	stmts  map[string]*sql.Stmt
	mu     sync.Mutex
	closed bool
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.RoleStore         = (*Store)(nil)
	_ store.ResourceStore     = (*Store)(nil)
	_ store.ChangeFeed        = (*Store)(nil)
	_ store.FirstAdminCreator = (*Store)(nil)
)

// New returns a store over db, a database the host opened with a driver
// for dialect d, after bringing the schema up to date (see [Dialect]).
// Closing the store does not close db.
//
// The store's tables are named rbac_*, so they can share a database with
// the host's own. For SQLite, db should be opened as [OpenSQLite] does
// (see [SQLiteDSN]): without a busy timeout, concurrent writers fail
// instead of waiting.
//
// New also brings the stored predefined roles in line with the
// catalogue (see [Options].Catalogue), in the same transaction as the
// migrations.
//
// Errors: [ErrSchemaTooNew] when the database was made by a newer version
// of this package; [*UnknownRolesError] when an upgrade finds bindings
// naming roles the catalogue does not define; a bad catalogue (invalid
// roles match [rbac.ErrInvalid]); anything else the database reports,
// wrapped.
func New(ctx context.Context, db *sql.DB, d *Dialect, opts Options) (*Store, error) {
	if d != SQLite && d != PostgreSQL {
		return nil, errors.New("sqlstore: unknown dialect; use sqlstore.SQLite or sqlstore.PostgreSQL")
	}
	s := &Store{shared: &shared{
		db:    db,
		d:     d,
		v:     opts.Validator,
		now:   opts.Now,
		vocab: opts.Vocabulary,
		q:     makeQueries(d),
		rq:    makeRoleQueries(d),
		resq:  makeResourceQueries(d),
		fq:    makeFeedQueries(d),
	}}
	s.protect = opts.ProtectLastAdmin
	if s.v == nil {
		s.v = validate.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.vocab == nil {
		s.vocab = perm.DefaultVocabulary()
	}
	catalogue := opts.Catalogue
	if catalogue == nil {
		catalogue = perm.DefaultCatalogue(perm.DefaultVocabulary())
	}
	catalogue, err := perm.CheckCatalogue(catalogue, s.vocab, s.v.Types())
	if err != nil {
		return nil, err
	}
	s.feed.init(opts.ChangeRetention)
	key, err := migrate(ctx, db, d, 0, func(ctx context.Context, ex dbtx, from int) error {
		return loadCatalogue(ctx, ex, d, catalogue, s.now(), from < rolesVersion)
	})
	if err != nil {
		return nil, err
	}
	s.cursors = store.NewCursors(key)
	types := s.v.Types()
	s.newID = func() (string, error) { return types.NewID(ids.RoleBinding) }
	if err := s.prepareAll(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SQLiteConnector returns the connector [OpenSQLite] opens its *sql.DB
// with, for the file at path, for a host that opens the *sql.DB itself
// (sql.OpenDB) and hands it to [New]: the settings of [SQLiteDSN], and
// connections that leave the pool once they went bad for good (opened
// read-only while the file was not writable, or met an I/O error), so
// that the store writes again once the fault has passed. It asks for no
// memory map (see [Options].MmapSize).
func SQLiteConnector(path string) (driver.Connector, error) {
	return sqliteConnector(path, 0)
}

// sqliteConnector is [SQLiteConnector] with a memory map of mmap bytes.
func sqliteConnector(path string, mmap int64) (driver.Connector, error) {
	dsn, err := sqliteDSN(path, mmap)
	if err != nil {
		return nil, err
	}
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	// Through the wrapper of conn.go, so that a connection that went bad
	// for good (opened read-only, an I/O error) leaves the pool.
	return connector{base}, nil
}

// SQLiteDSN returns the modernc.org/sqlite data source name that
// [OpenSQLite] uses for the file at path, for a host that opens the
// *sql.DB itself with sql.Open and hands it to [New]. It asks for no
// memory map (see [Options].MmapSize).
//
// A *sql.DB opened with it lacks one thing [SQLiteConnector] gives:
// connections that SQLite opened read-only (the file was not writable at
// that moment), or that met an I/O error, are not taken out of the pool,
// and keep failing after the fault has passed.
func SQLiteDSN(path string) (string, error) {
	return sqliteDSN(path, 0)
}

// sqliteDSN is [SQLiteDSN] with a memory map of mmap bytes.
func sqliteDSN(path string, mmap int64) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlstore: sqlite path %q: %w", path, err)
	}
	q := url.Values{}
	// Wait up to 10 s for another connection's write lock instead of
	// failing at once with "database is locked": writers queue.
	q.Set("_busy_timeout", "10000")
	// The store's own tables have no foreign keys, but a host's tables
	// in the same file may, and SQLite enforces them only on connections
	// that ask.
	q.Set("_foreign_keys", "1")
	// WAL: readers never block the writer nor the writer readers, and a
	// commit appends to the log instead of rewriting pages in place. It
	// is a property of the file, kept once set.
	q.Set("_journal_mode", "WAL")
	// FULL: every commit is fsynced before it returns. In WAL mode
	// NORMAL survives a process crash but may lose the last commits on
	// power loss or an OS crash, and the contract says a write that
	// returned success is durable. Batch creates amortise the sync.
	q.Set("_synchronous", "FULL")
	// BEGIN IMMEDIATE for every transaction: take the write lock up front
	// (waiting per busy_timeout) so that a transaction that reads and
	// then writes never fails halfway with a stale snapshot
	// (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out).
	q.Set("_txlock", "immediate")
	// Statement journals (which let one statement of a transaction be
	// undone alone, as ON CONFLICT and triggers need) and temporary
	// tables in memory, not in temporary files: a batch create would
	// otherwise write each row to a temp file besides the WAL.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A memory map only when the host asked, knowing the risk (see
	// Options.MmapSize); 0 is spelled out too, so that a driver built
	// with another default still maps nothing unless asked.
	q.Add("_pragma", "mmap_size("+strconv.FormatInt(max(mmap, 0), 10)+")")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}

// OpenSQLite opens, or creates, the SQLite database file at path and
// returns a store over it. The directory must exist. Closing the store
// closes the database.
//
// Errors, each at open and with nothing written to the file: a missing
// directory, a file that cannot be opened for writing, a file that is not
// a SQLite database, and [ErrSchemaTooNew].
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlstore: open sqlite: empty path")
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlstore: open %s: directory %s does not exist: %w", path, dir, err)
		}
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("sqlstore: open %s: %s is not a directory", path, dir)
	}
	c, err := sqliteConnector(path, opts.MmapSize)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	// database/sql opens connections without bound by default, and each
	// SQLite connection has its own page cache. Writers take turns
	// anyway, and readers scale with cores. Idle connections are kept so
	// that their prepared statements are too.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := retryBusy(ctx, SQLite, 20, func() error { return db.PingContext(ctx) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, SQLite.openError(err))
	}
	s, err := New(ctx, db, SQLite, opts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, SQLite.openError(err))
	}
	s.ownDB = true
	return s, nil
}

// openError adds to a driver error what it means when opening a database,
// once.
func (d *Dialect) openError(err error) error {
	var said *openProblem
	if errors.As(err, &said) {
		return err
	}
	var what string
	switch d.classify(err) {
	case errNotADB:
		what = "file is not a SQLite database"
	case errCorrupt:
		what = "the database file is damaged"
	case errIO:
		what = "reading or writing the database file failed"
	case errReadOnly:
		what = "database is read-only, and the store must write to it"
	case errCantOpen:
		what = "cannot open the database file"
	case errBusy:
		what = "the database stayed locked by another connection for longer than the busy timeout"
	default:
		return err
	}
	return &openProblem{what: what, err: err}
}

// openProblem is a driver error met while opening a database, with what
// it means.
type openProblem struct {
	what string
	err  error
}

func (e *openProblem) Error() string { return e.what + ": " + e.err.Error() }
func (e *openProblem) Unwrap() error { return e.err }

// DB returns the database the store works on, so that a host can begin a
// transaction on it and run the store in it with [Store.WithTx].
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() *Dialect { return s.d }

// Close releases the store's prepared statements, and closes the database
// if [OpenSQLite] opened it. Calls after Close fail (database/sql reports
// a closed statement).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	if s.ownDB {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// prepareAll prepares every query of the store once, up front. A
// transaction then binds them to its own connection (sql.Tx.StmtContext)
// without taking a second connection from the pool, which a transaction
// waiting for one while others wait for its lock would deadlock on.
func (s *Store) prepareAll(ctx context.Context) error {
	all := []string{s.q.insert, s.q.get, s.q.getForUpdate, s.q.setRole, s.q.delete, s.q.deleteUser, s.q.deleteResource, s.q.roleMissing}
	all = append(all, s.q.list[:]...)
	all = append(all, s.rq.prepared()...)
	all = append(all, s.resq.prepared()...)
	all = append(all, s.fq.all()...)
	s.stmts = make(map[string]*sql.Stmt, len(all))
	for _, query := range all {
		st, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			s.Close()
			return fmt.Errorf("sqlstore: prepare: %w", err)
		}
		s.stmts[query] = st
	}
	return nil
}

// prepared returns the prepared statement for query.
func (s *Store) prepared(query string) (*sql.Stmt, error) {
	st, ok := s.stmts[query]
	if !ok {
		return nil, fmt.Errorf("sqlstore: query was not prepared: %s", query)
	}
	return st, nil
}
