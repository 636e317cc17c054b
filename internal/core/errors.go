package core

import (
	"time"

	"github.com/rolebind/rbac"
)

// The not-found and conflict errors of the stores. Their messages are the
// formats written in the store contract (package store, "Errors a client
// may see"): they name only what the caller named, never another binding,
// and carry no package prefix, so that a host can show them to a client
// and every store says the same thing. A store returns them unwrapped.

// BindingNotFound is the error for a binding ID that names no binding.
func BindingNotFound(id string) error { return rbac.NotFound("role binding %s not found", id) }

// RoleNotFound is the error for a role ID that names no role.
func RoleNotFound(id string) error { return rbac.NotFound("role %s not found", id) }

// NoProjectSpace is the error of ProjectSpace for a project without a
// space.
func NoProjectSpace(projectID string) error {
	return rbac.NotFound("no space is set for project %s", projectID)
}

// NotRestricted is the error of UnrestrictProject for a project that is
// not restricted.
func NotRestricted(projectID string) error {
	return rbac.NotFound("project %s is not restricted", projectID)
}

// SlotTaken is the error of a binding create for a (user, resource) that
// already has a binding. It does not name that binding: the caller may
// not be allowed to read it.
func SlotTaken(userID string, rt rbac.ResourceType, resourceID string) error {
	return rbac.Conflict("user %s already has a role binding on %s %s", userID, rt, resourceID)
}

// BindingChanged is the error of a role change whose precondition failed.
func BindingChanged(id string, updatedAt, ifUpdatedAt time.Time) error {
	return rbac.Conflict("role binding %s changed at %s, after the %s the caller saw",
		id, rbac.FormatTime(updatedAt), rbac.FormatTime(ifUpdatedAt))
}

// RoleChanged is the error of a role update whose precondition failed.
func RoleChanged(id string, updatedAt, ifUpdatedAt time.Time) error {
	return rbac.Conflict("role %s changed at %s, after the %s the caller saw",
		id, rbac.FormatTime(updatedAt), rbac.FormatTime(ifUpdatedAt))
}

// NameTaken is the error for a role name that another role has.
func NameTaken(name string) error { return rbac.Conflict("a role named %q already exists", name) }

// RoleBound is the error of DeleteRole for a role that still has
// bindings. It does not say how many: counting them is work a store need
// not do, and two stores could count at different moments.
func RoleBound(id string) error { return rbac.Conflict("role %s still has role bindings", id) }

// PredefinedRole is the error of UpdateRole and DeleteRole on a
// predefined role: invalid input on field "id" (see [store.RoleStore]
// for why it is not a conflict).
func PredefinedRole() error {
	return rbac.Invalid("id", rbac.ReasonForbidden, "is a predefined role, which cannot be changed or deleted")
}
