// Package memstore is an in-memory [store.Store], [store.RoleStore],
// [store.ResourceStore], [store.ChangeFeed] and [store.FirstAdminCreator].
//
// It serves two purposes. It is an embedded store for a process that keeps
// its role bindings in memory, and it is the test fake for applications
// built on the library: it keeps every rule of the contract exactly as the
// SQL store does, so a test that passes against memstore says something
// true about the application in production. It passes the same
// conformance suite ([github.com/rolebind/rbac/store/storetest]) as every
// other store:
//
//   - every input is validated by the store itself (with
//     [validate.Default] unless [Options] names another validator), and IDs
//     come back canonical: a Project:N:K resource is stored as Model:N:K,
//     so the two spellings cannot make two bindings;
//   - at most one binding per (user, resource), checked atomically;
//   - binding IDs are never handed out twice, even after a delete;
//   - UpdatedAt moves forward on every role change, even when the clock
//     steps back, and the IfUpdatedAt precondition is honoured;
//   - lists come in creation order, with sealed cursors and keyset paging;
//   - returned bindings are copies, timestamps are UTC microseconds;
//   - roles: the predefined catalogue ([Options].Catalogue, the default
//     one of package check unless told otherwise) and custom roles, names
//     unique, predefined roles immutable; a binding to a role that does
//     not exist is not found, and a role with bindings cannot be deleted
//     (the check and the write are one step under the store's lock);
//   - project-to-space links and project restrictions;
//   - a change feed: every write that changes something gets the next
//     revision and one change, and subscribers are called with it before
//     the write returns;
//   - with [Options].ProtectLastAdmin, the last-administrator rule of
//     package store: a Delete, ChangeRole or UpdateRole that would leave
//     a space without an administrator is a conflict, decided under the
//     same hold of the store's lock as the write, so no other write comes
//     in between. A delete or role change looks at the bindings of one
//     space; a role update that takes ROLE_BINDING_CREATE away looks at
//     the spaces where the role is bound.
//
// # Change feed
//
// Revisions start at 1 with the first write: the catalogue's roles are
// there from the start and are no change, as a checker has the same
// catalogue built in. Subscribers are called one change at a time, in
// revision order with no gaps, from the goroutine of the write, after the
// store's lock is released (so a subscriber may read the store and its
// feed). The log keeps the last [Options].ChangeRetention changes
// ([DefaultChangeRetention] by default); a reader further behind gets a
// [store.CompactedError] and loads a snapshot. So a [check.Checker]
// follows a memstore with [check.Follow], and sees every write before the
// write returns.
//
// # What it does not do
//
// It does not persist: the bindings live as long as the Store value, and
// nothing is shared between processes or between two Stores. A cursor from
// one Store is rejected by another, since each seals its cursors with a key
// of its own.
//
// # Cost
//
// Create, Get, ChangeRole and Delete take constant time, apart from a
// binary search in the chunked index lists that a change of role or a
// delete in the middle of a list needs. Every list filter (user, resource,
// role, resource type) has its own index in creation order, and a list
// walks the shortest index its filters allow from the cursor's position,
// so a page deep in a long list costs what the first page does. A stored
// binding takes a few hundred bytes: the user, resource and role IDs are
// kept once however many bindings share them. Get takes a read lock and
// allocates nothing; writes take the write lock. The role check of a
// binding write is one map lookup. The change log costs about a hundred
// bytes per kept change.
package memstore
