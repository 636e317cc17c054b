package sqlstore

import (
	"context"
	"database/sql"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
)

// ops are the store's operations over one runner. Both [Store] and
// [TxStore] are made of them, so the two cannot drift apart: every input
// is validated here, before anything is looked up.
type ops struct {
	s *Store
	// run executes one operation: on the pool (with retries) for a Store,
	// in the host's transaction for a TxStore. inTx says that the
	// operation writes: a Store runs it in a transaction of its own,
	// which ends with the write's change of the feed, and hands the
	// change to its subscribers once it has committed.
	run func(ctx context.Context, inTx bool, fn func(r runner) error) error
}

func (o ops) create(ctx context.Context, nb rbac.NewBinding) (b rbac.Binding, err error) {
	nb, err = o.s.v.NewBinding(nb)
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("create", err)
	}
	err = o.run(ctx, true, func(r runner) (err error) {
		b, err = r.create(ctx, nb)
		return err
	})
	return b, err
}

func (o ops) get(ctx context.Context, id string) (b rbac.Binding, err error) {
	id, err = o.s.v.BindingID(id)
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("get", err)
	}
	err = o.run(ctx, false, func(r runner) (err error) {
		b, err = r.get(ctx, id)
		return err
	})
	return b, err
}

func (o ops) changeRole(ctx context.Context, id string, c rbac.RoleChange) (b rbac.Binding, err error) {
	// Both inputs are checked so that every problem is reported at once.
	id, idErr := o.s.v.BindingID(id)
	c, cErr := o.s.v.RoleChange(c)
	if err := rbac.JoinInvalid(idErr, cErr); err != nil {
		return rbac.Binding{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Binding{}, internal("change role", err)
	}
	err = o.run(ctx, true, func(r runner) (err error) {
		b, err = r.changeRole(ctx, id, c)
		return err
	})
	return b, err
}

func (o ops) delete(ctx context.Context, id string) error {
	id, err := o.s.v.BindingID(id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return internal("delete", err)
	}
	return o.run(ctx, true, func(r runner) error { return r.delete(ctx, id) })
}

func (o ops) list(ctx context.Context, q rbac.ListQuery) (p rbac.Page, err error) {
	q, err = o.s.v.ListQuery(q)
	if err != nil {
		return rbac.Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.Page{}, internal("list", err)
	}
	err = o.run(ctx, false, func(r runner) (err error) {
		p, err = r.list(ctx, q)
		return err
	})
	return p, err
}

func (o ops) deleteUserBindings(ctx context.Context, userID string) (n int, err error) {
	userID, err = o.s.v.UserID(userID)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, internal("delete user bindings", err)
	}
	err = o.run(ctx, true, func(r runner) (err error) {
		ch := store.Change{Kind: store.UserBindingsDeleted, Binding: rbac.Binding{UserID: userID}}
		n, err = r.deleteWhere(ctx, "delete user bindings", ch, o.s.q.deleteUser, userID)
		return err
	})
	return n, err
}

func (o ops) deleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (n int, err error) {
	resourceID, err = o.s.v.Resource(rt, resourceID)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, internal("delete resource bindings", err)
	}
	err = o.run(ctx, true, func(r runner) (err error) {
		ch := store.Change{Kind: store.ResourceBindingsDeleted, Binding: rbac.Binding{ResourceType: rt, ResourceID: resourceID}}
		n, err = r.deleteWhere(ctx, "delete resource bindings", ch, o.s.q.deleteResource, string(rt), resourceID)
		return err
	})
	return n, err
}

// makeOps runs each operation on the pool, in a transaction of its own
// when it needs one, retrying what the engine gave up on.
func (s *Store) makeOps() ops {
	return ops{s: s, run: func(ctx context.Context, inTx bool, fn func(r runner) error) error {
		if inTx {
			return s.write(ctx, fn)
		}
		return s.retry(ctx, func() error { return fn(s.pool()) })
	}}
}

// Create implements [store.Store].
func (s *Store) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return s.o.create(ctx, nb)
}

// Get implements [store.Store].
func (s *Store) Get(ctx context.Context, id string) (rbac.Binding, error) {
	return s.o.get(ctx, id)
}

// ChangeRole implements [store.Store]. The read, the checks and the write
// happen in one transaction.
func (s *Store) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	return s.o.changeRole(ctx, id, c)
}

// Delete implements [store.Store].
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.o.delete(ctx, id)
}

// List implements [store.Store].
func (s *Store) List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error) {
	return s.o.list(ctx, q)
}

// DeleteUserBindings implements [store.Store].
func (s *Store) DeleteUserBindings(ctx context.Context, userID string) (int, error) {
	return s.o.deleteUserBindings(ctx, userID)
}

// DeleteResourceBindings implements [store.Store].
func (s *Store) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	return s.o.deleteResourceBindings(ctx, rt, resourceID)
}

// TxStore is a [Store] whose operations run inside a transaction the host
// began, so that the host's own writes and the store's commit together or
// not at all: a project and its owner's binding, say. The store neither
// commits nor rolls back; the host does. Make one with [Store.WithTx].
//
// When an operation returns an internal error, the host should roll the
// transaction back (on PostgreSQL a failed statement fails the whole
// transaction). A conflict or invalid input leaves the transaction usable.
// A TxStore is as safe for concurrent use as the transaction it runs in,
// which database/sql serialises.
type TxStore struct {
	o ops
}

var _ store.Store = (*TxStore)(nil)

// WithTx returns the store's operations run in tx, which the host began on
// the store's database ([Store.DB]). On SQLite, begin it there too: the
// store's database begins transactions with BEGIN IMMEDIATE, which a
// transaction that reads before it writes needs.
//
// Each write appends its change to the feed in tx, with the next
// revision, so it is in the feed exactly when the host commits. Until
// then, on PostgreSQL, tx holds the revision counter's row lock, and other
// writers of the database wait for it: keep such transactions short. The
// Store's subscribers are not called for these writes (the store does not
// see the commit); followers read them from the feed.
func (s *Store) WithTx(tx *sql.Tx) *TxStore {
	r := runner{s: s, tx: tx}
	return &TxStore{o: ops{s: s, run: func(ctx context.Context, _ bool, fn func(r runner) error) error {
		return withCtxErr(ctx, fn(r))
	}}}
}

// Create implements [store.Store].
func (t *TxStore) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return t.o.create(ctx, nb)
}

// Get implements [store.Store].
func (t *TxStore) Get(ctx context.Context, id string) (rbac.Binding, error) {
	return t.o.get(ctx, id)
}

// ChangeRole implements [store.Store].
func (t *TxStore) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	return t.o.changeRole(ctx, id, c)
}

// Delete implements [store.Store].
func (t *TxStore) Delete(ctx context.Context, id string) error {
	return t.o.delete(ctx, id)
}

// List implements [store.Store].
func (t *TxStore) List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error) {
	return t.o.list(ctx, q)
}

// DeleteUserBindings implements [store.Store].
func (t *TxStore) DeleteUserBindings(ctx context.Context, userID string) (int, error) {
	return t.o.deleteUserBindings(ctx, userID)
}

// DeleteResourceBindings implements [store.Store].
func (t *TxStore) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	return t.o.deleteResourceBindings(ctx, rt, resourceID)
}
