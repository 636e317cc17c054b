package memstore

import (
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
)

// The last-administrator rule ([Options].ProtectLastAdmin), applied with
// [core.LeavesNoAdmin] under the write lock, in the same locked part as
// the write it judges, so that no other write can come in between.

// spaceBindings yields the slots of the bindings on the space of key res.
// The caller holds mu.
// (An iter.Seq, spelled out: the package has a type named iter.)
func (s *Store) spaceBindings(res uint32) func(yield func(uint32) bool) {
	return func(yield func(uint32) bool) {
		for _, c := range s.byResource.keys[res].lists[rtSpace].chunks {
			for _, e := range c.e {
				if !yield(e.slot) {
					return
				}
			}
		}
	}
}

// roleIsAdmin reports whether the role of role key k holds the
// administrator's permission. The caller holds mu.
func (s *Store) roleIsAdmin(k uint32) bool {
	return s.idIsAdmin(s.byRole.keys[k].id)
}

// idIsAdmin reports whether the role with ID id holds the
// administrator's permission; a role that does not exist holds nothing.
// The caller holds mu.
func (s *Store) idIsAdmin(id string) bool {
	slot, ok := s.roles.byID[id]
	return ok && core.HoldsAdmin(s.roles.slots.items[slot].role.Permissions)
}

// slotIsAdmin reports whether the binding at slot is an administrator's.
// The caller holds mu.
func (s *Store) slotIsAdmin(slot uint32) bool { return s.roleIsAdmin(s.bindings.at(slot).role) }

// losesLastAdmin returns the rule's error when taking the administrator's
// permission away from the binding at slot (deleting it, or changing it to
// a role without it) would leave its space without an administrator, and
// nil otherwise or when the store does not keep the rule. The caller holds
// mu for writing.
func (s *Store) losesLastAdmin(slot uint32) error {
	r := s.bindings.at(slot)
	if !s.protect || r.rt != rtSpace || !s.roleIsAdmin(r.role) {
		return nil
	}
	if core.LeavesNoAdmin(s.spaceBindings(r.res), s.slotIsAdmin, func(o uint32) bool { return o == slot }) {
		return core.LastAdmin(s.byResource.keys[r.res].id)
	}
	return nil
}

// roleUpdateLeavesNoAdmin returns the rule's error when taking the
// administrator's permission away from the role with ID id would leave a
// space without an administrator, naming the first such space by byte
// order of its ID, as every store does. The caller holds mu for writing.
func (s *Store) roleUpdateLeavesNoAdmin(id string) error {
	k, bound := s.byRole.lookup(id)
	if !s.protect || !bound {
		return nil
	}
	losing := func(o uint32) bool { return s.bindings.at(o).role == k }
	first := ""
	for _, c := range s.byRole.keys[k].lists[rtSpace].chunks {
		for _, e := range c.e {
			res := s.bindings.at(e.slot).res
			space := s.byResource.keys[res].id
			if first != "" && space >= first {
				continue
			}
			if core.LeavesNoAdmin(s.spaceBindings(res), s.slotIsAdmin, losing) {
				first = space
			}
		}
	}
	if first != "" {
		return core.LastAdmin(first)
	}
	return nil
}

// firstAdminRefused returns the error of a first-administrator create of
// nb, whose role exists, when its role is not an administrator's or its
// space (key res, when ok) has an administrator already. The caller holds
// mu for writing.
func (s *Store) firstAdminRefused(nb rbac.NewBinding, res uint32, ok bool) error {
	if !s.idIsAdmin(nb.RoleID) {
		return core.NotAdminRole()
	}
	if ok {
		for slot := range s.spaceBindings(res) {
			if s.slotIsAdmin(slot) {
				return core.SpaceHasAdmin(nb.ResourceID)
			}
		}
	}
	return nil
}
