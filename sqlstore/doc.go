// Package sqlstore keeps role bindings, roles, the project-to-space links
// and project restrictions in a SQL database through database/sql: SQLite
// (modernc.org/sqlite, pure Go) as the embedded default, and PostgreSQL
// for services that run on several machines and share one database. A
// [Store] implements [store.Store], [store.RoleStore],
// [store.ResourceStore], [store.ChangeFeed] and [store.FirstAdminCreator]
// on both engines, and passes the same conformance suite as every other
// store.
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
// A file that is not a SQLite database, or that is damaged where opening
// reads it, is refused by OpenSQLite with an error that names the file
// and what is wrong. Damage found later (the file cut short under an open
// store, say) is an error of the call that meets it. OpenSQLite reads the
// file with system calls, not through a memory map, unless
// [Options].MmapSize asks for one: with a map, that same damage is a
// SIGBUS that kills the host process. A connection that SQLite opened
// read-only (the file was not writable at that moment) or that met an
// I/O error is closed rather than used again, so that a store whose file
// was unwritable for a while writes again as soon as it is writable,
// without a restart. A host that opens the *sql.DB of a SQLite file
// itself gets the same from [SQLiteConnector] (sql.OpenDB).
//
// # Host transactions
//
// [Store.WithTx] runs the store's operations inside a transaction the host
// began on the same database, so that the host's own rows, bindings,
// roles and resource facts commit together or not at all. Every operation
// of the store is there: a host can create a custom role and its first
// binding in one transaction, or a project's row, its space link and its
// owner's binding:
//
//	tx, err := s.DB().BeginTx(ctx, nil)
//	...
//	txs := s.WithTx(tx)
//	role, err := txs.CreateRole(ctx, rbac.NewRole{Name: "Reviewer", Permissions: perms})
//	...
//	_, err = txs.Create(ctx, rbac.NewBinding{RoleID: role.ID, ...})
//	...
//	err = tx.Commit()
//
// Each write appends its change to the feed inside the host's
// transaction, so a rollback leaves no change and no gap in revisions.
// A write in a host transaction runs once: the store cannot retry the
// host's transaction, so an internal error means the host rolls back.
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
// # Roles
//
// Roles are rows of rbac_roles. The predefined ones come from the
// catalogue the store is opened with ([Options].Catalogue, by default the
// four roles of package check): when a store opens, in the same locked
// transaction as the migrations, catalogue roles that are missing are
// inserted and stored predefined roles that differ from the catalogue are
// brought in line; each is a change of the feed. Predefined roles that a
// newer catalogue no longer holds are kept, since bindings may name them.
//
// A binding must name an existing role. The store checks it in the
// statement that inserts the binding (and in the transaction that changes
// a binding's role), and the database keeps the rule for every writer: a
// foreign key on PostgreSQL, triggers on SQLite (which cannot add a
// foreign key to an existing table, and enforces foreign keys only on
// connections that ask). DeleteRole locks the role's row before it looks
// for bindings, so a role delete and a binding create for that role
// cannot both succeed. A batch of 1,000 bindings or more on SQLite sets
// the triggers aside inside its own transaction and checks their rules
// itself, as a bulk load does; no other connection ever sees the table
// without them (see [Store.CreateBatch]).
//
// Upgrading a database made before roles existed (schema version 2 or
// older): its bindings name role IDs that no table held. The upgrade
// requires the catalogue to define every one of them, as predefined roles
// with the permissions they are meant to grant; otherwise opening fails
// with [*UnknownRolesError], naming them, and the database is left as it
// was (the migration and the catalogue are one transaction). The store
// does not invent roles for them: a role must hold some permission, and a
// made-up one would grant access that nobody defined.
//
// # The change feed
//
// Every write that changes something appends one row to rbac_changes, in
// its own transaction, as its last statement: the change as JSON, and the
// next revision. PostgreSQL takes the revision from a single counter row
// (rbac_revision), whose lock, held to commit, orders the writers; SQLite
// from the change log's AUTOINCREMENT row, under the database's write
// lock, which SQLite gives one transaction at a time. Either way revisions
// are consecutive, in commit order, and a rollback leaves no gap. A write
// that changes nothing (the role a binding has, a project's own space, a
// restricted project restricted again, a cascade that deletes nothing)
// and a failed write record nothing.
//
// The subscribers of a Store ([Store.Subscribe]) are called after the
// write's commit and before the write method returns, with the writes
// made through that Store value, in revision order; other processes'
// writes reach a follower through [Store.Changes]. Writes through a
// [TxStore] are in the feed too, but commit when the host commits, so they
// reach followers through Changes only. [Store.Snapshot] reads the whole
// state in one read transaction (REPEATABLE READ on PostgreSQL) and
// streams it. The log keeps the latest [Options].ChangeRetention changes
// (by default [DefaultChangeRetention]); a follower further behind loads a
// snapshot.
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
// # The last administrator
//
// With [Options].ProtectLastAdmin, the store keeps the last-administrator
// rule of package store in SQL, inside the transaction of the write it
// judges: a binding delete checks, in the DELETE statement itself, that
// the binding is not the last one on its space whose role holds
// ROLE_BINDING_CREATE (the role's holds_admin column, which the database
// keeps from its permissions, a whole name at a time, not by substring);
// a role change and a role update ask the
// same with one query before they write, so a refusal leaves a host's
// transaction usable. On SQLite the write lock that BEGIN IMMEDIATE
// takes makes that atomic across processes. On PostgreSQL, whose writers
// run side by side, protected writes first take transaction-scoped
// advisory locks: a binding write on a space takes a global lock shared
// and the space's lock exclusive, a role update that takes
// ROLE_BINDING_CREATE away takes the global lock exclusive. Those locks
// come before any row lock, in one order, so they cannot deadlock (the
// argument is written out in lastadmin.go). Every process that shares a
// database should open it with the same setting. The checks rely on each
// statement seeing what committed before it started, which is READ
// COMMITTED, PostgreSQL's default and the isolation of the store's own
// transactions: a host transaction ([Store.WithTx]) at REPEATABLE READ
// reads from a snapshot taken before the locks were granted, and can let
// two removals through; run protected writes in host transactions at
// READ COMMITTED (or SERIALIZABLE, where PostgreSQL fails one of them).
//
// # Batches
//
// [Store.CreateBatch] creates many bindings in one transaction with one
// result per item, optionally all or nothing. It is much cheaper per
// binding than [Store.Create], which on SQLite pays one sync to disk per
// call.
package sqlstore
