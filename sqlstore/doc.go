// Package sqlstore keeps role bindings in a SQL database through
// database/sql: SQLite (modernc.org/sqlite, pure Go) as the embedded
// default, and PostgreSQL for services that run on several machines and
// share one database. Both keep the contract of [store.Store] and pass
// the same conformance suite as every other store.
//
// # Opening
//
// [OpenSQLite] opens or creates a SQLite file with the settings the store
// relies on (WAL, a busy timeout, synchronous=FULL, BEGIN IMMEDIATE for
// transactions; see [SQLiteDSN] for why each). [New] takes a *sql.DB the
// host opened, for either dialect; the library imports no PostgreSQL
// driver, so the host brings its own (github.com/jackc/pgx/v5/stdlib, for
// one). Both apply the schema migrations before they return.
//
// # Host transactions
//
// [Store.WithTx] runs the store's operations inside a transaction the host
// began on the same database, so that the host's own rows and the
// bindings commit together or not at all:
//
//	tx, err := s.DB().BeginTx(ctx, nil)
//	...
//	// insert the project in the host's own table, then:
//	_, err = s.WithTx(tx).Create(ctx, ownerBinding)
//	...
//	err = tx.Commit()
//
// # Schema
//
// The tables are named rbac_* so that they can live in the host's
// database. The schema is a list of numbered migrations embedded in the
// package and applied on open, in one transaction, under a lock that
// serializes processes opening the same database at once (SQLite's write
// lock taken by BEGIN IMMEDIATE; a PostgreSQL advisory lock). The applied
// versions are recorded in rbac_schema_version. A database whose schema is
// newer than the package is refused with [ErrSchemaTooNew] and left
// untouched. On PostgreSQL the tables go in the first schema of the
// connection's search_path.
//
// Bindings are rows of rbac_role_bindings: IDs as text compared byte for
// byte (SQLite's BINARY collation, PostgreSQL's "C"), timestamps as
// integer microseconds since the epoch (exact on both engines), and a
// creation sequence number that orders lists and is what list cursors
// carry. A unique index on (user_id, resource_type, resource_id) keeps
// one binding per user and resource. Triggers record the ID of every
// deleted binding and refuse a new row with such an ID, so the database
// itself guarantees that a binding ID is never reused. The key that seals
// list cursors is made once and kept in rbac_meta, so a cursor from one
// process is good in every other that shares the database.
//
// # Errors and concurrency
//
// A second binding for one user and resource is detected without an
// error from the database (INSERT ... ON CONFLICT DO NOTHING inserts no
// row), so it fails neither the host's transaction nor a batch. Other
// driver errors are read by code, never by message: SQLite's extended
// result codes and PostgreSQL's SQLSTATE (through the SQLState method of
// the driver's error). Writes that the engine gave up on because another
// connection held a lock (SQLITE_BUSY once the busy timeout ran out;
// PostgreSQL serialization failures and deadlocks) are retried a few
// times, whole, by the store; they never reach the caller as anything
// but an internal error.
//
// # Batches
//
// [Store.CreateBatch] creates many bindings in one transaction with one
// result per item, optionally all or nothing. It is much cheaper per
// binding than [Store.Create], which on SQLite pays one sync to disk per
// call.
package sqlstore
