package sqlstore

import (
	"context"
	"database/sql"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// The binding operations. Each validates every input before it looks
// anything up, then runs with read or write, which decide whether it runs
// on the pool or in the host's transaction (see [Store.WithTx]).

// Create implements [store.Store].
func (s *Store) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return s.create(ctx, nb, false)
}

// CreateFirstAdmin implements [store.FirstAdminCreator].
func (s *Store) CreateFirstAdmin(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return s.create(ctx, nb, true)
}

// create is Create, and CreateFirstAdmin when first is set.
func (s *Store) create(ctx context.Context, nb rbac.NewBinding, first bool) (b rbac.Binding, err error) {
	rt := nb.ResourceType
	nb, err = s.v.NewBinding(nb)
	if first {
		err = core.FirstAdminInput(rt, err)
	}
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("create", err)
	}
	err = s.write(ctx, func(r runner) (err error) {
		if first {
			b, err = r.createFirstAdmin(ctx, nb)
		} else {
			b, err = r.create(ctx, nb)
		}
		return err
	})
	return b, err
}

// Get implements [store.Store].
func (s *Store) Get(ctx context.Context, id string) (b rbac.Binding, err error) {
	id, err = s.v.BindingID(id)
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("get", err)
	}
	err = s.read(ctx, func(r runner) (err error) {
		b, err = r.get(ctx, id)
		return err
	})
	return b, err
}

// ChangeRole implements [store.Store]. The read, the checks and the write
// happen in one transaction.
func (s *Store) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (b rbac.Binding, err error) {
	// Both inputs are checked so that every problem is reported at once.
	id, idErr := s.v.BindingID(id)
	c, cErr := s.v.RoleChange(c)
	if err := rbac.JoinInvalid(idErr, cErr); err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("change role", err)
	}
	err = s.write(ctx, func(r runner) (err error) {
		b, err = r.changeRole(ctx, id, c)
		return err
	})
	return b, err
}

// Delete implements [store.Store].
func (s *Store) Delete(ctx context.Context, id string) error {
	id, err := s.v.BindingID(id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return internal("delete", err)
	}
	return s.write(ctx, func(r runner) error { return r.delete(ctx, id) })
}

// List implements [store.Store].
func (s *Store) List(ctx context.Context, q rbac.ListQuery) (p rbac.Page, err error) {
	q, after, err := core.CheckList(s.v, s.cursors, q)
	if err != nil {
		return rbac.Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Page{}, internal("list", err)
	}
	err = s.read(ctx, func(r runner) (err error) {
		p, err = r.list(ctx, q, after)
		return err
	})
	return p, err
}

// DeleteUserBindings implements [store.Store].
func (s *Store) DeleteUserBindings(ctx context.Context, userID string) (n int, err error) {
	userID, err = s.v.UserID(userID)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, internal("delete user bindings", err)
	}
	err = s.write(ctx, func(r runner) (err error) {
		ch := store.Change{Kind: store.UserBindingsDeleted, Binding: rbac.Binding{UserID: userID}}
		n, err = r.deleteWhere(ctx, "delete user bindings", ch, s.q.deleteUser, userID)
		return err
	})
	return n, err
}

// DeleteResourceBindings implements [store.Store].
func (s *Store) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (n int, err error) {
	resourceID, err = s.v.Resource(rt, resourceID)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, internal("delete resource bindings", err)
	}
	err = s.write(ctx, func(r runner) (err error) {
		ch := store.Change{Kind: store.ResourceBindingsDeleted, Binding: rbac.Binding{ResourceType: rt, ResourceID: resourceID}}
		n, err = r.deleteWhere(ctx, "delete resource bindings", ch, s.q.deleteResource, string(rt), resourceID)
		return err
	})
	return n, err
}

// TxStore is a [Store] whose operations run inside a transaction the host
// began, so that the host's own writes and the store's commit together or
// not at all: a project and its owner's binding, say, or a custom role and
// its first binding. The store neither commits nor rolls back; the host
// does. Make one with [Store.WithTx].
//
// When an operation returns an internal error, the host should roll the
// transaction back (on PostgreSQL a failed statement fails the whole
// transaction). Invalid input, a missing binding, role or project, and
// the conflicts the store checks for before it writes (a user's second
// binding on a resource, a role name already taken when it looks, a role
// that has bindings) leave the transaction usable. On PostgreSQL, a
// conflict or a missing role that the database itself catches, because
// another transaction committed in between the store's check and its
// write, fails the transaction as well.
//
// A TxStore is as safe for concurrent use as the transaction it runs in,
// which database/sql serialises.
type TxStore struct {
	s *Store
}

var (
	_ store.Store             = (*TxStore)(nil)
	_ store.RoleStore         = (*TxStore)(nil)
	_ store.ResourceStore     = (*TxStore)(nil)
	_ store.FirstAdminCreator = (*TxStore)(nil)
)

// WithTx returns the store's operations run in tx, which the host began on
// the store's database ([Store.DB]). On SQLite, begin it there too: the
// store's database begins transactions with BEGIN IMMEDIATE, which a
// transaction that reads before it writes needs.
//
// Each write appends its change to the feed in tx, with the next
// revision, so it is in the feed exactly when the host commits, in the
// order of the writes. Until then, on PostgreSQL, tx holds the revision
// counter's row lock, and other writers of the database wait for it: keep
// such transactions short. The Store's subscribers are not called for
// these writes (the store does not see the commit); followers read them
// from the feed.
func (s *Store) WithTx(tx *sql.Tx) *TxStore {
	return &TxStore{s: &Store{shared: s.shared, tx: tx}}
}

// Create implements [store.Store].
func (t *TxStore) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return t.s.Create(ctx, nb)
}

// CreateFirstAdmin implements [store.FirstAdminCreator]. On PostgreSQL
// its advisory locks are held until the host's transaction ends.
func (t *TxStore) CreateFirstAdmin(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return t.s.CreateFirstAdmin(ctx, nb)
}

// Get implements [store.Store].
func (t *TxStore) Get(ctx context.Context, id string) (rbac.Binding, error) {
	return t.s.Get(ctx, id)
}

// ChangeRole implements [store.Store].
func (t *TxStore) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	return t.s.ChangeRole(ctx, id, c)
}

// Delete implements [store.Store].
func (t *TxStore) Delete(ctx context.Context, id string) error {
	return t.s.Delete(ctx, id)
}

// List implements [store.Store].
func (t *TxStore) List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error) {
	return t.s.List(ctx, q)
}

// DeleteUserBindings implements [store.Store].
func (t *TxStore) DeleteUserBindings(ctx context.Context, userID string) (int, error) {
	return t.s.DeleteUserBindings(ctx, userID)
}

// DeleteResourceBindings implements [store.Store].
func (t *TxStore) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	return t.s.DeleteResourceBindings(ctx, rt, resourceID)
}

// CreateRole implements [store.RoleStore].
func (t *TxStore) CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error) {
	return t.s.CreateRole(ctx, nr)
}

// GetRole implements [store.RoleStore].
func (t *TxStore) GetRole(ctx context.Context, id string) (rbac.Role, error) {
	return t.s.GetRole(ctx, id)
}

// UpdateRole implements [store.RoleStore].
func (t *TxStore) UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error) {
	return t.s.UpdateRole(ctx, id, u)
}

// DeleteRole implements [store.RoleStore].
func (t *TxStore) DeleteRole(ctx context.Context, id string) error {
	return t.s.DeleteRole(ctx, id)
}

// ListRoles implements [store.RoleStore].
func (t *TxStore) ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error) {
	return t.s.ListRoles(ctx, q)
}

// SetProjectSpace implements [store.ResourceStore].
func (t *TxStore) SetProjectSpace(ctx context.Context, projectID, spaceID string) error {
	return t.s.SetProjectSpace(ctx, projectID, spaceID)
}

// ProjectSpace implements [store.ResourceStore].
func (t *TxStore) ProjectSpace(ctx context.Context, projectID string) (string, error) {
	return t.s.ProjectSpace(ctx, projectID)
}

// RestrictProject implements [store.ResourceStore].
func (t *TxStore) RestrictProject(ctx context.Context, projectID string) error {
	return t.s.RestrictProject(ctx, projectID)
}

// UnrestrictProject implements [store.ResourceStore].
func (t *TxStore) UnrestrictProject(ctx context.Context, projectID string) error {
	return t.s.UnrestrictProject(ctx, projectID)
}

// ListRestricted implements [store.ResourceStore].
func (t *TxStore) ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error) {
	return t.s.ListRestricted(ctx, q)
}
