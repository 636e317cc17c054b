// Package storetest is the conformance suite for [store.Store]. Any store,
// ours or a third party's, proves it keeps the contract by wiring a factory
// into [Run] in a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB, opts storetest.Options) store.Store {
//			return mystore.New(mystore.Options{Now: opts.Now, Catalogue: opts.Catalogue})
//		})
//	}
//
// It also exports the benchmark suite, [Bench], so that every store is
// measured the same way.
//
// # What the suite checks
//
// Every point of sections 3 to 5 of the contract: the public cases (see
// [RunCases]), validation done by the store itself and not only by package
// validate, uniqueness per (user, resource) including the Project alias of
// a Model ID, copies, timestamps, the role-change precondition, IDs that
// are never reused, list filters, limits, cursors and paging (also while
// other goroutines write), cascades, cancelled contexts, concurrency, and
// a model-based test that runs random operations against the store and a
// plain reference model and demands identical results.
//
// For the optional interfaces, when the store implements them:
//   - [store.RoleStore] (groups Roles and RoleBindings): the catalogue,
//     custom role create, get, update, delete and paging with their
//     errors, predefined roles immutable, a bound role not deletable, and
//     bindings to a role that does not exist not found, also when a role
//     delete races a binding create. The model-based test then also
//     creates and deletes custom roles and binds to unknown ones.
//   - [store.ResourceStore] (group Resources): project links and
//     restrictions, with their paging and errors.
//   - [store.RoleStore] again (group LastAdmin): the last-administrator
//     rule, on a store made with [Options].ProtectLastAdmin, which the
//     factory must pass on: refusals and their place in the order of
//     checks, the cascades it allows, and races on 200 spaces of two
//     administrators each (removing each other; a role change against a
//     delete; a role update taking ROLE_BINDING_CREATE away and giving it
//     back against deletes and role changes), after which every space
//     must still have an administrator and every refusal must be the
//     rule's conflict.
//   - [store.ChangeFeed] (group Feed, which needs all three): one change
//     per write that changes something and none otherwise, carrying what
//     the write returned; consecutive revisions, also under concurrent
//     writers; Changes paging and limits; subscribers called before the
//     write returns; and a snapshot of the whole state. The model-based
//     test then also checks the revision after every call. (That
//     checkers fed by a store agree with it is a test of package check,
//     which runs it against this module's stores: the suite tests
//     stores, not the checker.)
//
// A store without one of them has those groups skipped, with a message
// naming the interface: the test output shows what was not tested.
//
// Every call the suite makes goes through a checking wrapper: an error must
// match at most one of [rbac.ErrInvalid], [rbac.ErrNotFound] and
// [rbac.ErrConflict]; an invalid-input error must carry a
// [*rbac.ValidationError] naming at least one field; every binding
// returned must be well formed (canonical IDs, UTC microsecond timestamps).
//
// # Decisions the contract leaves open
//
// Where the contract is silent the suite expects what follows, so that
// every store behaves the same:
//   - The store accepts the ID type names of the default table,
//     [github.com/rolebind/rbac/ids.DefaultTable]: a store that a host can
//     configure with other names is tested in its default configuration.
//   - Input is validated before anything is looked up: a change of role to
//     an ID of the wrong type on a binding that does not exist is invalid
//     input, not "not found".
//   - When the clock has not stepped back, a changed binding's UpdatedAt is
//     exactly the store's clock (see [Options.Now]) in [rbac.StoreTime]
//     form; when it has, UpdatedAt is some instant later than before.
//   - A list page with HasMore set is full (it has Limit bindings).
//   - Paging follows creation order by keyset: the page after a cursor holds
//     the matching bindings created after the cursor's last binding,
//     including ones created after the cursor was issued.
//   - A cursor continues a list whose filters name the same things: a
//     project filter spelled with the Project alias continues a cursor made
//     with the Model spelling. Limit may change between pages.
//   - An already-cancelled context makes every method fail with an error
//     that wraps the context's error, and writes nothing.
//   - Errors are compared whole: the category, the message, and for
//     invalid input every field error (field, reason, message) in order.
//     Invalid input must be what package validate reports; not-found and
//     conflict errors must carry the messages the contract writes down
//     (package store, "Errors a client may see"), and come in its order
//     of checks ("The order of checks"): a binding create on a taken
//     (user, resource) slot with a role that does not exist is not found,
//     and so is a role change with a failed precondition to a missing
//     role. [RunDifferential] also compares stores with each other.
//   - Revisions are counted from the store's revision when the test
//     starts, so a store may or may not record the catalogue it was
//     opened with as changes.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
)

// Options is what the suite asks of a new store.
type Options struct {
	// Now, when not nil, is the clock the store must use for CreatedAt and
	// UpdatedAt. The suite uses it to step the clock backward, and it calls
	// Now's clock only between store calls, so a store may read it any
	// number of times within one call.
	Now func() time.Time
	// Catalogue is the predefined roles the store must be opened with (a
	// store that keeps roles, [store.RoleStore]); a store without roles
	// ignores it. The suite passes the default catalogue of package perm
	// (perm.DefaultCatalogue over perm.DefaultVocabulary) followed by
	// predefined fixture roles for every role ID its binding tests and
	// the public cases bind, so that those tests pass on a store that
	// checks that a binding's role exists. It is a new slice for each
	// store: the store may keep it. The permission vocabulary is always
	// the default one.
	Catalogue []rbac.Role
	// ProtectLastAdmin asks for a store that keeps the last-administrator
	// rule (package store, "The last administrator"); the group LastAdmin
	// sets it, and fails when the store does not keep the rule. Every
	// other test asks for a store without it, the default.
	ProtectLastAdmin bool
}

// Factory returns a new, empty store for one subtest. It registers any
// cleanup with tb.Cleanup and fails tb if the store cannot be made.
//
// Subtests run in parallel, so the factory may be called from several
// goroutines at once, and the stores it returns must not share bindings.
type Factory func(tb testing.TB, opts Options) store.Store

// group is one part of the suite. Keeping the parts in a table lets a later
// option skip a capability a store does not have with an honest t.Skip, in
// the way SpiceDB's datastore suite does, instead of passing silently.
type group struct {
	name string
	run  func(t *testing.T, f Factory)
	// needs are the optional interfaces the group tests; a store without
	// one has the group skipped.
	needs []capability
}

var groups = []group{
	{"Cases", func(t *testing.T, f Factory) { RunCases(t, f, PublicCases()) }, nil},
	{"Create", testCreate, nil},
	{"Get", testGet, nil},
	{"ChangeRole", testChangeRole, nil},
	{"Delete", testDelete, nil},
	{"Timestamps", testTimestamps, nil},
	{"Copies", testCopies, nil},
	{"List", testList, nil},
	{"Paging", testPaging, nil},
	{"Cascades", testCascades, nil},
	{"CancelledContext", testCancelledContext, nil},
	{"Concurrency", testConcurrency, nil},
	{"Model", testModel, nil},
	{"Roles", testRoles, []capability{capRoles}},
	{"RoleBindings", testRoleBindings, []capability{capRoles}},
	{"Resources", testResources, []capability{capResources}},
	{"LastAdmin", testLastAdmin, []capability{capRoles}},
	{"FirstAdmin", testFirstAdmin, []capability{capRoles, capFirstAdmin}},
	{"Feed", testFeed, []capability{capRoles, capResources, capFeed}},
}

// Run runs the whole conformance suite against the stores f makes. Each
// subtest gets a fresh store.
func Run(t *testing.T, f Factory) {
	t.Helper()
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			if len(g.needs) > 0 {
				requireCaps(t, f, g.needs...)
			}
			g.run(t, f)
		})
	}
}

// env is one subtest's store, wrapped so that every call is checked, and
// the clock the store was given.
type env struct {
	tb    *testing.T
	s     store.Store
	raw   store.Store // the store as the factory made it, unwrapped
	clock *Clock
}

// newEnv makes a fresh store for the subtest t with a clock of its own.
func newEnv(t *testing.T, f Factory) *env {
	t.Helper()
	c := NewClock(clockStart)
	s := f(t, Options{Now: c.Now, Catalogue: Catalogue()})
	if s == nil {
		t.Fatal("storetest: the factory returned a nil store")
	}
	return &env{tb: t, s: &checked{tb: t, s: s}, raw: s, clock: c}
}

// clockStart is where every test clock starts: not UTC and with
// nanoseconds, so that a store that forgets [rbac.StoreTime] is caught.
var clockStart = time.Date(2024, 6, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+2", 2*60*60))

// Clock is a clock that moves only when told to, so that a test can say
// exactly which timestamps a store must write, and can step it backward.
// It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. It is the function to give a store.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, backward or forward.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock by d, which may be negative.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
