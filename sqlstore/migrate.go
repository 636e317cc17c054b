package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew is returned when a database's schema was made by a newer
// version of this package than the running one. The store refuses to use
// it and leaves it untouched: an older binary could otherwise write rows
// that break rules it does not know about.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this version of the library")

//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in order. Files are named
// NNNN_what.sql; the numbers run from 1 without gaps, which a test checks.
func (d *Dialect) migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, d.dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: migration file %s: want NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("sqlstore: migration file %s: bad version number", name)
		}
		data, err := migrationFS.ReadFile(path.Join(d.dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(data)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this version of the package makes
// and understands.
func (d *Dialect) SchemaVersion() int {
	ms, err := d.migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations across processes: "rbac" in ASCII.
const migrationLockKey = 0x72626163

// rolesVersion is the schema version that added roles, and made every
// binding name an existing role.
const rolesVersion = 3

// cursorKeyName is the rbac_meta row holding the list cursor key.
const cursorKeyName = "cursor_key"

// migrate brings the schema up to version target (every migration when
// target is 0) and returns the cursor key, making one on first open. It
// runs in one transaction under a lock that only one process at a time can
// hold, so processes that open a new database at the same moment apply
// each migration once: the first applies them, the others wait, then find
// nothing to do. A schema newer than the code gives ErrSchemaTooNew and
// writes nothing.
//
// When target is 0, after runs last in the same transaction, with the
// version the database had before; its error rolls everything back.
func migrate(ctx context.Context, db *sql.DB, d *Dialect, target int, after func(ctx context.Context, ex dbtx, from int) error) (key []byte, err error) {
	ms, err := d.migrations()
	if err != nil {
		return nil, err
	}
	if target == 0 {
		target = len(ms)
	}
	// Opening a connection to a new SQLite file switches it to WAL,
	// which fails at once (no busy timeout) while another process does
	// the same; the whole migration is safe to try again.
	err = retryBusy(ctx, d, 20, func() error {
		key, err = migrateOnce(ctx, db, d, ms, target, after)
		return err
	})
	return key, err
}

func migrateOnce(ctx context.Context, db *sql.DB, d *Dialect, ms []migration, target int, after func(context.Context, dbtx, int) error) (key []byte, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()
	err = lockedTx(ctx, conn, d, func(ctx context.Context, ex dbtx) error {
		var err error
		key, err = migrateLocked(ctx, ex, d, ms, target, after)
		return err
	})
	return key, err
}

// execQuerier is what migrations need of a connection or transaction.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// lockedTx runs fn in a transaction that holds the migration lock, and
// commits when fn returns nil.
func lockedTx(ctx context.Context, conn *sql.Conn, d *Dialect, fn func(context.Context, dbtx) error) error {
	if d != SQLite {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		defer tx.Rollback()
		// The advisory lock is released when the transaction ends. Two
		// processes that find an empty database queue here instead of
		// both creating the tables.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("sqlstore: migrate: lock: %w", err)
		}
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: migrate: commit: %w", err)
		}
		return nil
	}
	// SQLite: BEGIN IMMEDIATE takes the database's write lock before
	// reading the schema version, whatever _txlock the host's DSN has,
	// so a second process waits (busy_timeout) and then sees the first
	// one's work instead of racing it. database/sql's BeginTx cannot ask
	// for it, so the transaction is spelled out on one connection.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlstore: migrate: begin: %w", d.openError(err))
	}
	done := false
	defer func() {
		if done {
			return
		}
		// A connection left inside a transaction must not go back to
		// the pool: if the rollback fails, discard the connection.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := fn(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlstore: migrate: commit: %w", err)
	}
	done = true
	return nil
}

func migrateLocked(ctx context.Context, ex dbtx, d *Dialect, ms []migration, target int, after func(context.Context, dbtx, int) error) ([]byte, error) {
	current, err := schemaVersion(ctx, ex, d)
	if err != nil {
		return nil, err
	}
	if current > len(ms) {
		return nil, fmt.Errorf("%w: database is at version %d, this library knows up to %d; upgrade the library", ErrSchemaTooNew, current, len(ms))
	}
	if current == 0 {
		if _, err := ex.ExecContext(ctx, d.createVersionTable); err != nil {
			return nil, fmt.Errorf("sqlstore: migrate: create version table: %w", err)
		}
	}
	for _, m := range ms[current:target] {
		if _, err := ex.ExecContext(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("sqlstore: migrate: apply %s: %w", m.name, err)
		}
		if _, err := ex.ExecContext(ctx, d.rebind("INSERT INTO rbac_schema_version (version, applied_at) VALUES (?, ?)"),
			m.version, time.Now().UnixMicro()); err != nil {
			return nil, fmt.Errorf("sqlstore: migrate: record %s: %w", m.name, err)
		}
	}
	if target < len(ms) {
		// Only tests stop early, to make an old database; the meta
		// table may not exist yet.
		return nil, nil
	}
	key, err := cursorKey(ctx, ex, d)
	if err != nil {
		return nil, err
	}
	if err := probeWrite(ctx, ex, d); err != nil {
		return nil, err
	}
	if after != nil {
		if err := after(ctx, ex, current); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// probeWrite checks that the database takes writes, so that a read-only
// database fails at open with a clear error instead of at the first
// create. The write changes nothing and is undone.
func probeWrite(ctx context.Context, ex execQuerier, d *Dialect) error {
	if _, err := ex.ExecContext(ctx, "SAVEPOINT rbac_probe"); err != nil {
		return fmt.Errorf("sqlstore: check the database is writable: %w", err)
	}
	_, err := ex.ExecContext(ctx, d.rebind("UPDATE rbac_meta SET value = value WHERE key = ?"), cursorKeyName)
	if _, rbErr := ex.ExecContext(ctx, "ROLLBACK TO SAVEPOINT rbac_probe"); rbErr != nil && err == nil {
		err = rbErr
	}
	if _, relErr := ex.ExecContext(ctx, "RELEASE SAVEPOINT rbac_probe"); relErr != nil && err == nil {
		err = relErr
	}
	if err != nil {
		return fmt.Errorf("sqlstore: check the database is writable: %w", d.openError(err))
	}
	return nil
}

// schemaVersion returns the database's schema version, 0 for a database
// without the store's tables.
func schemaVersion(ctx context.Context, ex execQuerier, d *Dialect) (int, error) {
	var exists bool
	if err := ex.QueryRowContext(ctx, d.versionTableExists).Scan(&exists); err != nil {
		return 0, fmt.Errorf("sqlstore: migrate: read schema version: %w", d.openError(err))
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := ex.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM rbac_schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: migrate: read schema version: %w", err)
	}
	return v, nil
}

// cursorKey returns the key that seals list cursors, made once per
// database and kept in it, so that every process sharing the database
// accepts the cursors of every other.
func cursorKey(ctx context.Context, ex execQuerier, d *Dialect) ([]byte, error) {
	read := d.rebind("SELECT value FROM rbac_meta WHERE key = ?")
	var key []byte
	err := ex.QueryRowContext(ctx, read, cursorKeyName).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("sqlstore: make cursor key: %w", err)
		}
		// The migration lock is held, so no other process can have
		// written a key since the read above.
		_, err = ex.ExecContext(ctx, d.rebind("INSERT INTO rbac_meta (key, value) VALUES (?, ?)"), cursorKeyName, key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: cursor key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("sqlstore: cursor key in rbac_meta is %d bytes, want at least 32", len(key))
	}
	return key, nil
}

// SchemaStatus reads the schema version of the database db, opened with
// a driver for dialect d, and returns it with the version this package
// makes ([Dialect.SchemaVersion]), so that an operator can see whether
// opening a store would migrate (current < known), or fail with
// [ErrSchemaTooNew] (current > known), before doing it. current is 0 for
// a database without the store's tables. It only reads: no table is
// made, no lock taken, nothing written, so it works on a read-only
// database.
func SchemaStatus(ctx context.Context, db *sql.DB, d *Dialect) (current, known int, err error) {
	if d != SQLite && d != PostgreSQL {
		return 0, 0, errors.New("sqlstore: unknown dialect; use sqlstore.SQLite or sqlstore.PostgreSQL")
	}
	current, err = schemaVersion(ctx, db, d)
	if err != nil {
		return 0, 0, err
	}
	return current, d.SchemaVersion(), nil
}
