package core

import (
	"iter"
	"slices"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// The last-administrator rule (package store, "The last administrator"):
// with the option on, no binding delete, role change or role update may
// leave a space that has an administrator without one. An administrator
// of a space is a binding on that space whose role holds
// [AdminPermission]. memstore applies [LeavesNoAdmin] under its lock;
// sqlstore says the same in SQL, inside the write's transaction.

// AdminPermission is the permission that makes a space binding an
// administrator's: whoever holds it there can grant access, so a space
// whose last holder went could not be managed any more.
const AdminPermission = perm.RoleBindingCreate

// HoldsAdmin reports whether a role's permission set holds
// [AdminPermission], by exact name: a vocabulary may have names that
// contain it.
func HoldsAdmin(perms []string) bool { return slices.Contains(perms, AdminPermission) }

// DropsAdmin reports whether a role update from the permission set old
// to next takes [AdminPermission] away, so that every holder of the role
// stops being an administrator of the spaces where it is bound.
func DropsAdmin(old, next []string) bool { return HoldsAdmin(old) && !HoldsAdmin(next) }

// LeavesNoAdmin is the rule itself, for one space: it reports whether a
// write leaves the space without an administrator although it had one.
// bindings are the space's bindings before the write, admin says whether
// one is an administrator's, and losing whether the write takes that
// away (deletes the binding, changes its role, or updates its role) from
// one. A space that had no administrator is not protected: the write
// cannot make it worse.
func LeavesNoAdmin[B any](bindings iter.Seq[B], admin, losing func(B) bool) bool {
	had := false
	for b := range bindings {
		if !admin(b) {
			continue
		}
		if !losing(b) {
			return false
		}
		had = true
	}
	return had
}

// LastAdmin is the error of a write that the rule refuses. It names only
// the space: a binding delete or role change names the binding, whose
// space the caller may read; a role update is an account administrator's
// act, and names the first space by byte order of its ID that it would
// leave without one, so that every store names the same space.
func LastAdmin(spaceID string) error {
	return rbac.Conflict("space %s would be left without an administrator", spaceID)
}

// A space's first administrator ([store.FirstAdminCreator]): a binding
// on a space, of a role that holds [AdminPermission], made only while the
// space has no administrator, in one atomic step with that check.

// FirstAdminInput checks what a first-administrator create can check
// without the store: its resource is a space. The caller has validated
// nb's IDs.
func FirstAdminInput(nb rbac.NewBinding) error {
	if nb.ResourceType != rbac.Space {
		return rbac.Invalid("resource_type", rbac.ReasonInvalid, "a first administrator is bound to a space, not to a "+string(nb.ResourceType))
	}
	return nil
}

// NotAdminRole is the error of a first-administrator create whose role
// does not hold [AdminPermission]: the binding would leave the space
// without an administrator still.
func NotAdminRole() error {
	return rbac.Invalid("role_id", rbac.ReasonInvalid, "the role lacks "+AdminPermission+", so it would not make an administrator")
}

// SpaceHasAdmin is the error of a first-administrator create on a space
// that already has an administrator. Like every conflict it names no
// other binding: the caller may not be allowed to see it.
func SpaceHasAdmin(spaceID string) error {
	return rbac.Conflict("space %s already has an administrator", spaceID)
}
