package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// The store's queries, written once with ? placeholders and rebound per
// dialect by makeQueries.
const (
	bindingColumns = "id, role_id, user_id, resource_type, resource_id, created_at, updated_at"

	// insertBinding leaves a row for the same (user, resource) alone
	// instead of failing, so that a conflict is a plain "no row
	// inserted": it does not abort a PostgreSQL transaction (the host's,
	// or a batch's), and needs no error text to be recognised.
	//
	// The row is inserted only when its role exists, which the same
	// statement checks (and, on PostgreSQL, keeps so with a FOR KEY SHARE
	// lock until commit): no row inserted is then a conflict or a missing
	// role, which roleMissing tells apart. The casts give PostgreSQL the
	// types of the parameters of a SELECT.
	insertBinding = `INSERT INTO rbac_role_bindings (` + bindingColumns + `)
		SELECT CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS bigint), CAST(? AS bigint)
		WHERE EXISTS (SELECT 1 FROM rbac_roles WHERE id = ?%s)
		ON CONFLICT (user_id, resource_type, resource_id) DO NOTHING`

	roleMissing = `SELECT count(*) FROM rbac_roles WHERE id = ?`

	getBinding = `SELECT ` + bindingColumns + ` FROM rbac_role_bindings WHERE id = ?`

	// getBindingSeq reads the row a role change then writes; the dialect
	// appends its row lock.
	getBindingSeq = `SELECT seq, ` + bindingColumns + ` FROM rbac_role_bindings WHERE id = ?`

	setRole = `UPDATE rbac_role_bindings SET role_id = ?, updated_at = ? WHERE seq = ?`

	// deleteBinding returns the row as it was, for the change feed.
	deleteBinding = `DELETE FROM rbac_role_bindings WHERE id = ? RETURNING ` + bindingColumns

	deleteUser = `DELETE FROM rbac_role_bindings WHERE user_id = ?`

	deleteResource = `DELETE FROM rbac_role_bindings WHERE resource_type = ? AND resource_id = ?`
)

// List filters, as bits of a mask that picks one of the list queries.
const (
	filterType = 1 << iota
	filterUser
	filterResource
	filterRole
	filterCount = 1 << iota
)

// queries are the store's queries for one dialect.
type queries struct {
	insert, get, getForUpdate, setRole, delete, deleteUser, deleteResource, roleMissing string
	// list holds one query per combination of filters, so that each is
	// a constant statement that can be prepared once.
	list [filterCount]string
}

func makeQueries(d *Dialect) queries {
	q := queries{
		insert:         d.rebind(fmt.Sprintf(insertBinding, d.keyShare())),
		roleMissing:    d.rebind(roleMissing),
		get:            d.rebind(getBinding),
		getForUpdate:   d.rebind(getBindingSeq + d.forUpdate),
		setRole:        d.rebind(setRole),
		delete:         d.rebind(deleteBinding),
		deleteUser:     d.rebind(deleteUser),
		deleteResource: d.rebind(deleteResource),
	}
	for mask := range q.list {
		var b strings.Builder
		b.WriteString("SELECT seq, " + bindingColumns + " FROM rbac_role_bindings WHERE seq > ?")
		// A user has a few bindings and a resource a few dozen, while a
		// role or a resource type may have most of them. When a narrow
		// filter is there, the broad ones are checked row by row and
		// kept from choosing the index: a planner without statistics
		// (SQLite's, until someone runs ANALYZE) would otherwise walk
		// a role's whole index to find one user's bindings.
		narrow := mask&(filterUser|filterResource) != 0
		if mask&filterType != 0 {
			// The resource index starts with the type, so the type
			// stays usable next to a resource.
			b.WriteString(" AND " + d.unindexed("resource_type", narrow && mask&filterResource == 0) + " = ?")
		}
		if mask&filterUser != 0 {
			b.WriteString(" AND user_id = ?")
		}
		if mask&filterResource != 0 {
			b.WriteString(" AND resource_id = ?")
		}
		if mask&filterRole != 0 {
			b.WriteString(" AND " + d.unindexed("role_id", narrow) + " = ?")
		}
		b.WriteString(" ORDER BY seq LIMIT ?")
		q.list[mask] = d.rebind(b.String())
	}
	return q
}

// runner runs the store's operations either on the pool, one statement
// at a time, or inside one transaction (the store's own or the host's).
type runner struct {
	s  *Store
	tx *sql.Tx
	// rec, when not nil, collects the changes the runner records, for
	// the subscribers once the store's own transaction commits.
	rec *recorder
	// txStmts, when not nil, keeps the statements bound to tx for the
	// runner's next calls, for loops such as a batch create.
	txStmts map[string]*sql.Stmt
	// bulk says that tx is the store's own transaction, which only the
	// runner writes in; triggersAside, that the bulk triggers are
	// dropped in it for now (see bulkTriggers).
	bulk, triggersAside bool
}

// stmt returns the prepared statement for query, bound to the runner's
// transaction if it has one; done releases it.
func (r runner) stmt(ctx context.Context, query string) (st *sql.Stmt, done func(), err error) {
	st, err = r.s.prepared(query)
	if err != nil && r.tx != nil {
		// A query the store did not prepare, such as a batch insert of
		// some number of rows: prepared on the transaction's own
		// connection, and kept if the runner keeps statements.
		if txst, ok := r.txStmts[query]; ok {
			return txst, noop, nil
		}
		st, err = r.tx.PrepareContext(ctx, query)
		if err != nil {
			return nil, nil, err
		}
		if r.txStmts != nil {
			r.txStmts[query] = st
			return st, noop, nil
		}
		return st, func() { st.Close() }, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if r.tx == nil {
		return st, noop, nil
	}
	if r.txStmts != nil {
		if txst, ok := r.txStmts[query]; ok {
			return txst, noop, nil
		}
		// Closed with the transaction.
		txst := r.tx.StmtContext(ctx, st)
		r.txStmts[query] = txst
		return txst, noop, nil
	}
	st = r.tx.StmtContext(ctx, st)
	return st, func() { st.Close() }, nil
}

func noop() {}

func (r runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, done, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer done()
	return st.ExecContext(ctx, args...)
}

// queryRow runs a query that returns at most one row and scans it into
// dest; no row gives sql.ErrNoRows.
func (r runner) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, done, err := r.stmt(ctx, query)
	if err != nil {
		return err
	}
	defer done()
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// query runs a query and calls each for every row.
func (r runner) query(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	st, done, err := r.stmt(ctx, query)
	if err != nil {
		return err
	}
	defer done()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// scanned is a binding as read from a row.
type scanned struct {
	b                    rbac.Binding
	rt                   string
	createdAt, updatedAt int64
}

func (sc *scanned) dest() []any {
	return []any{&sc.b.ID, &sc.b.RoleID, &sc.b.UserID, &sc.rt, &sc.b.ResourceID, &sc.createdAt, &sc.updatedAt}
}

func (sc *scanned) binding() rbac.Binding {
	b := sc.b
	b.ResourceType = rbac.ResourceType(sc.rt)
	b.CreatedAt = fromMicros(sc.createdAt)
	b.UpdatedAt = fromMicros(sc.updatedAt)
	return b
}

// Timestamps are stored as microseconds since the Unix epoch: exact on
// every engine, and the precision of [rbac.StoreTime].
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func micros(t time.Time) int64 { return t.UnixMicro() }

// internal wraps an error that is none of the three categories.
func internal(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// nowTime is the store's clock in the form every timestamp is kept in.
func (r runner) nowTime() time.Time { return rbac.StoreTime(r.s.now()) }

// create inserts a validated binding. A unique-index error means that the
// new ID was taken or once used (the (user, resource) conflict is handled
// by ON CONFLICT), so it is tried again with another ID, where the
// statement's failure has not spoiled a transaction.
func (r runner) create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	now := r.nowTime()
	us := micros(now)
	for attempt := 1; ; attempt++ {
		id, err := r.s.newID()
		if err != nil {
			return rbac.Binding{}, internal("create", err)
		}
		res, err := r.exec(ctx, r.s.q.insert, id, nb.RoleID, nb.UserID, string(nb.ResourceType), nb.ResourceID, us, us, nb.RoleID)
		if err != nil {
			if r.s.d.isForeignKey(err) && r.s.d == PostgreSQL {
				// The role went between the check and the insert.
				return rbac.Binding{}, core.RoleNotFound(nb.RoleID)
			}
			if r.s.d.classify(err) == errUnique {
				if attempt < 3 && r.canRetryStatement() {
					continue
				}
				if r.rec != nil {
					// PostgreSQL failed the store's own transaction:
					// write runs it again, with a new ID.
					return rbac.Binding{}, fmt.Errorf("%w: %w", errIDTaken, err)
				}
			}
			return rbac.Binding{}, internal("create", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return rbac.Binding{}, internal("create", err)
		}
		if n == 0 {
			// The order of checks of the contract: the role (404)
			// before the (user, resource) slot (409).
			var roles int
			if err := r.queryRow(ctx, r.s.q.roleMissing, []any{nb.RoleID}, &roles); err != nil {
				return rbac.Binding{}, internal("create", err)
			}
			if roles == 0 {
				return rbac.Binding{}, core.RoleNotFound(nb.RoleID)
			}
			return rbac.Binding{}, core.SlotTaken(nb.UserID, nb.ResourceType, nb.ResourceID)
		}
		b := rbac.Binding{
			ID:           id,
			RoleID:       nb.RoleID,
			UserID:       nb.UserID,
			ResourceType: nb.ResourceType,
			ResourceID:   nb.ResourceID,
			CreatedAt:    now,
			UpdatedAt:    now,
		}
		if err := r.record(ctx, store.Change{Kind: store.BindingCreated, At: now, Binding: b}); err != nil {
			return rbac.Binding{}, internal("create", err)
		}
		return b, nil
	}
}

// canRetryStatement reports whether a failed statement can be followed by
// another in the same transaction. SQLite undoes just the statement;
// PostgreSQL fails the whole transaction.
func (r runner) canRetryStatement() bool { return r.tx == nil || r.s.d == SQLite }

func (r runner) get(ctx context.Context, id string) (rbac.Binding, error) {
	var sc scanned
	err := r.queryRow(ctx, r.s.q.get, []any{id}, sc.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return rbac.Binding{}, core.BindingNotFound(id)
	}
	if err != nil {
		return rbac.Binding{}, internal("get", err)
	}
	return sc.binding(), nil
}

// changeRole must run in a transaction: it reads the row, decides, and
// writes it, and nothing may change the row in between. PostgreSQL locks
// the row (FOR UPDATE); SQLite's write transactions hold the database's
// write lock from BEGIN IMMEDIATE.
func (r runner) changeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	// With the rule on, PostgreSQL takes the advisory locks before the
	// row lock, in the same round trip: see lastadmin.go for the order.
	var sc scanned
	var seq int64
	err := r.getForUpdate(ctx, id, &seq, &sc)
	if errors.Is(err, sql.ErrNoRows) {
		return rbac.Binding{}, core.BindingNotFound(id)
	}
	if err != nil {
		return rbac.Binding{}, internal("change role", err)
	}
	b := sc.binding()
	// The order of checks of the contract: the binding (404), the new
	// role (404), the precondition (409), "no change", then the last
	// administrator (409). The binding's
	// own role exists (a bound role cannot be deleted), so only a new one
	// is looked up.
	same := b.RoleID == c.RoleID
	if !same {
		ok, err := r.roleExists(ctx, c.RoleID)
		if err != nil {
			return rbac.Binding{}, internal("change role", err)
		}
		if !ok {
			return rbac.Binding{}, core.RoleNotFound(c.RoleID)
		}
	}
	if !c.IfUpdatedAt.IsZero() && !c.IfUpdatedAt.Equal(b.UpdatedAt) {
		return rbac.Binding{}, core.BindingChanged(id, b.UpdatedAt, c.IfUpdatedAt)
	}
	if same {
		return b, nil
	}
	if err := r.changeLeavesNoAdmin(ctx, b, c.RoleID); err != nil {
		return rbac.Binding{}, err
	}
	next := core.NextUpdate(r.s.now(), b.UpdatedAt)
	if _, err := r.exec(ctx, r.s.q.setRole, c.RoleID, micros(next), seq); err != nil {
		if r.s.d.isForeignKey(err) {
			return rbac.Binding{}, core.RoleNotFound(c.RoleID)
		}
		return rbac.Binding{}, internal("change role", err)
	}
	b.RoleID = c.RoleID
	b.UpdatedAt = next
	if err := r.record(ctx, store.Change{Kind: store.BindingRoleChanged, At: next, Binding: b}); err != nil {
		return rbac.Binding{}, internal("change role", err)
	}
	return b, nil
}

func (r runner) delete(ctx context.Context, id string) error {
	var sc scanned
	var err error
	if r.s.protect {
		err = r.deleteProtected(ctx, id, &sc)
		if errors.Is(err, rbac.ErrConflict) || errors.Is(err, rbac.ErrNotFound) {
			return err
		}
	} else {
		err = r.queryRow(ctx, r.s.q.delete, []any{id}, sc.dest()...)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return core.BindingNotFound(id)
	}
	if err != nil {
		return internal("delete", err)
	}
	if err := r.record(ctx, store.Change{Kind: store.BindingDeleted, At: r.nowTime(), Binding: sc.binding()}); err != nil {
		return internal("delete", err)
	}
	return nil
}

// deleteWhere runs one DELETE, so every matching binding goes in one
// atomic step, and returns how many went; when some did, the change ch
// is recorded.
func (r runner) deleteWhere(ctx context.Context, op string, ch store.Change, query string, args ...any) (int, error) {
	res, err := r.exec(ctx, query, args...)
	if err != nil {
		return 0, internal(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal(op, err)
	}
	if n > 0 {
		ch.At = r.nowTime()
		if err := r.record(ctx, ch); err != nil {
			return 0, internal(op, err)
		}
	}
	return int(n), nil
}

// list reads one page of a query checked by core.CheckList, after the
// sequence number its cursor carries. It asks for one row more than the
// limit to learn whether there is another page.
func (r runner) list(ctx context.Context, q rbac.ListQuery, after uint64) (rbac.Page, error) {
	if after > math.MaxInt64 {
		after = math.MaxInt64
	}
	args := make([]any, 0, 6)
	args = append(args, int64(after))
	mask := 0
	if q.ResourceType != "" {
		mask |= filterType
		args = append(args, string(q.ResourceType))
	}
	if q.UserID != "" {
		mask |= filterUser
		args = append(args, q.UserID)
	}
	if q.ResourceID != "" {
		mask |= filterResource
		args = append(args, q.ResourceID)
	}
	if q.RoleID != "" {
		mask |= filterRole
		args = append(args, q.RoleID)
	}
	args = append(args, q.Limit+1)
	page := rbac.Page{Bindings: make([]rbac.Binding, 0, q.Limit)}
	var last int64
	err := r.query(ctx, r.s.q.list[mask], args, func(rows *sql.Rows) error {
		if len(page.Bindings) == q.Limit {
			page.HasMore = true
			return nil
		}
		var sc scanned
		if err := rows.Scan(append([]any{&last}, sc.dest()...)...); err != nil {
			return err
		}
		page.Bindings = append(page.Bindings, sc.binding())
		return nil
	})
	if err != nil {
		return rbac.Page{}, internal("list", err)
	}
	if page.HasMore {
		page.NextCursor = r.s.cursors.Encode(q, uint64(last))
	}
	return page, nil
}
