// Package httpapi serves the library over net/http with the routes,
// bodies and status codes of the public Arize AX REST API v2 for role
// bindings, roles and resource restrictions (WIRE.md), so that Arize's
// own clients work against it unchanged. It is the only library package
// that imports net/http.
//
// [New] returns the handler; [RequirePermission] guards a host's own
// routes with the same checker; [BearerKeys] is a small [Authenticate]
// for API keys.
//
// # Routes
//
// Every route is an exact ServeMux pattern ("GET /v2/role-bindings/{binding_id}"),
// under [Options].Prefix when set, so a percent-encoded ID (%2B, %2F,
// %3D) arrives decoded. Nothing redirects: a path that is not clean
// ("//", "/./"), or has a trailing slash, is a 404 rather than the
// ServeMux's redirect, and ServeMux's plain-text 404 and 405 are replaced
// by problem bodies (a 405 keeps its Allow header). Every answer,
// unknown paths included, comes after authentication: a request without
// valid credentials is 401 whatever its path.
//
// # Authorization
//
// An account administrator ([Principal].Admin) may do everything, and
// goes straight to the store. Anyone else goes through the checker and
// the escalation guard, in the order of WIRE.md section 3: 401, then the
// body and query (400; a body that is not application/json is 415), then
// permission, then an unknown role (404), then escalation (422, the body's
// missing_permissions naming what the role holds beyond the actor's own),
// then conflicts (409). A binding the actor may not read, change or
// delete is 404 for get, change and delete, as if it did not exist; its
// create is 403. Role create, update and delete are an account
// administrator's (403 otherwise). The guard's last-administrator refusal,
// when the checker has it on, is 409, as the store's own rule answers.
//
// Every write goes through the store, and the checker must follow the
// store ([check.Follow]), which applies each write before the write
// returns: a request that starts after a response was sent sees that
// write.
//
// # Lists
//
// A list filtered by what the actor may read (bindings: ROLE_BINDING_READ
// on each binding's resource; restrictions: PROJECT_RESTRICT on the
// project) reads the store's pages in order and keeps what the actor may
// see. Each store page asks for as many items as the response still
// lacks, so every item of every page read is either returned or not
// readable, and the store's own cursor after the last page read continues
// exactly there: nothing readable is ever skipped, nothing unreadable
// returned. One request reads at most 20 store pages; when that runs out,
// the response is shorter than limit (it may be empty) with has_more true
// and a next_cursor to continue. Account administrators read one page.
//
// Roles are listed the same way, with is_predefined (true or false) as the
// filter. The store does not know that filter, so role cursors carry it:
// the store's cursor and an HMAC tag of the filter ([Options].CursorKey),
// and a cursor from another filter is 400 on field "cursor". Binding
// cursors are the store's, already sealed with their filters.
//
// Query parameters are strict: limit is 1 to 100 (default 50; 0, a
// negative number or a non-number is 400), an unknown or repeated
// parameter is 400, an empty value counts as absent. When a query has
// other faults, the cursor is not read, so its fault is not reported too.
//
// # Errors
//
// Every error is application/problem+json (RFC 9457): type, title,
// integer status equal to the HTTP status, a non-empty detail, and the
// request path as instance; a 400 lists every field error in errors. The
// mapping of the library's categories is [rbac.ProblemFor]. A 500 says
// only "internal error" and carries a request_id, also in the
// X-Request-Id header; its cause goes to [Options].Logger under that ID
// and nowhere else.
//
// # Optimistic concurrency
//
// Binding responses carry a strong ETag: the binding's updated_at in
// microseconds, quoted. Entity tags are scoped to their URL, which names
// the binding, and updated_at moves on every change of it. PATCH with
// If-Match changes the role only when a tag of the header matches (or it
// is "*"), and passes the binding's updated_at to the store as the
// precondition ([rbac.RoleChange].IfUpdatedAt), so that a change between
// the read and the write is caught too; otherwise 409, after the
// permission, role and escalation checks. Weak tags never match (RFC 9110
// prescribes the strong comparison). A malformed If-Match header is 400
// on field "If-Match", not 412: the request is malformed, and this API
// answers a precondition that fails with 409.
//
// # Wire forms
//
// Bindings are CONTRACT.md's JSON form. A role's description is left out
// when empty, as in the public API; the core's form (rbac.Role) keeps it,
// so the difference lives in this package's response type. A restriction
// is {"resource_id", "resource_type": "PROJECT", "created_at"}; restricting
// a restricted project (which needs PROJECT_RESTRICT on the project, as
// unrestricting does) returns the existing record with 200. Timestamps are
// UTC with Z.
package httpapi
