package sqlstore

import (
	"errors"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is what differs between the SQL engines the store runs on. The
// store has one code path; a Dialect names the few places where the
// engines disagree: placeholder syntax, row locking, how a schema is
// inspected and locked for migration, and how driver errors are read.
//
// The two dialects are [SQLite] and [PostgreSQL]; there is no way to make
// another, because each needs its own migrations.
type Dialect struct {
	name string
	// dir is the directory of the embedded migrations.
	dir string
	// numbered placeholders ($1, $2) instead of ?.
	numbered bool
	// forUpdate is appended to a SELECT that reads a row the same
	// transaction then writes. SQLite has no row locks: its write
	// transactions take the database write lock up front instead.
	forUpdate string
	// versionTableExists is a query giving one boolean row.
	versionTableExists string
	// createVersionTable makes the table that records migrations.
	createVersionTable string
	// classify reads a driver error.
	classify func(error) errKind
}

// String returns the dialect's name, "sqlite" or "postgres".
func (d *Dialect) String() string { return d.name }

// The dialects.
var (
	// SQLite is SQLite through modernc.org/sqlite (driver name "sqlite"),
	// the embedded default. [OpenSQLite] opens a file with the settings
	// the store relies on; a host that brings its own *sql.DB should open
	// it the same way (see [SQLiteDSN]).
	SQLite = &Dialect{
		name:      "sqlite",
		dir:       "migrations/sqlite",
		forUpdate: "",
		versionTableExists: `SELECT count(*) > 0 FROM sqlite_master
			WHERE type = 'table' AND name = 'rbac_schema_version'`,
		createVersionTable: `CREATE TABLE IF NOT EXISTS rbac_schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		)`,
		classify: classifySQLite,
	}

	// PostgreSQL is PostgreSQL through any database/sql driver whose
	// errors report their SQLSTATE with a SQLState() string method, as
	// github.com/jackc/pgx/v5 (stdlib) and github.com/lib/pq do. The
	// library imports no PostgreSQL driver: the host brings its own.
	// Tables are made in the first schema of the connection's
	// search_path.
	PostgreSQL = &Dialect{
		name:               "postgres",
		dir:                "migrations/postgres",
		numbered:           true,
		forUpdate:          " FOR UPDATE",
		versionTableExists: `SELECT to_regclass('rbac_schema_version') IS NOT NULL`,
		createVersionTable: `CREATE TABLE IF NOT EXISTS rbac_schema_version (
			version    integer PRIMARY KEY,
			applied_at bigint  NOT NULL
		)`,
		classify: classifyPostgres,
	}
)

// unindexed returns col, spelled so that the query planner does not pick
// an index for a comparison with it when hint is set. SQLite reads a unary
// + that way; PostgreSQL plans by statistics and needs no hint.
func (d *Dialect) unindexed(col string, hint bool) string {
	if hint && d == SQLite {
		return "+" + col
	}
	return col
}

// rebind rewrites the ? placeholders of a query written for SQLite into
// the dialect's own. The store's queries are constants with no ? inside
// string literals, so a plain scan is enough.
func (d *Dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// errKind is what the store needs to know about a driver error.
type errKind uint8

const (
	errOther errKind = iota
	// errUnique: a unique index or primary key refused a row. The store
	// inserts with ON CONFLICT DO NOTHING on (user, resource), so this
	// means the new binding ID was taken or retired.
	errUnique
	// errBusy: another connection held a lock for longer than the busy
	// timeout, or the transaction's snapshot went stale (SQLite), or the
	// engine gave up on the transaction to break a deadlock or
	// serialization failure (PostgreSQL). Retrying the whole
	// transaction is safe.
	errBusy
	// errNotADB: the file is not a SQLite database.
	errNotADB
	// errReadOnly: the database cannot be written.
	errReadOnly
	// errCantOpen: the file cannot be opened or created.
	errCantOpen
	// errIO: the operating system reported an error reading or writing
	// the file (SQLite's SQLITE_IOERR and its extended codes).
	errIO
	// errCorrupt: the file is damaged; what SQLite read from it does
	// not hold together.
	errCorrupt
)

// classifySQLite reads SQLite's extended result codes, which
// modernc.org/sqlite turns on for every connection.
func classifySQLite(err error) errKind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return errOther
	}
	switch code := se.Code(); code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		// The trigger that refuses a retired binding ID (see the
		// migrations) raises a constraint error of its own.
		sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		return errUnique
	default:
		switch code & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errBusy
		case sqlite3.SQLITE_NOTADB:
			return errNotADB
		case sqlite3.SQLITE_READONLY:
			return errReadOnly
		case sqlite3.SQLITE_CANTOPEN:
			return errCantOpen
		case sqlite3.SQLITE_IOERR:
			return errIO
		case sqlite3.SQLITE_CORRUPT:
			return errCorrupt
		}
	}
	return errOther
}

// sqlStater is implemented by the errors of PostgreSQL drivers
// (*pgconn.PgError, *pq.Error), so the store reads SQLSTATE codes without
// importing a driver.
type sqlStater interface{ SQLState() string }

// classifyPostgres reads SQLSTATE codes.
func classifyPostgres(err error) errKind {
	var se sqlStater
	if !errors.As(err, &se) {
		return errOther
	}
	switch se.SQLState() {
	case "23505": // unique_violation
		return errUnique
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return errBusy
	case "25006": // read_only_sql_transaction
		return errReadOnly
	}
	return errOther
}
