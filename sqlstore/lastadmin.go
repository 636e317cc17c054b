package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
)

// The last-administrator rule ([Options].ProtectLastAdmin; package store,
// "The last administrator"), in SQL, inside the transaction of the write
// it judges.
//
// SQLite gives one write transaction at a time the database's write lock
// (BEGIN IMMEDIATE), across processes, so a check in the transaction sees
// every other write committed and none under way: it is atomic as it is.
//
// PostgreSQL runs writers side by side at READ COMMITTED: two deletes of
// a space's two administrators would each see the other's binding still
// there, and both commit. So protected writes take advisory locks, held
// to the end of the transaction, before they read anything they decide on:
//
//   - a binding delete or role change on a space takes the global lock
//     shared, then the space's lock (a key derived from its ID) exclusive:
//     writes on one space take turns, writes on different spaces do not
//     wait for each other;
//   - a role update that may take ROLE_BINDING_CREATE away takes the
//     global lock exclusive: it waits for the binding writes under way,
//     and new ones wait for it, since it decides about every space where
//     the role is bound.
//
// A binding delete or role change does it in one round trip: one call of
// a function of migration 0005 (rbac_delete_binding_protected,
// rbac_get_binding_for_update) takes the global lock, reads the binding's
// space and takes its lock, and then, in a statement of its own, deletes
// the binding unless it is the last administrator, or reads and locks its
// row for the change.
//
// This cannot deadlock. A transaction waiting for an advisory lock holds
// no row lock yet (each protected write takes its advisory locks before
// any statement of its that locks a row: the function reads the
// binding's space, which never changes, without a lock, and its
// statements that lock rows come after the advisory locks) and holds no
// advisory lock that comes later in the one order, global before space;
// a role update takes only the global one, in its first statement. So
// no cycle of waits goes through an advisory lock, and the row locks that
// follow are the ones every write took before. A first-administrator
// create (createFirstAdmin, below) takes the two locks of a binding
// delete, in the same order and before any row lock, so that two of them
// on one space take turns. Other writes that cannot take an
// administrator away (creates, cascades, role creates and deletes) take
// no advisory lock at all. In a host's transaction ([Store.WithTx]) the
// locks are held until the host commits; a host transaction that already
// holds row locks of other writes can meet a deadlock there, which
// PostgreSQL breaks by failing one transaction (the store's own are run
// again).
//
// The checks after the locks see what committed before them because each
// statement at READ COMMITTED takes a new snapshot, and so does each
// statement inside a VOLATILE function (the PostgreSQL manual, "Function
// Volatility Categories"): the function's DELETE or SELECT ... FOR UPDATE
// starts after its locks were granted. A host transaction at
// REPEATABLE READ would keep the snapshot of its first statement, taken
// before the locks were granted; the package documentation asks hosts
// not to run protected writes at that level.

// adminQueries are the rule's queries for one dialect.
type adminQueries struct {
	// delete deletes a binding unless it is the last administrator of
	// its space; no row is a binding that is not there or is refused.
	delete string
	// change counts 1 when changing a binding to a role leaves its space
	// without an administrator.
	change string
	// role gives the first space, by ID, that taking the administrator's
	// permission from a role would leave without one.
	role string
	// getForUpdate, on PostgreSQL, takes the advisory locks of a role
	// change to a binding, then reads its row for update (seq, then
	// bindingColumns); empty on SQLite.
	getForUpdate string
	// lockRoles takes the global lock exclusive on PostgreSQL; empty on
	// SQLite.
	lockRoles string
	// firstAdmin reads, for a first-administrator create, whether its
	// role holds the administrator's permission (1 or 0; NULL for no
	// such role) and whether its space has an administrator (1 or 0).
	firstAdmin string
	// lockGlobalShared and lockSpace take, on PostgreSQL, the global
	// lock shared and a space's lock exclusive, for a first-administrator
	// create; empty on SQLite.
	lockGlobalShared, lockSpace string
}

// The PostgreSQL advisory lock keys, in the two-integer key space (which
// does not overlap the single bigint key of the migrations): a class for
// the spaces, keyed by hashtext of the space ID (two spaces with one key
// only take turns when they need not), and the global lock, key 0.
const (
	adminSpaceLockClass  = 0x72626173 // "rbas"
	adminGlobalLockClass = 0x72626167 // "rbag"
)

func makeAdminQueries(d *Dialect) adminQueries {
	// A role holds the administrator's permission when its holds_admin
	// column says so: a column the database computes from the
	// permissions (migration 0005), so the rule is written once.
	//
	// otherAdmin is the condition that the space of binding alias has
	// an administrator other than those the write touches (other).
	otherAdmin := func(alias, other string) string {
		return `EXISTS (SELECT 1 FROM rbac_role_bindings o JOIN rbac_roles ro ON ro.id = o.role_id
			WHERE o.resource_type = ` + alias + `.resource_type AND o.resource_id = ` + alias + `.resource_id AND ` + other + ` AND ro.holds_admin)`
	}
	// lastOfSpace is the condition that binding alias is the last
	// administrator of its space, with one ? for the resource type of
	// spaces.
	lastOfSpace := func(alias string) string {
		return alias + `.resource_type = ? AND EXISTS (SELECT 1 FROM rbac_roles r WHERE r.id = ` + alias + `.role_id AND r.holds_admin)
			AND NOT ` + otherAdmin(alias, "o.id <> "+alias+".id")
	}
	q := adminQueries{
		delete: d.rebind(`DELETE FROM rbac_role_bindings WHERE id = ? AND NOT EXISTS (
			SELECT 1 FROM rbac_role_bindings b WHERE b.id = ? AND ` + lastOfSpace("b") + `) RETURNING ` + bindingColumns),
		change: d.rebind(`SELECT count(*) FROM rbac_role_bindings b WHERE b.id = ? AND ` + lastOfSpace("b") + `
			AND NOT EXISTS (SELECT 1 FROM rbac_roles n WHERE n.id = ? AND n.holds_admin)`),
		firstAdmin: d.rebind(`SELECT (SELECT CASE WHEN r.holds_admin THEN 1 ELSE 0 END FROM rbac_roles r WHERE r.id = ?),
			CASE WHEN EXISTS (SELECT 1 FROM rbac_role_bindings o JOIN rbac_roles ro ON ro.id = o.role_id
				WHERE o.resource_type = ? AND o.resource_id = ? AND ro.holds_admin) THEN 1 ELSE 0 END`),
		role: d.rebind(`SELECT b.resource_id FROM rbac_role_bindings b
			WHERE b.role_id = ? AND b.resource_type = ? AND NOT ` + otherAdmin("b", "o.role_id <> b.role_id") + `
			ORDER BY b.resource_id LIMIT 1`),
	}
	if d == PostgreSQL {
		// One call, one round trip: the functions of migration 0005 take
		// the advisory locks and then, in a statement of their own with
		// a snapshot of its own, run the DELETE above (the same query,
		// spelled out in the function: a change to one needs a new
		// migration for the other) or read the row for update.
		q.delete = `SELECT * FROM rbac_delete_binding_protected($1, $2, $3, $4)`
		q.getForUpdate = `SELECT * FROM rbac_get_binding_for_update($1, $2, $3, $4)`
		q.lockRoles = `SELECT pg_advisory_xact_lock(CAST($1 AS integer), CAST($2 AS integer))`
		// The same keys as the functions': hashtext of the space's ID.
		q.lockGlobalShared = `SELECT pg_advisory_xact_lock_shared(CAST($1 AS integer), 0)`
		q.lockSpace = `SELECT pg_advisory_xact_lock(CAST($1 AS integer), hashtext($2))`
	}
	return q
}

func (q adminQueries) prepared() []string {
	out := []string{q.delete, q.change, q.role, q.firstAdmin}
	if q.getForUpdate != "" {
		out = append(out, q.getForUpdate, q.lockRoles, q.lockGlobalShared, q.lockSpace)
	}
	return out
}

// getForUpdate reads binding id into sc, and its seq, and locks its row
// to the end of the transaction, for a role change: on PostgreSQL with
// the rule on, after the advisory locks of the change (see above), in the
// same round trip. No binding gives sql.ErrNoRows.
func (r runner) getForUpdate(ctx context.Context, id string, seq *int64, sc *scanned) error {
	dest := append([]any{seq}, sc.dest()...)
	if q := &r.s.rq.admin; r.s.protect && q.getForUpdate != "" {
		return r.queryRow(ctx, q.getForUpdate, []any{id, int32(adminSpaceLockClass), int32(adminGlobalLockClass), string(rbac.Space)}, dest...)
	}
	return r.queryRow(ctx, r.s.q.getForUpdate, []any{id}, dest...)
}

// lockRoles takes, on PostgreSQL with the rule on, the global lock
// exclusive for a role update that sets the permissions perms.
func (r runner) lockRoles(ctx context.Context, perms []string) error {
	q := &r.s.rq.admin
	if !r.s.protect || q.lockRoles == "" || perms == nil || core.HoldsAdmin(perms) {
		return nil
	}
	_, err := r.exec(ctx, q.lockRoles, int32(adminGlobalLockClass), int32(0))
	return err
}

// deleteProtected deletes binding id unless the rule refuses, reading it
// into sc, in one round trip; on PostgreSQL its one call takes the
// advisory locks first. It returns the rule's error, or the binding's not-found error.
func (r runner) deleteProtected(ctx context.Context, id string, sc *scanned) error {
	q := &r.s.rq.admin
	args := []any{id, id, string(rbac.Space)}
	if r.s.d == PostgreSQL {
		// The function takes the advisory locks first (see above).
		args = []any{id, int32(adminSpaceLockClass), int32(adminGlobalLockClass), string(rbac.Space)}
	}
	err := r.queryRow(ctx, q.delete, args, sc.dest()...)
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// No row deleted: the binding is not there, or the rule kept it.
	b, err := r.get(ctx, id)
	if err != nil {
		return err
	}
	return core.LastAdmin(b.ResourceID)
}

// changeLeavesNoAdmin returns the rule's error when changing binding b
// to role roleID would leave its space without an administrator.
func (r runner) changeLeavesNoAdmin(ctx context.Context, b rbac.Binding, roleID string) error {
	if !r.s.protect || b.ResourceType != rbac.Space {
		return nil
	}
	var n int
	err := r.queryRow(ctx, r.s.rq.admin.change, []any{b.ID, string(rbac.Space), roleID}, &n)
	if err != nil {
		return internal("change role", err)
	}
	if n > 0 {
		return core.LastAdmin(b.ResourceID)
	}
	return nil
}

// roleLeavesNoAdmin returns the rule's error when taking the
// administrator's permission from role id would leave a space without
// one, naming the first such space by ID.
func (r runner) roleLeavesNoAdmin(ctx context.Context, id string) error {
	var space string
	err := r.queryRow(ctx, r.s.rq.admin.role, []any{id, string(rbac.Space)}, &space)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("update role", err)
	}
	return core.LastAdmin(space)
}

// createFirstAdmin creates nb, a binding on a space, unless its role is
// not an administrator's or the space has an administrator
// ([store.FirstAdminCreator]), whether or not the store keeps the rule.
// SQLite's write transaction makes the check and the create one step as
// it is. On PostgreSQL the create first takes the global lock shared and
// the space's lock exclusive, each in a statement of its own, before the
// statement that checks, as a protected delete does (see above): two
// first-administrator creates on one space take turns, and the second
// one's check, a statement that starts after its locks were granted,
// sees the first one's binding. It takes no row lock before them, so the
// deadlock argument above holds for it too.
func (r runner) createFirstAdmin(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	q := &r.s.rq.admin
	if q.lockSpace != "" {
		if _, err := r.exec(ctx, q.lockGlobalShared, int32(adminGlobalLockClass)); err != nil {
			return rbac.Binding{}, internal("create", err)
		}
		if _, err := r.exec(ctx, q.lockSpace, int32(adminSpaceLockClass), nb.ResourceID); err != nil {
			return rbac.Binding{}, internal("create", err)
		}
	}
	var roleAdmin sql.NullInt64
	var spaceAdmin int
	if err := r.queryRow(ctx, q.firstAdmin, []any{nb.RoleID, string(rbac.Space), nb.ResourceID}, &roleAdmin, &spaceAdmin); err != nil {
		return rbac.Binding{}, internal("create", err)
	}
	switch {
	case !roleAdmin.Valid:
		return rbac.Binding{}, core.RoleNotFound(nb.RoleID)
	case roleAdmin.Int64 == 0:
		return rbac.Binding{}, core.NotAdminRole()
	case spaceAdmin != 0:
		return rbac.Binding{}, core.SpaceHasAdmin(nb.ResourceID)
	}
	return r.create(ctx, nb)
}
