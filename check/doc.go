// Package check answers, in memory and in about the time of a map lookup,
// the question a host service asks on every request: may this user do
// this on that resource?
//
// A [Checker] holds an index of the bindings, roles, project-to-space
// links and project restrictions of a store, built from a snapshot and
// kept current by applying the store's changes in revision order
// ([Checker.Apply], or a [Follower] that does it for you). It answers
// [Checker.Check], explains its answers ([Checker.Explain]), guards
// changes of access (the escalation guard) and answers the reverse
// questions ([Checker.WhoCan], [Checker.ResourcesFor]).
//
// # Permissions and roles
//
// A permission is an upper snake case name from a fixed
// [perm.Vocabulary]; the default one ([perm.DefaultVocabulary]) is the
// 132 permissions of the Arize AX API. A host may build its own with
// [perm.NewVocabulary], and passes the same one to its store and its
// checker. Each permission is a bit: a role's permissions are a bitset,
// and a check is a bit test. Asking about a permission outside the
// vocabulary is invalid input ([rbac.ErrInvalid], field "permission"),
// never a deny, so that a typo fails loudly.
//
// A checker learns roles from the store, like everything else: a new
// checker holds no roles at all, and the store's snapshot
// ([Checker.Load], [Follow]) brings every role, the predefined ones of
// the store's catalogue ([perm.DefaultCatalogue] unless the host gave
// the store its own) included, and its changes bring every role created,
// updated or deleted after. So the host names its catalogue once, to the
// store, and the checker cannot disagree with the store about what a
// role grants.
//
// Role management (creating, updating, deleting a custom role) is an
// account administrator's act, and who that is the library cannot know:
// the guard below has no method for it, and a host must check it itself
// before calling the store. Adding a permission to a role widens access
// for every holder of the role at once, on every resource where it is
// bound, whatever the escalation guard allowed when each binding was
// made; it is as strong as granting that permission to all of them.
//
// # Inheritance and restriction
//
// Resources have two levels: a project belongs to one space.
//
//   - On a space, a user may do P when the role of the user's binding on
//     that space holds P.
//   - On a project, the user's permissions are the union of the role bound
//     on the project and the role bound on its space.
//   - On a restricted project, the space binding is cut off: only the
//     binding on the project itself counts, except that a space binding
//     whose role holds PROJECT_RESTRICT (a space administrator) still
//     reaches in.
//
// A user or resource the index does not know is a deny, not an error; a
// malformed ID is invalid input.
//
// # Explanations
//
// [Checker.Explain] returns a [Decision]: the answer, the binding and role
// that granted it and whether that binding is on the project itself or
// inherited from its space, or why nothing did: no binding, a role without
// the permission, or a restriction that cut the space binding off. An
// audit log can record it as it is.
//
// # Who may change access: the escalation guard
//
// [Checker.CanCreateBinding], [Checker.CanChangeRole],
// [Checker.CanDeleteBinding], [Checker.CanRestrictProject] and
// [Checker.CanUnrestrictProject] are what a host calls before the
// matching store write: every change of access the library stores has
// its guard. They apply the public API's rules: ROLE_BINDING_CREATE to
// create a binding; ROLE_BINDING_CREATE and ROLE_BINDING_DELETE to change
// its role; ROLE_BINDING_DELETE to delete it, each on the binding's
// resource, with inheritance; PROJECT_RESTRICT on the project's space to
// restrict a project (the restriction cuts off the space's members, which
// only the space's administrators may do); PROJECT_RESTRICT on the
// project itself, where a space binding holding it reaches in, to
// unrestrict a project or restrict a restricted one again. Following
// Kubernetes RBAC, they also refuse to grant a role holding any
// permission the actor does not hold there, so nobody can hand out more
// than they have. With [Options].ProtectLastAdmin, they also refuse early
// to delete the last binding on a space whose role holds
// ROLE_BINDING_CREATE, or to change it to a role without it.
//
// The guard is not the authority on the last administrator. It answers
// from the checker's index, before the write: the index may lag the
// store, and two administrators removing each other each pass their own
// guard. The store keeps the rule inside the write, atomically, when it
// is made with its own ProtectLastAdmin option (memstore.Options,
// sqlstore.Options; see "The last administrator" in package store), and
// refuses with a conflict (409). Turn the store's option on for the
// guarantee, and the guard's for a friendlier 403 in the common case.
// The guard has no method for role updates, which are an account
// administrator's act (see "Permissions and roles"); the store's rule
// also judges a role update that takes ROLE_BINDING_CREATE away.
//
// A space's first administrator is the one write the guard cannot allow
// by itself: until then nobody holds ROLE_BINDING_CREATE there.
// [Bootstrap] makes that binding, and refuses (a conflict) once the space
// has an administrator, so that it cannot become a way around the guard;
// with a store that has [store.FirstAdminCreator], the check and the
// create are one atomic step, so two Bootstraps at once cannot both win.
//
// # Forbidden: a fourth category, outside the store contract
//
// The library's store errors fall into exactly three categories: invalid
// (400), not found (404), conflict (409). A refusal by the guard is none of
// those: the input is fine, everything exists and nothing conflicts; the
// actor is just not allowed. Dressing it up as invalid or conflict would
// send clients looking for a bug in their payload or retrying, and leaving
// it as an internal error would make hosts answer 500. So the guard
// returns a [*Denied], which matches [rbac.ErrForbidden] and none of the
// three; a host answers it with 403
// Forbidden, as Kubernetes does, and [rbac.HTTPStatus] does so. Store methods
// never return it: the guard is a separate, explicit step, so the three
// categories of the store contract stay exactly three.
//
// Input errors of the guard (a malformed actor ID, say) are invalid input,
// and a role that does not exist is not found, as for a store write.
//
// # Reverse questions
//
// [Checker.WhoCan] lists the users who can do P on a resource, and
// [Checker.ResourcesFor] the resources of a type a user can do P on, with
// inheritance and restrictions, by the same rules as a check. Both are
// paged with sealed cursors (a garbled cursor or one from another question
// is invalid input) and never cut off silently: HasMore says whether more
// follow.
//
// # Speed
//
// Every ID is interned to a small integer when a change is applied. A
// check hashes the permission name, the user ID and the resource ID once
// each; the rest is slice indexing and a scan of the user's few bindings.
// It allocates nothing, and its cost does not depend on how many bindings
// the index holds. Checks hold a read lock; applies hold the write lock
// briefly (one change at a time), so checks run concurrently with each
// other and wait for at most one change.
//
// # Consistency
//
// Every write to a store gets a revision: 1, 2, 3, with no gaps, in commit
// order (see [store.ChangeFeed]). The index is at a revision: it reflects
// exactly the writes up to it, and [Checker.Revision] says which.
//
//   - Read your writes, in one process: a [Follower] subscribes to the
//     store, which calls it synchronously after each write commits and
//     before the write returns; the change is applied then, so a check
//     that starts after a write returned sees it.
//   - Several processes, one database: the follower polls the store's
//     change feed every [FollowOptions].Interval and applies what other
//     processes wrote, in revision order; that interval bounds how stale
//     a check can be. A caller that knows the revision of a write (made
//     in another process) asks for a check at least that fresh with
//     [Follower.Sync], which reads the feed at once and waits for it.
//   - A change that arrives out of order (revision gap) is not applied
//     until the changes before it are read from the feed; a feed that no
//     longer holds them makes the follower load a fresh snapshot.
//   - A store whose history goes back (a database restored from a
//     backup, a SQLite file that lost its WAL in a crash) hands the
//     revisions of the lost writes out again, and a checker that took
//     them for writes it had applied would answer for the lost ones for
//     good: a revoked administrator allowed again. The checker keeps a
//     digest of each of its latest changes, on the apply path, and a
//     [Follower] compares: its poll reads the feed from the checker's
//     revision (and back over this process's writes since the last poll)
//     and reads the store's head, and its subscription compares a write
//     at a revision already applied with the change applied there. A
//     store below the checker's revision, or another change at one of
//     its revisions, is [ErrRewound]: the follower loads a snapshot at
//     once (within one interval of a restore, or before this process's
//     next write returns) and reports it. From the restore until then,
//     checks answer from the old index.
//   - Every ID of every change is checked before it is applied (a SPACE
//     binding must hold a space ID, and so on); [Checker.Apply] refuses a
//     change that fails, as invalid input. A store never emits one; a
//     follower that meets one in a corrupt feed passes over it, so as not
//     to stop following, and reports it.
//
// # Operations
//
// A [Follower] reports what it meets in the background through
// [FollowOptions].OnError and, for operators, a [log/slog] logger
// ([FollowOptions].Logger: errors, and each snapshot it loads).
// [Follower.Status] says which revision checks answer from, the newest
// store revision seen, the lag between the two, when it last polled and
// its last error, and how many snapshots it reloaded, how many of them
// because the store went back, when and why the last, for a health
// endpoint or a metrics exporter.
//
// Any store that implements [store.ChangeFeed] (alongside
// [store.RoleStore] and [store.ResourceStore]) can feed a checker through
// a [Follower]. A host with its own source of truth instead drives a
// checker by hand, numbering its own changes 1, 2, 3 and passing them to
// [Checker.Apply] (project links and restrictions are changes too:
// [store.ProjectSpaceSet], [store.ProjectRestricted]); one checker follows
// one sequence of revisions, so the two ways do not mix. Either way a
// check never calls out to a slow source.
package check
