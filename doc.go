// Package rbac is an embeddable role-binding library: it keeps the rule
// "user U has role R on resource X" with the exact rules of the Arize AX
// REST API v2 role-binding endpoints, inside the host's own process and
// without an HTTP layer.
//
// # The model
//
// A [Binding] grants one role to one user on one resource, a space or a
// project ([ResourceType]). At most one binding exists per user and
// resource, whatever its role: a second create for the same pair is a
// conflict, and changing a user's role means changing the binding
// ([RoleChange]), which is the only thing about a binding that can change.
// The store sets the ID and the timestamps; CreatedAt never changes, and
// UpdatedAt moves forward with each role change, never backward even when
// the clock does.
//
// The root package holds the model and the error categories. The other
// packages do the work: [github.com/rolebind/rbac/ids] encodes and decodes
// global IDs, [github.com/rolebind/rbac/validate] decodes and checks input,
// [github.com/rolebind/rbac/store] states the contract every store keeps,
// and the stores implement it: [github.com/rolebind/rbac/memstore] in
// memory, [github.com/rolebind/rbac/sqlstore] on SQLite (the embedded
// default) or PostgreSQL.
//
// # IDs
//
// Every ID is an opaque global ID: standard padded base64 of "Type:Number"
// or "Type:Number:Key", such as VXNlcjoxOmxQZzI= for User:1:lPg2. Only the
// canonical spelling is accepted; Go's base64 decoders also accept missing
// or extra padding, non-zero trailing bits and embedded line breaks, and
// each of those would let one user or resource hide behind two IDs and
// slip past the uniqueness rule. Each field takes IDs of one type (a
// role_id must encode a Role); a project is a Model, with Project accepted
// as an alias and stored in the canonical Model form. The table of type
// names is data a host can replace ([github.com/rolebind/rbac/ids.Table]).
//
// # Errors
//
// Every error the library returns for a caller's mistake matches exactly
// one of three categories under [errors.Is]:
//
//   - [ErrInvalid] (HTTP 400): bad input. The error is a [*ValidationError]
//     listing every problem at once, each a [FieldError] with the field's
//     wire name, a machine-readable [Reason] and a message.
//   - [ErrNotFound] (HTTP 404): a well-formed ID that names nothing.
//   - [ErrConflict] (HTTP 409): a second binding for one user and resource,
//     or an update whose IfUpdatedAt precondition failed.
//
// The escalation guard of package check adds a fourth answer, [ErrForbidden]
// (HTTP 403), for an actor who may not make an access change; stores never
// return it.
//
// Anything else (storage down, a cancelled context) is an internal failure,
// wrapped and passed through, never dressed up as one of the three.
// [HTTPStatus] and [ProblemFor] map errors to HTTP statuses and RFC 9457
// problem details for hosts that serve the library over HTTP.
//
// # Decisions where the public API is silent
//
//   - Listing without a resource_type filter lists both types; a
//     resource_id filter needs a resource_type, which says what kind of ID
//     it is.
//   - Timestamps are written with exactly six fractional digits
//     ([TimeLayout]), so every store prints the same bytes for one instant.
//   - Binding IDs carry a version 7 UUID as their number (RoleBinding:N,
//     N up to 39 digits), so processes sharing one database mint IDs
//     without coordination.
package rbac
