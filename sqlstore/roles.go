package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

const roleColumns = "id, name, description, permissions, predefined, created_at, updated_at"

// roleQueries are the role queries for one dialect.
type roleQueries struct {
	all, get, getForUpdate, list, insert, update, delete, bound, lock, nameTaken string
	// admin is the last-administrator rule's, which binding writes use
	// too: it is about what roles hold.
	admin adminQueries
}

func makeRoleQueries(d *Dialect) roleQueries {
	sel := "SELECT seq, " + roleColumns + " FROM rbac_roles"
	return roleQueries{
		all:          sel + " ORDER BY seq",
		get:          d.rebind(sel + " WHERE id = ?"),
		getForUpdate: d.rebind(sel + " WHERE id = ?" + d.forUpdate),
		list:         d.rebind(sel + " WHERE seq > ? ORDER BY seq LIMIT ?"),
		// A name taken by another role inserts no row: a conflict
		// without an error, which would end a PostgreSQL transaction.
		insert: d.rebind(`INSERT INTO rbac_roles (` + roleColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`),
		update: d.rebind("UPDATE rbac_roles SET name = ?, description = ?, permissions = ?, updated_at = ? WHERE seq = ?"),
		delete: d.rebind("DELETE FROM rbac_roles WHERE seq = ?"),
		bound:  d.rebind("SELECT count(*) FROM (SELECT 1 FROM rbac_role_bindings WHERE role_id = ? LIMIT 1) AS b"),
		// lock reads a role that a binding is about to name, and keeps
		// it from being deleted until the transaction ends (PostgreSQL:
		// FOR KEY SHARE, which a concurrent DeleteRole's row lock waits
		// for and which waits for it; SQLite: the write lock).
		lock:      d.rebind("SELECT count(*) FROM (SELECT 1 FROM rbac_roles WHERE id = ?" + d.keyShare() + ") AS r"),
		nameTaken: d.rebind("SELECT count(*) FROM rbac_roles WHERE name = ?"),
		admin:     makeAdminQueries(d),
	}
}

func (q roleQueries) prepared() []string {
	return append([]string{q.all, q.get, q.getForUpdate, q.list, q.insert, q.update, q.delete, q.bound, q.lock, q.nameTaken}, q.admin.prepared()...)
}

// roleRow is a role as read from a row.
type roleRow struct {
	r                    rbac.Role
	perms                string
	createdAt, updatedAt int64
	seq                  int64
}

func (rr *roleRow) dest() []any {
	return []any{&rr.seq, &rr.r.ID, &rr.r.Name, &rr.r.Description, &rr.perms, &rr.r.Predefined, &rr.createdAt, &rr.updatedAt}
}

func (rr *roleRow) role() rbac.Role {
	r := rr.r
	r.Permissions = strings.Fields(rr.perms)
	r.CreatedAt = fromMicros(rr.createdAt)
	r.UpdatedAt = fromMicros(rr.updatedAt)
	return r
}

// permissionsColumn is the stored form of a sorted permission set.
func permissionsColumn(perms []string) string { return strings.Join(perms, " ") }

// scanRoles runs a role query and calls each for every role.
func (r runner) scanRoles(ctx context.Context, query string, args []any, each func(rbac.Role, int64) error) error {
	return r.query(ctx, query, args, func(rows *sql.Rows) error {
		var rr roleRow
		if err := rows.Scan(rr.dest()...); err != nil {
			return err
		}
		return each(rr.role(), rr.seq)
	})
}

// getRole reads one role; ok is false when there is none.
func (r runner) getRole(ctx context.Context, query, id string) (rr roleRow, ok bool, err error) {
	err = r.queryRow(ctx, query, []any{id}, rr.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return roleRow{}, false, nil
	}
	return rr, err == nil, err
}

// roleExists reports whether the role exists, and on PostgreSQL keeps it
// so until the transaction ends.
func (r runner) roleExists(ctx context.Context, id string) (bool, error) {
	var n int
	err := r.queryRow(ctx, r.s.rq.lock, []any{id}, &n)
	return n > 0, err
}

// keyShare is appended to a SELECT of a role that a binding is about to
// name: PostgreSQL's FOR KEY SHARE keeps the row from being deleted until
// the transaction ends, and is what the foreign key takes too. SQLite's
// write transactions hold the write lock from BEGIN IMMEDIATE instead.
func (d *Dialect) keyShare() string {
	if d == PostgreSQL {
		return " FOR KEY SHARE"
	}
	return ""
}

// isForeignKey reports whether err is the database refusing a binding
// whose role does not exist, or the delete of a role that has bindings:
// PostgreSQL's foreign_key_violation (23503); on SQLite, the constraint
// error of the triggers that keep the same rule (SQLITE_CONSTRAINT_TRIGGER,
// which the store's own writes never cause otherwise when they touch
// roles: the retired role ID trigger fires only for an ID the generator
// never hands out).
func (d *Dialect) isForeignKey(err error) bool {
	if d == PostgreSQL {
		var se sqlStater
		return errors.As(err, &se) && se.SQLState() == "23503"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER
}

// roleID checks a role ID argument (field "id").
func (s *Store) roleID(id string) (string, error) {
	return s.v.ID("id", ids.Role, id)
}

// CreateRole stores a new custom role; see [store.RoleStore.CreateRole].
func (s *Store) CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error) {
	nr, err := s.v.NewRole(s.vocab, nr)
	if err != nil {
		return rbac.Role{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Role{}, internal("create role", err)
	}
	var out rbac.Role
	err = s.write(ctx, func(r runner) error {
		now := r.nowTime()
		us := micros(now)
		for attempt := 1; ; attempt++ {
			id, err := s.v.Types().NewID(ids.Role)
			if err != nil {
				return internal("create role", err)
			}
			res, err := r.exec(ctx, s.rq.insert, id, nr.Name, nr.Description, permissionsColumn(nr.Permissions), false, us, us)
			if err != nil {
				// A used role ID (which the generator never hands out)
				// fails the statement: SQLite undoes it alone.
				if s.d.classify(err) == errUnique && attempt < 3 && s.d == SQLite {
					continue
				}
				return internal("create role", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return internal("create role", err)
			} else if n == 0 {
				return core.NameTaken(nr.Name)
			}
			out = rbac.Role{ID: id, Name: nr.Name, Description: nr.Description, Permissions: nr.Permissions, CreatedAt: now, UpdatedAt: now}
			return r.record(ctx, store.Change{Kind: store.RoleCreated, At: now, Role: cloneRole(out)})
		}
	})
	if err != nil {
		return rbac.Role{}, withCtxErr(ctx, err)
	}
	return out, nil
}

func cloneRole(r rbac.Role) rbac.Role {
	r.Permissions = slices.Clone(r.Permissions)
	return r
}

// GetRole returns a role; see [store.RoleStore.GetRole].
func (s *Store) GetRole(ctx context.Context, id string) (rbac.Role, error) {
	id, err := s.roleID(id)
	if err != nil {
		return rbac.Role{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Role{}, internal("get role", err)
	}
	var rr roleRow
	var ok bool
	err = s.retry(ctx, func() (err error) {
		rr, ok, err = s.pool().getRole(ctx, s.rq.get, id)
		return err
	})
	if err != nil {
		return rbac.Role{}, internal("get role", err)
	}
	if !ok {
		return rbac.Role{}, core.RoleNotFound(id)
	}
	return rr.role(), nil
}

// UpdateRole updates a custom role; see [store.RoleStore.UpdateRole]. The
// read, the checks and the write are one transaction.
func (s *Store) UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error) {
	id, idErr := s.roleID(id)
	u, uErr := s.v.RoleUpdate(s.vocab, u)
	if err := rbac.JoinInvalid(idErr, uErr); err != nil {
		return rbac.Role{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Role{}, internal("update role", err)
	}
	var out rbac.Role
	err := s.write(ctx, func(r runner) error {
		// Before the role's row lock: see lastadmin.go for the order.
		if err := r.lockRoles(ctx, u.Permissions); err != nil {
			return internal("update role", err)
		}
		rr, ok, err := r.getRole(ctx, s.rq.getForUpdate, id)
		if err != nil {
			return internal("update role", err)
		}
		if !ok {
			return core.RoleNotFound(id)
		}
		old := rr.role()
		switch {
		case old.Predefined:
			return core.PredefinedRole()
		case !u.IfUpdatedAt.IsZero() && !u.IfUpdatedAt.Equal(old.UpdatedAt):
			return core.RoleChanged(id, old.UpdatedAt, u.IfUpdatedAt)
		}
		next, changed := core.MergeRole(old, u)
		if !changed {
			out = old
			return nil
		}
		next.UpdatedAt = core.NextUpdate(r.nowTime(), old.UpdatedAt)
		if next.Name != old.Name {
			taken, err := r.nameTaken(ctx, next.Name)
			if err != nil {
				return internal("update role", err)
			}
			if taken {
				return core.NameTaken(next.Name)
			}
		}
		// The last administrator, after the taken name (the order of
		// checks). The role's row lock keeps new bindings off the role
		// meanwhile; on PostgreSQL the global lock keeps binding deletes
		// and role changes out.
		if s.protect && core.DropsAdmin(old.Permissions, next.Permissions) {
			if err := r.roleLeavesNoAdmin(ctx, id); err != nil {
				return err
			}
		}
		_, err = r.exec(ctx, s.rq.update, next.Name, next.Description, permissionsColumn(next.Permissions), micros(next.UpdatedAt), rr.seq)
		if err != nil {
			if s.d.classify(err) == errUnique {
				// Another transaction took the name meanwhile.
				return core.NameTaken(next.Name)
			}
			return internal("update role", err)
		}
		out = next
		return r.record(ctx, store.Change{Kind: store.RoleUpdated, At: next.UpdatedAt, Role: cloneRole(next)})
	})
	if err != nil {
		return rbac.Role{}, withCtxErr(ctx, err)
	}
	return out, nil
}

// nameTaken reports whether a role has the name.
func (r runner) nameTaken(ctx context.Context, name string) (bool, error) {
	var n int
	err := r.queryRow(ctx, r.s.rq.nameTaken, []any{name}, &n)
	return n > 0, err
}

// DeleteRole deletes a custom role that has no bindings; see
// [store.RoleStore.DeleteRole]. The role's row is locked first (SQLite:
// the write lock), so a binding create for the role either committed
// before, and is seen by the check that follows, or waits and then finds
// no role. The database refuses the delete of a bound role too (foreign
// key on PostgreSQL, a trigger on SQLite); that error is a conflict.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	id, err := s.roleID(id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return internal("delete role", err)
	}
	err = s.write(ctx, func(r runner) error {
		rr, ok, err := r.getRole(ctx, s.rq.getForUpdate, id)
		if err != nil {
			return internal("delete role", err)
		}
		if !ok {
			return core.RoleNotFound(id)
		}
		if rr.r.Predefined {
			return core.PredefinedRole()
		}
		var bound int
		if err := r.queryRow(ctx, s.rq.bound, []any{id}, &bound); err != nil {
			return internal("delete role", err)
		}
		if bound > 0 {
			return core.RoleBound(id)
		}
		if _, err := r.exec(ctx, s.rq.delete, rr.seq); err != nil {
			if s.d.isForeignKey(err) {
				// The database's own rule (the trigger's error on
				// SQLite) caught a binding the check did not see.
				return core.RoleBound(id)
			}
			return internal("delete role", err)
		}
		return r.record(ctx, store.Change{Kind: store.RoleDeleted, At: r.nowTime(), Role: rr.role()})
	})
	return withCtxErr(ctx, err)
}

// ListRoles returns one page of roles; see [store.RoleStore.ListRoles].
func (s *Store) ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error) {
	q, after, err := core.CheckRoleQuery(s.v, s.cursors, q)
	if err != nil {
		return rbac.RolePage{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.RolePage{}, internal("list roles", err)
	}
	after = min(after, math.MaxInt64)
	var page rbac.RolePage
	err = s.retry(ctx, func() error {
		page = rbac.RolePage{Roles: make([]rbac.Role, 0, q.Limit)}
		var last int64
		err := s.pool().scanRoles(ctx, s.rq.list, []any{int64(after), q.Limit + 1}, func(ro rbac.Role, seq int64) error {
			if len(page.Roles) == q.Limit {
				page.HasMore = true
				return nil
			}
			page.Roles = append(page.Roles, ro)
			last = seq
			return nil
		})
		if page.HasMore {
			page.NextCursor = s.cursors.Encode(store.RoleCursorQuery(), uint64(last))
		}
		return err
	})
	if err != nil {
		return rbac.RolePage{}, internal("list roles", err)
	}
	return page, nil
}

// dbtx is what loading the catalogue needs of the migration's connection
// or transaction.
type dbtx interface {
	execQuerier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadCatalogue brings the stored predefined roles in line with the
// catalogue, in the transaction that holds the migration lock (so two
// processes opening the database at once take turns): a catalogue role
// that is not stored is inserted (a RoleCreated change), a stored one
// whose name, description or permissions differ is updated (a RoleUpdated
// change), and a stored predefined role that the catalogue no longer has
// is left as it is, since bindings may name it. Roles are inserted in
// catalogue order, so a new database lists them in that order.
//
// upgraded says that this transaction brought the schema to the version
// that made bindings name roles: then every role that the existing
// bindings name must be in the database once the catalogue is in, or the
// upgrade is refused and the transaction rolled back.
func loadCatalogue(ctx context.Context, ex dbtx, d *Dialect, catalogue []rbac.Role, now time.Time, upgraded bool) error {
	stored := map[string]roleRow{}
	names := map[string]string{} // name → id, of every stored role
	rows, err := ex.QueryContext(ctx, "SELECT seq, "+roleColumns+" FROM rbac_roles")
	if err != nil {
		return fmt.Errorf("sqlstore: load catalogue: %w", err)
	}
	for rows.Next() {
		var rr roleRow
		if err := rows.Scan(rr.dest()...); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: load catalogue: %w", err)
		}
		stored[rr.r.ID] = rr
		names[rr.r.Name] = rr.r.ID
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: load catalogue: %w", err)
	}
	rows.Close()
	at := rbac.StoreTime(now)
	us := micros(at)
	var changes, created []store.Change
	for _, want := range catalogue {
		if holder, ok := names[want.Name]; ok && holder != want.ID {
			return fmt.Errorf("sqlstore: catalogue role %s: the name %q belongs to stored role %s", want.ID, want.Name, holder)
		}
		rr, ok := stored[want.ID]
		if !ok {
			r := cloneRole(want)
			r.CreatedAt, r.UpdatedAt = at, at
			created = append(created, store.Change{Kind: store.RoleCreated, At: at, Role: r})
			names[want.Name] = want.ID
			continue
		}
		old := rr.role()
		if !old.Predefined {
			return fmt.Errorf("sqlstore: catalogue role %s: a custom role has that id", want.ID)
		}
		if old.Name == want.Name && old.Description == want.Description && slices.Equal(old.Permissions, want.Permissions) {
			continue
		}
		next := cloneRole(want)
		next.CreatedAt = old.CreatedAt
		next.UpdatedAt = core.NextUpdate(at, old.UpdatedAt)
		_, err := ex.ExecContext(ctx, d.rebind("UPDATE rbac_roles SET name = ?, description = ?, permissions = ?, updated_at = ? WHERE seq = ?"),
			next.Name, next.Description, permissionsColumn(next.Permissions), micros(next.UpdatedAt), rr.seq)
		if err != nil {
			return fmt.Errorf("sqlstore: update catalogue role %s: %w", want.ID, err)
		}
		delete(names, old.Name)
		names[next.Name] = next.ID
		changes = append(changes, store.Change{Kind: store.RoleUpdated, At: next.UpdatedAt, Role: next})
	}
	// The new roles go in after the updates (which may free a name one
	// of them takes), many rows a statement: a new database gets its
	// whole catalogue in a few statements.
	for k := 0; k < len(created); k += catalogueChunk {
		chunk := created[k:min(len(created), k+catalogueChunk)]
		var b strings.Builder
		args := make([]any, 0, 7*len(chunk))
		b.WriteString("INSERT INTO rbac_roles (" + roleColumns + ") VALUES ")
		for i, ch := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			r := ch.Role
			args = append(args, r.ID, r.Name, r.Description, permissionsColumn(r.Permissions), true, us, us)
		}
		if _, err := ex.ExecContext(ctx, d.rebind(b.String()), args...); err != nil {
			return fmt.Errorf("sqlstore: store the catalogue's roles: %w", err)
		}
	}
	changes = append(changes, created...)
	if upgraded {
		if err := checkBoundRoles(ctx, ex, d); err != nil {
			return err
		}
	}
	if len(changes) == 0 {
		return nil
	}
	payloads, err := payloadsOf(changes)
	if err != nil {
		return fmt.Errorf("sqlstore: load catalogue: %w", err)
	}
	_, err = appendChanges(d, payloads, func(query string, args []any, each func(*sql.Rows) error) error {
		rows, err := ex.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sqlstore: load catalogue: record the changes: %w", err)
	}
	return nil
}

// catalogueChunk is how many roles one INSERT of the catalogue carries.
const catalogueChunk = 100

// checkBoundRoles refuses an upgrade that would leave bindings naming
// roles that do not exist, and, on PostgreSQL, validates the foreign key
// that the migration added for new rows only.
func checkBoundRoles(ctx context.Context, ex dbtx, d *Dialect) error {
	rows, err := ex.QueryContext(ctx, `SELECT DISTINCT role_id FROM rbac_role_bindings
		WHERE role_id NOT IN (SELECT id FROM rbac_roles) ORDER BY role_id LIMIT 20`)
	if err != nil {
		return fmt.Errorf("sqlstore: check the roles of existing bindings: %w", err)
	}
	var missing []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: check the roles of existing bindings: %w", err)
		}
		missing = append(missing, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: check the roles of existing bindings: %w", err)
	}
	rows.Close()
	if len(missing) > 0 {
		return &UnknownRolesError{RoleIDs: missing}
	}
	if d == PostgreSQL {
		if _, err := ex.ExecContext(ctx, "ALTER TABLE rbac_role_bindings VALIDATE CONSTRAINT rbac_role_bindings_role_fk"); err != nil {
			return fmt.Errorf("sqlstore: validate the roles of existing bindings: %w", err)
		}
	}
	return nil
}

// UnknownRolesError refuses the upgrade of a database made before the
// store kept roles (schema version 2 or older) whose bindings name roles
// that the catalogue the store was opened with does not define. The
// upgrade is one transaction, rolled back: the database is left as it was.
// Open the store with a catalogue ([Options].Catalogue) that holds those
// role IDs as predefined roles, with the permissions they are meant to
// grant, or delete their bindings first.
type UnknownRolesError struct {
	// RoleIDs are the role IDs named by bindings and by no role (at most
	// 20 of them, sorted).
	RoleIDs []string
}

func (e *UnknownRolesError) Error() string {
	return fmt.Sprintf("sqlstore: upgrade refused, database left unchanged: existing role bindings name roles that the catalogue does not define (%s); open the store with a catalogue (Options.Catalogue) that holds them as predefined roles, or delete those bindings first",
		strings.Join(e.RoleIDs, ", "))
}
