package core

import (
	"errors"
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

// FirstAdminInput adds to err, the validator's error for a
// first-administrator create whose resource type was rt, what it can tell
// without the store: a first administrator is bound to a space. The
// field error for resource_type goes where the contract's argument order
// puts it, before one for resource_id, so that every input error is
// reported at once and in order. A resource type the validator refused
// is its own error already.
func FirstAdminInput(rt rbac.ResourceType, err error) error {
	if rt != rbac.Project {
		return err
	}
	var fields rbac.FieldErrors
	if err != nil {
		var ve *rbac.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		fields = slices.Clone(ve.Fields)
	}
	at := slices.IndexFunc(fields, func(f rbac.FieldError) bool { return f.Field == "resource_id" })
	if at < 0 {
		at = len(fields)
	}
	fe := rbac.FieldError{Field: "resource_type", Reason: rbac.ReasonInvalid, Message: "a first administrator is bound to a space, not to a " + string(rt)}
	return slices.Insert(fields, at, fe).Err()
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
