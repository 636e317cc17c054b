// Package store defines the Store interface, the contract every binding
// store keeps, and the helpers that stores share (list cursors).
//
// The contract is written on the interface methods. Package
// [github.com/rolebind/rbac/store/storetest] checks it: every store, ours
// or a third party's, runs that suite and so behaves the same as every
// other store on any sequence of operations, errors included: the same
// category, the same field errors in the same order, the same message.
//
// # The order of checks
//
// A call that has several things wrong reports them in one order, the same
// in every store, so that a client sees the same answer whichever store a
// host runs:
//
//  1. Input, all of it at once: every argument is validated (package
//     validate) and every problem found is reported in one
//     [*rbac.ValidationError], field errors in argument order (for
//     ChangeRole, "id" before "role_id"; for a list, the filters, then
//     "limit", then "cursor"). A list cursor is sealed with its list's
//     filters, so it is read only when the filters are valid; a bad
//     limit does not stop it from being read. Nothing is looked up for
//     input that is invalid.
//  2. The context: a context already done by then fails the call with an
//     internal error wrapping the context's error, and nothing is written.
//  3. Existence (404), of the thing the call is about first, then of
//     what it names: ChangeRole checks the binding, then the new role;
//     Create checks the role. Everything a call names exists before any
//     conflict is considered.
//  4. Whether the thing may be changed at all: UpdateRole and DeleteRole
//     on a predefined role are invalid input on field "id".
//  5. State (409): a failed IfUpdatedAt precondition, then uniqueness (a
//     taken (user, resource) slot, a taken role name), then a role that
//     still has bindings.
//  6. No change: a write that would change nothing (the role a binding
//     already has, a role update equal to the stored role, a link or a
//     restriction that is already there) succeeds and writes nothing.
//  7. The last administrator (409), in a store made with the rule on
//     (see "The last administrator"): last, because only a write that
//     would change something can take an administrator away.
//
// So a create on a taken slot with a role that does not exist is not
// found, and a role change with a stale precondition to a role that does
// not exist is not found too: an unknown role (404) comes before a
// conflict (409), as it does over HTTP.
//
// # Errors a client may see
//
// Not-found and conflict errors are [*rbac.Error] values, returned
// unwrapped, whose message names only what the caller named (its own IDs,
// in canonical form, and values) and carries no package prefix, so that a
// host can pass it on as is. Every store uses these messages, word for
// word (%s is an ID or value in canonical form, times in
// [rbac.FormatTime] form):
//
//	role binding %s not found                                binding ID
//	role %s not found                                        role ID
//	no space is set for project %s                           ProjectSpace
//	project %s is not restricted                             UnrestrictProject
//	user %s already has a role binding on %s %s              Create: user, resource type and ID
//	role binding %s changed at %s, after the %s the caller saw   ChangeRole: ID, UpdatedAt, IfUpdatedAt
//	role %s changed at %s, after the %s the caller saw       UpdateRole: ID, UpdatedAt, IfUpdatedAt
//	a role named %q already exists                           CreateRole, UpdateRole: the name
//	role %s still has role bindings                          DeleteRole
//	space %s would be left without an administrator         Delete, ChangeRole, UpdateRole: the space ID
//
// A conflict never names the other binding or how many bindings there
// are: the caller may not be allowed to read them. Invalid input is a
// [*rbac.ValidationError] whose field errors come from package validate;
// a predefined role is field "id", reason [rbac.ReasonForbidden], message
// "is a predefined role, which cannot be changed or deleted". Internal
// errors are wrapped with the store's package name and are never shown to
// clients ([rbac.ProblemFor] gives them a generic detail).
//
// # The last administrator
//
// An administrator of a space is a binding on that space whose role
// holds ROLE_BINDING_CREATE (matched by name, exactly): whoever holds it
// can grant access there, so a space whose last one went could not be
// managed by anyone but an account administrator. A store made with the
// rule on (memstore.Options.ProtectLastAdmin,
// sqlstore.Options.ProtectLastAdmin; off by default, so that a store
// without the option behaves as before) refuses, with [rbac.ErrConflict]
// and the message "space %s would be left without an administrator", any
// write that would leave a space that has an administrator without one:
//
//   - Delete of the last administrator's binding;
//   - ChangeRole of it to a role without ROLE_BINDING_CREATE;
//   - UpdateRole of a custom role that takes ROLE_BINDING_CREATE away
//     while it is the role of some space's last administrators. It names
//     the first such space by byte order of its ID, so that every store
//     names the same one; role management is an account administrator's
//     act, and that caller may see any space.
//
// The rule is decided inside the write, atomically: whatever runs at the
// same time, in one process or in several sharing a database, no
// interleaving of binding deletes, role changes and role updates leaves
// such a space without an administrator, and of two administrators
// removing each other, exactly one succeeds. A refused write writes
// nothing. A space that never had an administrator is not protected;
// nor are projects.
//
// The cascades are not refused: DeleteResourceBindings on a space is the
// host deleting the space, and DeleteUserBindings is the host deleting a
// user, which must not fail because the user administered something. A
// space the latter leaves without an administrator gets a new one from an
// account administrator (check.Bootstrap), as a new space does. Creates,
// which can only add administrators, are not judged either. The
// predefined roles that a store's catalogue brings in line when it opens
// are the host's configuration and are not judged.
//
// The escalation guard of package check has an option of the same name,
// which refuses earlier with a friendlier answer; it reads a checker's
// index, which may lag the store, and two guards can both allow, so the
// store's rule is the one that holds.
//
// # Roles widen access for every holder
//
// Adding a permission to a role (UpdateRole) widens access for every
// binding of that role at once, on every resource where it is bound,
// whatever the escalation guard allowed when each binding was made. It
// is as strong as granting that permission to all of them, so it is an
// account administrator's act, which the host must check before it calls
// the store (see [RoleStore]).
package store

import (
	"context"

	"github.com/rolebind/rbac"
)

// Store keeps role bindings.
//
// General rules, for every method:
//   - A Store is safe for concurrent use by many goroutines.
//   - A Store validates its own input with package validate, so no caller
//     can skip the rules: bad input gives a [*rbac.ValidationError]
//     (matching [rbac.ErrInvalid]) that names every field at fault, and
//     nothing is written.
//   - IDs are accepted in canonical form only. Project IDs spelled with an
//     alias type name (Project:N:K) are stored and returned in canonical
//     form (Model:N:K), so the two spellings name one project.
//   - Every error matches exactly one of [rbac.ErrInvalid],
//     [rbac.ErrNotFound] and [rbac.ErrConflict], or is an internal error
//     (storage failure, cancelled context) passed through wrapped, never
//     dressed up as one of the three. A cancelled context writes nothing.
//   - A write that returned success is visible to every later call, and
//     durable if the store persists.
//   - Returned bindings are copies. Timestamps are UTC at microsecond
//     precision, equal under == to what a later read returns.
type Store interface {
	// Create stores a new binding and returns it, with a new ID and
	// CreatedAt == UpdatedAt. A binding ID is never handed out twice, even
	// after the binding is deleted.
	//
	// Errors, in this order (see "The order of checks"): ErrInvalid for
	// bad input; in a store that implements [RoleStore], ErrNotFound for a
	// well-formed role ID that names no role, so that no binding points at
	// a role that does not exist; ErrConflict when the user already has a
	// binding on the resource, whatever its role. Of any number of
	// concurrent creates for one (user, resource), exactly one succeeds and
	// the others get ErrConflict.
	Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error)

	// Get returns the binding with the given ID.
	//
	// Errors: ErrInvalid for a malformed ID or an ID of another type (field
	// "id"); ErrNotFound for a well-formed ID that names no binding.
	Get(ctx context.Context, id string) (rbac.Binding, error)

	// ChangeRole sets the role of the binding with the given ID and returns
	// the binding as it now is. Only the role changes; ID, user, resource
	// and CreatedAt never do. When the role changes, UpdatedAt moves
	// forward: it is the store's clock, but always later than the previous
	// UpdatedAt, even if the clock stepped back. Setting the role the
	// binding already has changes nothing and returns the binding as is.
	//
	// If c.IfUpdatedAt is set and differs from the binding's UpdatedAt, the
	// call fails with ErrConflict and changes nothing, even when the role
	// would not change.
	//
	// Errors, in this order: ErrInvalid for bad input (field "id", then
	// "role_id"); ErrNotFound for an unknown binding, then, in a store
	// that implements [RoleStore], for a new role ID that names no role;
	// ErrConflict for a failed precondition, then, with the
	// last-administrator rule on, for a change of the last administrator
	// of a space to a role without ROLE_BINDING_CREATE (see "The last
	// administrator"). Nothing is written on any error.
	ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error)

	// Delete removes the binding with the given ID, freeing its (user,
	// resource) slot. Its ID is never reused.
	//
	// Errors: ErrInvalid for a malformed ID; ErrNotFound for an unknown
	// binding, including one already deleted; with the last-administrator
	// rule on, ErrConflict for the last administrator of a space (see
	// "The last administrator").
	Delete(ctx context.Context, id string) error

	// List returns one page of the bindings that match every filter of q,
	// in creation order. Paging is keyset-based: a deep page costs about
	// what the first does. A binding that exists for the whole paging
	// appears exactly once, whatever else is created or deleted meanwhile.
	//
	// Errors: ErrInvalid for a bad filter, a limit out of range (field
	// "limit"), or a cursor that is garbled or was made for other filters
	// (field "cursor"), all of them in one error: a bad limit and a bad
	// cursor are two field errors. The cursor is read only when the
	// filters are valid.
	List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error)

	// DeleteUserBindings removes every binding of one user in one atomic
	// step and returns how many there were. A user with no bindings is not
	// an error (0). It is the host deleting the user, so the
	// last-administrator rule does not refuse it: a space it leaves
	// without an administrator gets one from an account administrator.
	//
	// Errors: ErrInvalid for a malformed user ID (field "user_id").
	DeleteUserBindings(ctx context.Context, userID string) (int, error)

	// DeleteResourceBindings removes every binding on one resource in one
	// atomic step and returns how many there were. A resource with no
	// bindings is not an error (0). It is the host deleting the resource,
	// so the last-administrator rule does not refuse it.
	//
	// Errors: ErrInvalid for a bad resource type or ID (fields
	// "resource_type", "resource_id").
	DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error)
}

// FirstAdminCreator is a store that gives a space its first
// administrator in one atomic step (check.Bootstrap uses it when the
// store has it). memstore and sqlstore have it.
type FirstAdminCreator interface {
	// CreateFirstAdmin creates nb, a binding on a space whose role holds
	// ROLE_BINDING_CREATE, as Create does, unless the space already has
	// an administrator (see "The last administrator"). The check and the
	// create are one atomic step, whether or not the store keeps the
	// last-administrator rule: of first-administrator creates on one
	// space at the same time, in one process or in several sharing a
	// database, at most one succeeds. A refused call writes nothing.
	//
	// Errors, in this order: ErrInvalid for what Create refuses, and for
	// a resource that is not a space (field "resource_type"); ErrNotFound
	// for a role that does not exist; ErrInvalid for a role without
	// ROLE_BINDING_CREATE (field "role_id"); ErrConflict "space %s already
	// has an administrator", or Create's conflict when the user already
	// has a binding on the space.
	CreateFirstAdmin(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error)
}
