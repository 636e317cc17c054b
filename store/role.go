package store

import (
	"context"

	"github.com/rolebind/rbac"
)

// RoleStore keeps roles: the predefined catalogue, which it is given when
// it is opened, and custom roles, which callers create, update and delete.
//
// The general rules of [Store] apply to every method: safe for concurrent
// use, input validated by the store itself with package validate (role
// payloads against the store's permission vocabulary), every error one of
// the three categories or internal, writes visible to every later call,
// copies returned, timestamps in [rbac.StoreTime] form. Every write that
// succeeds is one change of the store's [ChangeFeed].
//
// A store that implements RoleStore also makes the binding methods of
// [Store] check roles: Create and ChangeRole with a role ID that is well
// formed but names no role fail with [rbac.ErrNotFound] and write nothing,
// before any conflict is considered (see "The order of checks" in the
// package documentation).
// The check and the write are one atomic step (in SQL, a foreign key from
// bindings to roles), so that no binding ever points at a role that does
// not exist, whatever runs concurrently.
//
// # Predefined roles
//
// The catalogue's roles are stored like any other role, with their fixed
// IDs, Predefined set, and CreatedAt == UpdatedAt == the time they were
// first stored. The catalogue is the source of truth for them: when the
// store is opened with a catalogue whose roles differ from the stored
// predefined ones, the stored ones are brought in line (and the change is
// recorded in the feed). A role name is unique across custom and
// predefined roles alike.
//
// Predefined roles are immutable: UpdateRole and DeleteRole on one fail
// with a [*rbac.ValidationError] on field "id", reason
// [rbac.ReasonForbidden], and write nothing. That is invalid input rather
// than a conflict: a conflict (409) says that the state of the resource
// stands in the way and that retrying after it changes can succeed, but a
// predefined role never becomes changeable, so the request itself is at
// fault (as the Kubernetes API rejects a change to an immutable field).
type RoleStore interface {
	// CreateRole stores a new custom role and returns it, with a new ID
	// (from the store's ID table, kind Role; never handed out twice),
	// Predefined false, permissions sorted without repeats, and
	// CreatedAt == UpdatedAt.
	//
	// Errors: ErrInvalid for bad input (see validate.Validator.NewRole:
	// blank or too long name, no permission, a permission outside the
	// vocabulary); ErrConflict when another role, predefined or custom,
	// already has the name. Of concurrent creates with one name, exactly
	// one succeeds.
	CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error)

	// GetRole returns the role with the given ID, predefined or custom.
	//
	// Errors: ErrInvalid for a malformed ID or an ID of another type
	// (field "id"); ErrNotFound for a well-formed ID that names no role.
	GetRole(ctx context.Context, id string) (rbac.Role, error)

	// UpdateRole applies a partial update to a custom role and returns the
	// role as it now is. Fields of u left nil keep their value; a new
	// permission set replaces the old one as a whole. When something
	// changes, UpdatedAt moves forward, always later than before even if
	// the clock stepped back; an update that changes nothing (every set
	// field equal to the stored value, or nothing set) writes nothing, is
	// not a change of the feed, and returns the role as is. Bindings to
	// the role keep pointing at it: a permission set change takes effect
	// for all of them at once. Adding a permission widens access for every
	// holder, on every resource where the role is bound: it is an account
	// administrator's act (see "Roles widen access for every holder" in
	// the package documentation).
	//
	// If u.IfUpdatedAt is set and differs from the role's UpdatedAt, the
	// call fails with ErrConflict and changes nothing.
	//
	// Errors, in this order: ErrInvalid for bad input (field "id", then
	// the update's fields); ErrNotFound for an unknown role; ErrInvalid
	// for a predefined role (field "id", reason forbidden); ErrConflict
	// for a failed precondition, then, when the name changes, for a new
	// name that belongs to another role, then, with the last-administrator
	// rule on, for a permission set without ROLE_BINDING_CREATE while the
	// role is that of the last administrators of a space (see "The last
	// administrator").
	UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error)

	// DeleteRole removes a custom role. A role that still has bindings
	// cannot be deleted, so that no binding ever points at nothing: the
	// check and the delete are one atomic step (a concurrent binding
	// Create for the role either happens first and makes the delete fail,
	// or fails with ErrNotFound itself). A role ID is never reused.
	//
	// Errors, in this order: ErrInvalid for a malformed ID; ErrNotFound
	// for an unknown role, including one already deleted; ErrInvalid for
	// a predefined role (field "id", reason forbidden); ErrConflict when
	// the role still has bindings.
	DeleteRole(ctx context.Context, id string) error

	// ListRoles returns one page of roles, predefined and custom, in
	// creation order (the catalogue first, in catalogue order), with the
	// paging guarantees of [Store.List]: keyset-based, sealed cursors,
	// a role that exists for the whole paging appears exactly once.
	// Cursors are made with [RoleCursorQuery] as the filter, so that a
	// cursor of a binding list is rejected here and the other way round.
	//
	// Errors: ErrInvalid for a limit out of range (field "limit") and a
	// garbled or foreign cursor (field "cursor"), both in one error.
	ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error)
}

// ResourceStore keeps the two facts about resources that checks need: the
// space each project belongs to, and which projects are restricted. A
// resource is known to the library only through these facts and through
// bindings: the host owns spaces and projects, and tells the store about
// them.
//
// The general rules of [Store] apply. Every write that changes something
// is one change of the store's [ChangeFeed]; a write that changes nothing
// (setting the link a project already has, restricting a restricted
// project) succeeds without a change.
type ResourceStore interface {
	// SetProjectSpace records that the project belongs to the space. A
	// project belongs to exactly one space: setting another space moves
	// it, and from then on checks on the project inherit from the new
	// space. Neither ID needs bindings or any other prior record.
	//
	// Errors: ErrInvalid for a malformed project ID (field "project_id")
	// or space ID (field "space_id"). Project IDs are stored in canonical
	// (Model) form.
	SetProjectSpace(ctx context.Context, projectID, spaceID string) error

	// ProjectSpace returns the space the project belongs to.
	//
	// Errors: ErrInvalid for a malformed project ID (field "project_id");
	// ErrNotFound when no space was set for the project.
	ProjectSpace(ctx context.Context, projectID string) (string, error)

	// RestrictProject restricts the project: from then on, checks on it
	// count only bindings on the project itself, and space bindings whose
	// role holds PROJECT_RESTRICT. Restricting a project that is already
	// restricted is not an error and changes nothing (its RestrictedAt
	// stays). The project needs no space link to be restricted.
	//
	// Errors: ErrInvalid for a malformed project ID (field "project_id").
	RestrictProject(ctx context.Context, projectID string) error

	// UnrestrictProject lifts the restriction of the project.
	//
	// Errors: ErrInvalid for a malformed project ID (field "project_id");
	// ErrNotFound when the project is not restricted.
	UnrestrictProject(ctx context.Context, projectID string) error

	// ListRestricted returns one page of restricted projects, in the order
	// they were restricted, with the paging guarantees of [Store.List].
	// Cursors are made with [RestrictedCursorQuery] as the filter.
	//
	// Errors: ErrInvalid for a limit out of range (field "limit") and a
	// garbled or foreign cursor (field "cursor"), both in one error.
	ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error)
}

// RoleCursorQuery is the filter that role list cursors are sealed with by
// [Cursors]. Its resource type is no value a binding list accepts, so a
// role cursor and a binding cursor can never be swapped.
func RoleCursorQuery() rbac.ListQuery { return rbac.ListQuery{ResourceType: "ROLE"} }

// RestrictedCursorQuery is the filter that cursors of restricted project
// lists are sealed with by [Cursors].
func RestrictedCursorQuery() rbac.ListQuery { return rbac.ListQuery{ResourceType: "RESTRICTED"} }
