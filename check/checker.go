package check

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/sealed"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// Options configures a [Checker]. The zero value gives the defaults of the
// Arize AX API.
type Options struct {
	// Vocabulary is the permission vocabulary; nil means
	// [perm.DefaultVocabulary]. Pass the store's: a role permission outside
	// it can never grant anything here.
	Vocabulary *perm.Vocabulary
	// Types is the table of ID type names; nil means [ids.DefaultTable].
	// Every ID of every change applied is checked against it.
	Types *ids.Table
	// ProtectLastAdmin turns on the early last-administrator refusal of
	// the escalation guard: a delete, or a change to a role without
	// ROLE_BINDING_CREATE, of the last binding on a space whose role
	// holds it is denied ([LastAdministrator]) before the host calls the
	// store. It is advice, not the authority: it reads the checker's
	// index, which may lag the store, and two guards can each allow one
	// of two administrators removing each other. The store's option of
	// the same name (memstore.Options, sqlstore.Options) decides inside
	// the write; turn that on, and this one for the friendlier answer.
	ProtectLastAdmin bool
	// CursorKey seals the cursors of reverse questions. Processes that
	// serve one API behind a load balancer must share it; nil means a
	// random key, good for this process only.
	CursorKey []byte
}

// Checker answers permission checks from an in-memory index of bindings,
// roles, project links and restrictions, and keeps that index current by
// applying a store's changes in revision order. It is safe for concurrent
// use: checks run in parallel with each other and with applies.
type Checker struct {
	vocab   *perm.Vocabulary
	types   ids.Table
	val     *validate.Validator
	cursors *sealed.Sealer

	prBit, rbcBit    int // -1 when the vocabulary lacks the permission
	protectLastAdmin bool

	ix atomic.Pointer[index]

	// applyMu makes applies and loads one writer at a time, in order.
	applyMu sync.Mutex
	// loaded is set, under applyMu, once a snapshot is in: before that,
	// the index holds no roles, and reading the feed from revision 0
	// would not bring them (a store need not record its predefined roles
	// as changes).
	loaded bool
	// hist remembers the latest changes applied, under applyMu, so that
	// a store whose history went back is found (see [ErrRewound]).
	hist history

	// wakeMu guards wake, which is closed and replaced each time the
	// revision moves, to wake WaitFor callers.
	wakeMu sync.Mutex
	wake   chan struct{}
}

// New returns a checker with an empty index at revision 0: no roles, no
// bindings. Roles, the predefined ones included, arrive like everything
// else, from the store's snapshot and changes ([Checker.Load], [Follow]),
// so the checker and the store cannot disagree about them.
func New(opts Options) (*Checker, error) {
	c := &Checker{vocab: opts.Vocabulary, wake: make(chan struct{}), protectLastAdmin: opts.ProtectLastAdmin}
	if c.vocab == nil {
		c.vocab = perm.DefaultVocabulary()
	}
	c.types = ids.DefaultTable()
	if opts.Types != nil {
		c.types = *opts.Types
	}
	val, err := validate.New(c.types)
	if err != nil {
		return nil, err
	}
	c.val = val
	key := opts.CursorKey
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("check: cursor key: %w", err)
		}
	}
	c.cursors = sealed.New(key)
	c.prBit, c.rbcBit = c.bitOrNone(perm.ProjectRestrict), c.bitOrNone(perm.RoleBindingCreate)
	c.ix.Store(newIndex())
	c.hist.seed = maphash.MakeSeed()
	return c, nil
}

func (c *Checker) bitOrNone(p string) int {
	if b, ok := c.vocab.Index(p); ok {
		return b
	}
	return -1
}

// Vocabulary returns the checker's permission vocabulary.
func (c *Checker) Vocabulary() *perm.Vocabulary { return c.vocab }

// ErrGap is matched by the error of [Checker.Apply] for a change that does
// not follow the last applied revision: changes in between are missing and
// must be read from the feed first.
var ErrGap = errors.New("check: change does not follow the last applied revision")

// Apply applies one change of the store's feed to the index. Changes must
// come in revision order: a change at or below the current revision was
// already applied and is ignored (so a change that arrives both from a
// subscription and from the feed is applied once); a change beyond the next
// revision gives an error matching [ErrGap] and changes nothing. Changes
// with revision 0 come from snapshots and go through [Checker.Load].
//
// A change at an applied revision is compared with the one applied there,
// for the latest revisions (a digest of each is kept): when it differs,
// the store's history went back behind the checker (a database restored
// from a backup hands the revisions of the lost writes out again), and
// Apply returns an error matching [ErrRewound]. From then on it applies
// nothing and returns that error, until [Checker.Load] (or a catch-up,
// which loads a snapshot) replaces the index: every change applied on top
// would mix two histories.
//
// Every ID the change carries is checked against the checker's ID table
// ([Options].Types) for the kind its field holds: binding, user, role, a
// resource ID of the change's resource type, project and space IDs of the
// project changes; an ID with an alias type name is taken in canonical
// form. A change that fails (a SPACE binding holding a project ID, say)
// is refused with an error matching [rbac.ErrInvalid] and changes
// nothing, so the index only ever holds what a well-formed question can
// name. A store never emits such a change, since it validates its input
// the same way; a host that numbers its own changes may.
//
// Checks that start after Apply returns see the change.
func (c *Checker) Apply(ch store.Change) error {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	err := c.applyLocked(ch, false)
	if err == errUnremembered {
		// Too old to compare: taken as the change applied there, as
		// before the digests were kept.
		return nil
	}
	return err
}

// applyLocked applies ch. With passOver, a change at the next revision
// whose content the index refuses as invalid still moves the index on
// to its revision, with nothing changed (see CatchUp for why).
func (c *Checker) applyLocked(ch store.Change, passOver bool) error {
	// Checked and digested before the write lock is taken: checks wait
	// for the change, not for its validation.
	ch, bad := c.canonicalChange(ch)
	sum := c.hist.digest(&ch)
	ix := c.ix.Load()
	ix.mu.Lock()
	rev := ix.rev
	var err error
	switch {
	case ch.Revision == 0:
		err = fmt.Errorf("check: change without a revision; snapshots go through Load")
	case c.hist.rewound != nil:
		err = c.hist.rewound
	case ch.Revision <= rev:
		err = c.hist.compare(ch.Revision, sum)
	case ch.Revision != rev+1:
		err = fmt.Errorf("%w: have revision %d, got %d", ErrGap, rev, ch.Revision)
	default:
		err = bad
		if err == nil {
			err = ix.apply(c.vocab, ch)
		}
		if err == nil || (passOver && errors.Is(err, rbac.ErrInvalid)) {
			ix.rev = ch.Revision
			c.hist.record(ch.Revision, sum)
		}
	}
	moved := ix.rev != rev
	ix.mu.Unlock()
	if moved {
		c.notify()
	}
	return err
}

// canonicalChange checks every ID of a change against the checker's ID
// table, each for the kind of ID its field holds, and returns the change
// with its IDs in canonical form. The index relies on it: a resource ID
// whose type disagrees with its resource type could never be asked about
// well-formed, and would only make the index and the questions disagree
// about what the resource is.
func (c *Checker) canonicalChange(ch store.Change) (store.Change, error) {
	var err error
	switch ch.Kind {
	case store.BindingCreated, store.BindingRoleChanged, store.BindingDeleted:
		ch.Binding, err = c.binding(ch.Binding)
	case store.UserBindingsDeleted:
		ch.Binding.UserID, err = c.val.UserID(ch.Binding.UserID)
	case store.ResourceBindingsDeleted:
		ch.Binding.ResourceID, err = c.val.Resource(ch.Binding.ResourceType, ch.Binding.ResourceID)
	case store.RoleCreated, store.RoleUpdated, store.RoleDeleted:
		ch.Role.ID, err = c.val.RoleID(ch.Role.ID)
	case store.ProjectSpaceSet:
		var perr, serr error
		ch.ProjectID, perr = c.val.ID("project_id", ids.Project, ch.ProjectID)
		ch.SpaceID, serr = c.val.ID("space_id", ids.Space, ch.SpaceID)
		err = rbac.JoinInvalid(perr, serr)
	case store.ProjectRestricted, store.ProjectUnrestricted:
		ch.ProjectID, err = c.val.ID("project_id", ids.Project, ch.ProjectID)
	default:
		err = rbac.Invalid("kind", rbac.ReasonNotSupported, fmt.Sprintf("%d is not a kind of change", ch.Kind))
	}
	if err != nil {
		return ch, fmt.Errorf("check: %v change at revision %d refused: %w", ch.Kind, ch.Revision, err)
	}
	return ch, nil
}

func (c *Checker) notify() {
	c.wakeMu.Lock()
	close(c.wake)
	c.wake = make(chan struct{})
	c.wakeMu.Unlock()
}

// Revision returns the revision of the last change applied: the index
// reflects every write up to it.
func (c *Checker) Revision() uint64 {
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.rev
}

// bindingCount returns the number of bindings in the index.
func (c *Checker) bindingCount() int {
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.bindings
}

// Check reports whether the user may do permission on the resource, by the
// rules in the package documentation.
//
// An unknown permission is invalid input (field "permission"), never a
// deny: a typo in the host's code must fail loudly. A malformed user ID
// (field "user_id"), resource type (field "resource_type") or resource ID,
// or one of the wrong type (field "resource_id"), is invalid input too. A
// well-formed user or resource that the index does not know is a deny:
// nobody has a binding there.
//
// A check allocates nothing and, for IDs the index knows, hashes each ID
// string of the question once.
func (c *Checker) Check(userID, permission string, rt rbac.ResourceType, resourceID string) (bool, error) {
	bit, ok := c.vocab.Index(permission)
	if !ok {
		return false, unknownPermission(permission)
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	allowed, known := ix.check(userID, kindOf(rt), resourceID, bit, c.prBit)
	ix.mu.RUnlock()
	if known {
		return allowed, nil
	}
	return c.checkSlow(userID, bit, rt, resourceID)
}

// check answers a question by lookup alone. known is false when the
// index does not know the user, or the resource as a resource of kind
// kind; allowed is then false. Callers hold ix.mu.
func (ix *index) check(userID string, kind uint8, resourceID string, bit, prBit int) (allowed, known bool) {
	u, uok := ix.users[userID]
	r, rok := ix.res[resourceID]
	if !uok || !rok || r.kind != kind {
		return false, false
	}
	if r.kind == kindSpace {
		for i := range u.grants {
			if u.grants[i].res == r.n {
				return ix.roleRecs[u.grants[i].role].perms.has(bit), true
			}
		}
		return false, true
	}
	for i := range u.grants {
		g := &u.grants[i]
		if g.res != r.n && g.res != r.space {
			continue
		}
		perms := &ix.roleRecs[g.role].perms
		if !perms.has(bit) {
			continue
		}
		if g.res == r.n || !r.restricted || (prBit >= 0 && perms.has(prBit)) {
			return true, true
		}
	}
	return false, true
}

// checkSlow handles the questions the index cannot answer by lookup: IDs
// it does not know, which are either malformed (invalid input), spelled
// with an alias type name (Project:N:K for Model:N:K: looked up again in
// canonical form), or simply unknown (a deny). It looks up once more and
// never goes back to Check, so no question, whatever the index holds, can
// send it round in circles.
func (c *Checker) checkSlow(userID string, bit int, rt rbac.ResourceType, resourceID string) (bool, error) {
	userID, resourceID, err := c.canonical(userID, rt, resourceID)
	if err != nil {
		return false, err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	allowed, _ := ix.check(userID, kindOf(rt), resourceID, bit, c.prBit)
	return allowed, nil
}

// canonical checks the IDs of a question and returns them canonical.
func (c *Checker) canonical(userID string, rt rbac.ResourceType, resourceID string) (string, string, error) {
	var errs rbac.FieldErrors
	u, err := c.val.UserID(userID)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	r, err := c.val.Resource(rt, resourceID)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	return u, r, errs.Err()
}

func fieldErrors(err error) []rbac.FieldError {
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return []rbac.FieldError{{Reason: rbac.ReasonInvalid, Message: err.Error()}}
}

func unknownPermission(p string) error {
	return rbac.Invalid("permission", rbac.ReasonNotSupported, fmt.Sprintf("%q is not a permission of the vocabulary", p))
}

// Reason says why a [Decision] came out as it did.
type Reason string

// The reasons of a decision.
const (
	// Granted: the user's binding on the resource itself holds the
	// permission.
	Granted Reason = "granted"
	// Inherited: the project check was allowed by the user's binding on
	// the project's space.
	Inherited Reason = "inherited"
	// NoBinding: the user has no binding on the resource, nor on its
	// space.
	NoBinding Reason = "no_binding"
	// RoleLacksPermission: bindings reach the resource, but none of their
	// roles holds the permission.
	RoleLacksPermission Reason = "role_lacks_permission"
	// Restricted: the project is restricted and the user's space binding,
	// whose role lacks PROJECT_RESTRICT, does not reach in; no binding on
	// the project itself grants the permission.
	Restricted Reason = "restricted"
)

// Decision is a check's answer with its explanation, for audit logs and
// for people asking "why can't I?".
type Decision struct {
	// Allowed is the answer.
	Allowed bool `json:"allowed"`
	// Reason says why.
	Reason Reason `json:"reason"`
	// BindingID is the binding that decided: the one that granted the
	// permission, or, for a deny, the one considered (for Restricted, the
	// space binding that was cut off). Empty for NoBinding.
	BindingID string `json:"binding_id,omitempty"`
	// RoleID and RoleName are that binding's role.
	RoleID   string `json:"role_id,omitempty"`
	RoleName string `json:"role_name,omitempty"`
	// Via is the resource that binding is on: the resource asked about,
	// or, for a project, possibly its space.
	ViaType rbac.ResourceType `json:"via_resource_type,omitempty"`
	ViaID   string            `json:"via_resource_id,omitempty"`
	// Revision is the index revision the decision was made at.
	Revision uint64 `json:"revision"`
}

// String describes the decision in one line.
func (d Decision) String() string {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	if d.BindingID == "" {
		return fmt.Sprintf("%s (%s) at revision %d", verdict, d.Reason, d.Revision)
	}
	return fmt.Sprintf("%s (%s) by binding %s, role %q (%s), on %s %s, at revision %d",
		verdict, d.Reason, d.BindingID, d.RoleName, d.RoleID, d.ViaType, d.ViaID, d.Revision)
}

// Explain answers the question of [Checker.Check] and says why. When both
// the project binding and the space binding would grant, the project's is
// named. A deny names, in this order of preference: a space binding that
// holds the permission but is cut off by a restriction (Restricted); the
// binding on the resource itself (RoleLacksPermission); the space binding
// (RoleLacksPermission, or Restricted when it is cut off); nothing
// (NoBinding).
func (c *Checker) Explain(userID, permission string, rt rbac.ResourceType, resourceID string) (Decision, error) {
	bit, ok := c.vocab.Index(permission)
	if !ok {
		return Decision{}, unknownPermission(permission)
	}
	userID, resourceID, err := c.canonical(userID, rt, resourceID)
	if err != nil {
		return Decision{}, err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	d := Decision{Reason: NoBinding, Revision: ix.rev}
	un, uok := ix.userNum(userID)
	rn, rok := ix.resNum(resourceID)
	if !uok || !rok {
		return d, nil
	}
	ex := ix.explain(un, rn, bit, c.prBit)
	if ex.g == nil {
		return d, nil
	}
	role := &ix.roleRecs[ex.g.role]
	via := &ix.resRecs[ex.g.res]
	d.Allowed, d.Reason = ex.allowed, ex.reason
	d.BindingID, d.RoleID, d.RoleName = ex.g.id, role.id, role.name
	d.ViaType, d.ViaID = rbac.Space, via.id
	if via.kind == kindProject {
		d.ViaType = rbac.Project
	}
	return d, nil
}

// explanation is the index-level result of explain.
type explanation struct {
	allowed bool
	reason  Reason
	g       *grant // the deciding grant; nil for NoBinding
}

// explain decides user un's permission bit on resource rn, with the
// reasons of [Checker.Explain]. It is the one statement of the rules that
// the reverse questions and the guard share; Check is its fast path.
func (ix *index) explain(un, rn uint32, bit, prBit int) explanation {
	r := &ix.resRecs[rn]
	u := &ix.userRecs[un]
	var direct, space *grant
	for i := range u.grants {
		g := &u.grants[i]
		switch {
		case g.res == rn:
			direct = g
		case r.kind == kindProject && g.res == r.space:
			space = g
		}
	}
	has := func(g *grant, b int) bool { return b >= 0 && ix.roleRecs[g.role].perms.has(b) }
	cutOff := space != nil && r.restricted && !has(space, prBit)
	switch {
	case direct != nil && has(direct, bit):
		return explanation{true, Granted, direct}
	case space != nil && !cutOff && has(space, bit):
		return explanation{true, Inherited, space}
	case cutOff && has(space, bit):
		return explanation{false, Restricted, space}
	case direct != nil:
		return explanation{false, RoleLacksPermission, direct}
	case space != nil && cutOff:
		return explanation{false, Restricted, space}
	case space != nil:
		return explanation{false, RoleLacksPermission, space}
	}
	return explanation{false, NoBinding, nil}
}

// effective returns user un's effective permissions on resource rn: the
// union of its binding there and, for a project, its space binding unless
// a restriction cuts that off.
func (ix *index) effective(un, rn uint32, prBit int) permSet {
	var s permSet
	r := &ix.resRecs[rn]
	for _, g := range ix.userRecs[un].grants {
		perms := ix.roleRecs[g.role].perms
		switch {
		case g.res == rn:
			s = s.union(perms)
		case r.kind == kindProject && g.res == r.space && (!r.restricted || (prBit >= 0 && perms.has(prBit))):
			s = s.union(perms)
		}
	}
	return s
}
