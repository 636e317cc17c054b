package memstore

import (
	"context"
	"slices"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
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
	t := &s.roles
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
	catalogue, err := perm.CheckCatalogue(catalogue, s.vocab, s.validator.Types())
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
	_, ok := s.roles.byID[id]
	return ok
}

// roleID checks a role ID argument (field "id").
func (s *Store) roleID(id string) (string, error) {
	return s.validator.ID("id", ids.Role, id)
}

// newRoleID returns a role ID this store has never handed out, as newID
// does for bindings. The caller holds mu.
func (s *Store) newRoleID() (string, error) {
	t := &s.roles
	return s.fresh(ids.Role, &t.lastID, func(id string) bool { _, used := t.byID[id]; return used })
}

// CreateRole stores a new custom role; see [store.RoleStore.CreateRole].
func (s *Store) CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error) {
	nr, err := s.validator.NewRole(s.vocab, nr)
	if err != nil {
		return rbac.Role{}, err
	}
	var out rbac.Role
	err = s.write(ctx, func() (pending, error) {
		if _, taken := s.roles.names[nr.Name]; taken {
			return pending{}, core.NameTaken(nr.Name)
		}
		id, err := s.newRoleID()
		if err != nil {
			return pending{}, err
		}
		at := s.stamp()
		now := fromMicros(at)
		r := &rbac.Role{ID: id, Name: nr.Name, Description: nr.Description, Permissions: nr.Permissions, CreatedAt: now, UpdatedAt: now}
		s.addRole(r)
		out = copyRole(r)
		return s.log(changeRec{kind: store.RoleCreated, at: at, r: r}), nil
	})
	return out, err
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
	slot, ok := s.roles.byID[id]
	if !ok {
		return rbac.Role{}, core.RoleNotFound(id)
	}
	return copyRole(s.roles.slots.items[slot].role), nil
}

// UpdateRole updates a custom role; see [store.RoleStore.UpdateRole].
func (s *Store) UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error) {
	id, idErr := s.roleID(id)
	u, uErr := s.validator.RoleUpdate(s.vocab, u)
	if err := rbac.JoinInvalid(idErr, uErr); err != nil {
		return rbac.Role{}, err
	}
	var out rbac.Role
	err := s.write(ctx, func() (pending, error) {
		t := &s.roles
		slot, ok := t.byID[id]
		if !ok {
			return pending{}, core.RoleNotFound(id)
		}
		rec := &t.slots.items[slot]
		old := rec.role
		switch {
		case old.Predefined:
			return pending{}, core.PredefinedRole()
		case !u.IfUpdatedAt.IsZero() && !u.IfUpdatedAt.Equal(old.UpdatedAt):
			return pending{}, core.RoleChanged(id, old.UpdatedAt, u.IfUpdatedAt)
		}
		next, changed := core.MergeRole(*old, u)
		if !changed {
			out = copyRole(old)
			return pending{}, nil
		}
		if next.Name != old.Name {
			if _, taken := t.names[next.Name]; taken {
				return pending{}, core.NameTaken(next.Name)
			}
		}
		// The last administrator comes after the taken name, as the
		// order of checks says, and before anything is changed.
		if core.DropsAdmin(old.Permissions, next.Permissions) {
			if err := s.roleUpdateLeavesNoAdmin(id); err != nil {
				return pending{}, err
			}
		}
		if next.Name != old.Name {
			delete(t.names, old.Name)
			t.names[next.Name] = id
		}
		at := core.NextUpdateMicros(s.stamp(), old.UpdatedAt.UnixMicro())
		next.UpdatedAt = fromMicros(at)
		rec.role = &next
		out = copyRole(&next)
		return s.log(changeRec{kind: store.RoleUpdated, at: at, r: &next}), nil
	})
	return out, err
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
	return s.write(ctx, func() (pending, error) {
		t := &s.roles
		slot, ok := t.byID[id]
		if !ok {
			return pending{}, core.RoleNotFound(id)
		}
		rec := t.slots.items[slot]
		if rec.role.Predefined {
			return pending{}, core.PredefinedRole()
		}
		if _, bound := s.byRole.lookup(id); bound {
			return pending{}, core.RoleBound(id)
		}
		delete(t.byID, id)
		delete(t.names, rec.role.Name)
		t.order.remove(rec.seq)
		t.slots.release(slot)
		return s.log(changeRec{kind: store.RoleDeleted, at: s.stamp(), r: rec.role}), nil
	})
}

// ListRoles returns one page of roles; see [store.RoleStore.ListRoles].
func (s *Store) ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error) {
	q, after, err := core.CheckRoleQuery(s.validator, s.cursors, q)
	if err != nil {
		return rbac.RolePage{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.RolePage{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page := rbac.RolePage{Roles: []rbac.Role{}}
	var last uint64
	for it := s.roles.order.after(after); ; it.next() {
		e, ok := it.peek()
		if !ok {
			break
		}
		if len(page.Roles) == q.Limit {
			page.HasMore = true
			page.NextCursor = s.cursors.Encode(store.RoleCursorQuery(), last)
			break
		}
		page.Roles = append(page.Roles, copyRole(s.roles.slots.items[e.slot].role))
		last = e.seq
	}
	return page, nil
}
