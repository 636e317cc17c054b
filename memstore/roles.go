package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// roleRec is one stored role. role points at a value that is never
// changed: an update makes a new one, so that the change log and the
// copies handed out can share it.
type roleRec struct {
	role *rbac.Role
	seq  uint64
}

// slotTable keeps values at slot numbers that stay fixed while the value
// exists; freed slots are reused.
type slotTable[T any] struct {
	items []T
	free  []uint32
}

func (t *slotTable[T]) put(v T) uint32 {
	if n := len(t.free); n > 0 {
		slot := t.free[n-1]
		t.free = t.free[:n-1]
		t.items[slot] = v
		return slot
	}
	t.items = append(t.items, v)
	return uint32(len(t.items) - 1)
}

func (t *slotTable[T]) release(slot uint32) {
	var zero T
	t.items[slot] = zero
	t.free = append(t.free, slot)
}

// roleTable is the roles of a Store, guarded by the Store's mu.
type roleTable struct {
	byID  map[string]uint32 // role ID → slot
	names map[string]string // role name → role ID: names are unique
	slots slotTable[roleRec]
	order seqList // every role in creation order, for paging
	seq   uint64
	// lastID is the number segment of the last role ID this store
	// minted; every new one must be larger, so that no role ID comes back.
	lastID []byte
}

// copyRole returns a copy of r that shares nothing mutable with it.
func copyRole(r *rbac.Role) rbac.Role {
	c := *r
	c.Permissions = slices.Clone(r.Permissions)
	return c
}

// addRole stores r, which is new, at the end of the creation order. The
// caller holds mu for writing.
func (s *Store) addRole(r *rbac.Role) {
	t := &s.rolesByID
	t.seq++
	slot := t.slots.put(roleRec{role: r, seq: t.seq})
	t.byID[r.ID] = slot
	t.names[r.Name] = r.ID
	t.order.insert(entry{seq: t.seq, slot: slot})
}

// loadCatalogue stores the predefined roles, in catalogue order. The
// catalogue is the program's configuration, not input, so a bad one is a
// programming error and panics, as a bad regular expression given to
// regexp.MustCompile does.
func (s *Store) loadCatalogue(catalogue []rbac.Role) {
	catalogue, err := perm.CheckCatalogue(catalogue, s.vocab, s.v.Types())
	if err != nil {
		panic(err.Error())
	}
	now := fromMicros(s.stamp())
	for _, r := range catalogue {
		r.CreatedAt, r.UpdatedAt = now, now
		s.addRole(&r)
	}
}

// roleExists reports whether a role with the canonical ID id exists. It
// is a map lookup and allocates nothing: it is on the path of every
// binding create. The caller holds mu.
func (s *Store) roleExists(id string) bool {
	_, ok := s.rolesByID.byID[id]
	return ok
}

func roleNotFound(id string) error {
	return fmt.Errorf("memstore: %w: role %s", rbac.ErrNotFound, id)
}

// roleID checks a role ID argument (field "id").
func (s *Store) roleID(id string) (string, error) {
	return s.v.ID("id", ids.Role, id)
}

func forbidPredefined() error {
	return rbac.Invalid("id", rbac.ReasonForbidden, "is a predefined role, which cannot be changed or deleted")
}

// newRoleID returns a role ID this store has never handed out, as newID
// does for bindings. The caller holds mu.
func (s *Store) newRoleID() (string, error) {
	t := &s.rolesByID
	return s.fresh(ids.Role, &t.lastID, func(id string) bool { _, used := t.byID[id]; return used })
}

func nameTaken(name string) error {
	return fmt.Errorf("memstore: %w: a role named %q already exists", rbac.ErrConflict, name)
}

// CreateRole stores a new custom role; see [store.RoleStore.CreateRole].
func (s *Store) CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error) {
	nr, err := s.v.NewRole(s.vocab, nr)
	if err != nil {
		return rbac.Role{}, err
	}
	if err := s.lockLive(ctx); err != nil {
		return rbac.Role{}, err
	}
	if _, taken := s.rolesByID.names[nr.Name]; taken {
		s.mu.Unlock()
		return rbac.Role{}, nameTaken(nr.Name)
	}
	id, err := s.newRoleID()
	if err != nil {
		s.mu.Unlock()
		return rbac.Role{}, err
	}
	at := s.stamp()
	now := fromMicros(at)
	r := &rbac.Role{ID: id, Name: nr.Name, Description: nr.Description, Permissions: nr.Permissions, CreatedAt: now, UpdatedAt: now}
	s.addRole(r)
	out := copyRole(r)
	s.commit(changeRec{kind: store.RoleCreated, at: at, r: r})
	return out, nil
}

// GetRole returns a role; see [store.RoleStore.GetRole].
func (s *Store) GetRole(ctx context.Context, id string) (rbac.Role, error) {
	id, err := s.roleID(id)
	if err != nil {
		return rbac.Role{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.Role{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	slot, ok := s.rolesByID.byID[id]
	if !ok {
		return rbac.Role{}, roleNotFound(id)
	}
	return copyRole(s.rolesByID.slots.items[slot].role), nil
}

// UpdateRole updates a custom role; see [store.RoleStore.UpdateRole].
func (s *Store) UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error) {
	id, idErr := s.roleID(id)
	u, uErr := s.v.RoleUpdate(s.vocab, u)
	if err := rbac.JoinInvalid(idErr, uErr); err != nil {
		return rbac.Role{}, err
	}
	if err := s.lockLive(ctx); err != nil {
		return rbac.Role{}, err
	}
	t := &s.rolesByID
	slot, ok := t.byID[id]
	if !ok {
		s.mu.Unlock()
		return rbac.Role{}, roleNotFound(id)
	}
	rec := &t.slots.items[slot]
	old := rec.role
	switch {
	case old.Predefined:
		s.mu.Unlock()
		return rbac.Role{}, forbidPredefined()
	case !u.IfUpdatedAt.IsZero() && !u.IfUpdatedAt.Equal(old.UpdatedAt):
		s.mu.Unlock()
		return rbac.Role{}, fmt.Errorf("memstore: %w: role %s changed at %s, after the %s the caller saw",
			rbac.ErrConflict, id, rbac.FormatTime(old.UpdatedAt), rbac.FormatTime(u.IfUpdatedAt))
	}
	next := *old
	if u.Name != nil {
		next.Name = *u.Name
	}
	if u.Description != nil {
		next.Description = *u.Description
	}
	if u.Permissions != nil {
		next.Permissions = u.Permissions
	}
	if next.Name == old.Name && next.Description == old.Description && slices.Equal(next.Permissions, old.Permissions) {
		out := copyRole(old)
		s.mu.Unlock()
		return out, nil
	}
	if next.Name != old.Name {
		if _, taken := t.names[next.Name]; taken {
			s.mu.Unlock()
			return rbac.Role{}, nameTaken(next.Name)
		}
		delete(t.names, old.Name)
		t.names[next.Name] = id
	}
	at := max(s.stamp(), old.UpdatedAt.UnixMicro()+1)
	next.UpdatedAt = fromMicros(at)
	next.Permissions = slices.Clone(next.Permissions)
	rec.role = &next
	out := copyRole(&next)
	s.commit(changeRec{kind: store.RoleUpdated, at: at, r: &next})
	return out, nil
}

// DeleteRole deletes a custom role that has no bindings; see
// [store.RoleStore.DeleteRole]. The bindings of a role are counted by the
// role's index of bindings, under the same lock as Create, so a delete
// and a create for one role cannot both succeed.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	id, err := s.roleID(id)
	if err != nil {
		return err
	}
	if err := s.lockLive(ctx); err != nil {
		return err
	}
	t := &s.rolesByID
	slot, ok := t.byID[id]
	if !ok {
		s.mu.Unlock()
		return roleNotFound(id)
	}
	rec := t.slots.items[slot]
	if rec.role.Predefined {
		s.mu.Unlock()
		return forbidPredefined()
	}
	if k, bound := s.roles.lookup(id); bound {
		n := s.roles.keys[k].len()
		s.mu.Unlock()
		return fmt.Errorf("memstore: %w: role %s still has %d bindings", rbac.ErrConflict, id, n)
	}
	delete(t.byID, id)
	delete(t.names, rec.role.Name)
	t.order.remove(rec.seq)
	t.slots.release(slot)
	s.commit(changeRec{kind: store.RoleDeleted, at: s.stamp(), r: rec.role})
	return nil
}

// ListRoles returns one page of roles; see [store.RoleStore.ListRoles].
func (s *Store) ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error) {
	q, qErr := s.v.RoleQuery(q)
	after, cErr := s.cursors.Decode(store.RoleCursorQuery(), q.Cursor)
	if err := rbac.JoinInvalid(qErr, cErr); err != nil {
		return rbac.RolePage{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.RolePage{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page := rbac.RolePage{Roles: []rbac.Role{}}
	var last uint64
	for it := s.rolesByID.order.after(after); ; it.next() {
		e, ok := it.peek()
		if !ok {
			break
		}
		if len(page.Roles) == q.Limit {
			page.HasMore = true
			page.NextCursor = s.cursors.Encode(store.RoleCursorQuery(), last)
			break
		}
		page.Roles = append(page.Roles, copyRole(s.rolesByID.slots.items[e.slot].role))
		last = e.seq
	}
	return page, nil
}
