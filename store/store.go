// Package store defines the Store interface, the contract every binding
// store keeps, and the helpers that stores share (list cursors).
//
// The contract is written on the interface methods. Package
// [github.com/rolebind/rbac/store/storetest] checks it: every store, ours
// or a third party's, runs that suite and so behaves the same as every
// other store on any sequence of operations.
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
	// Errors: ErrInvalid for bad input; ErrConflict when the user already
	// has a binding on the resource, whatever its role. Of any number of
	// concurrent creates for one (user, resource), exactly one succeeds and
	// the others get ErrConflict. A store that implements [RoleStore]
	// answers a well-formed role ID that names no role with ErrNotFound
	// and writes nothing, so that no binding points at a role that does
	// not exist (input is validated first: a malformed role ID is
	// ErrInvalid).
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
	// Errors: ErrInvalid for bad input; ErrNotFound for an unknown binding,
	// and, in a store that implements [RoleStore], for a well-formed role
	// ID that names no role (nothing is written); ErrConflict for a failed
	// precondition.
	ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error)

	// Delete removes the binding with the given ID, freeing its (user,
	// resource) slot. Its ID is never reused.
	//
	// Errors: ErrInvalid for a malformed ID; ErrNotFound for an unknown
	// binding, including one already deleted.
	Delete(ctx context.Context, id string) error

	// List returns one page of the bindings that match every filter of q,
	// in creation order. Paging is keyset-based: a deep page costs about
	// what the first does. A binding that exists for the whole paging
	// appears exactly once, whatever else is created or deleted meanwhile.
	//
	// Errors: ErrInvalid for a bad filter, a limit out of range (field
	// "limit"), or a cursor that is garbled or was made for other filters
	// (field "cursor").
	List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error)

	// DeleteUserBindings removes every binding of one user in one atomic
	// step and returns how many there were. A user with no bindings is not
	// an error (0).
	//
	// Errors: ErrInvalid for a malformed user ID (field "user_id").
	DeleteUserBindings(ctx context.Context, userID string) (int, error)

	// DeleteResourceBindings removes every binding on one resource in one
	// atomic step and returns how many there were. A resource with no
	// bindings is not an error (0).
	//
	// Errors: ErrInvalid for a bad resource type or ID (fields
	// "resource_type", "resource_id").
	DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error)
}
