package memstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// Options configures a [Store]. The zero value is ready to use.
type Options struct {
	// Now is the clock for CreatedAt and UpdatedAt; nil means time.Now.
	// Tests pass a clock they control.
	Now func() time.Time
	// Validator holds the rules and the ID type names; nil means
	// [validate.Default].
	Validator *validate.Validator
	// Vocabulary is the permission vocabulary that role permissions are
	// checked against; nil means perm.DefaultVocabulary. A host passes
	// the same vocabulary to its checker.
	Vocabulary *perm.Vocabulary
	// Catalogue is the predefined roles, stored when the store is made,
	// in this order; nil means perm.DefaultCatalogue over the default
	// vocabulary, and an empty, non-nil slice means none. A host passes
	// the same catalogue to its checker. New panics on a catalogue with
	// a role ID that is not canonical, a repeated ID or name, or a role
	// that would not pass as a custom role (no permission, a permission
	// outside the vocabulary): the catalogue is the program's own
	// configuration, so that is a programming error.
	Catalogue []rbac.Role
	// ChangeRetention is how many changes the change feed keeps; 0 means
	// [DefaultChangeRetention], and a negative number keeps every change
	// (the memory of the log then grows with every write).
	ChangeRetention int
	// ProtectLastAdmin keeps every space that has an administrator (a
	// binding on it whose role holds ROLE_BINDING_CREATE) from losing
	// its last one: a Delete, ChangeRole or UpdateRole that would is a
	// conflict, decided under the lock of the write itself (see "The
	// last administrator" in package store). Off by default, as in
	// every store.
	ProtectLastAdmin bool
}

// Store is an in-memory [store.Store], [store.RoleStore],
// [store.ResourceStore], [store.ChangeFeed] and [store.FirstAdminCreator].
// It is safe for concurrent use. Make one with [New].
type Store struct {
	validator *validate.Validator
	vocab     *perm.Vocabulary
	now       func() time.Time
	cursors   *store.Cursors
	// protect is Options.ProtectLastAdmin.
	protect bool

	// mu guards everything below. Reads (Get, List) share it. Every
	// function that takes it lets go of it with defer, in the same
	// function: the locked part of a write is a function of its own
	// (createLocked, say) that returns the change it recorded, and the
	// method hands that change to the subscribers once the locked part
	// has returned (see [pending]).
	mu sync.RWMutex
	// seq is the sequence number of the last binding created: it orders
	// the lists and is what a cursor carries.
	seq uint64
	// lastID is the number segment of the last binding ID handed out.
	// Every new ID must have a larger number, which is what makes an ID
	// never come back, even after its binding is deleted.
	lastID []byte
	// bindings holds the binding records, at fixed slots.
	bindings recordTable
	// bindingSlots maps a binding ID to its slot.
	bindingSlots map[string]uint32
	// pairSlots maps a (user, resource) pair to the slot of its binding:
	// the uniqueness rule.
	pairSlots map[uint64]uint32
	// byType lists every binding, one list per resource type.
	byType [numRT]seqList
	// byUser, byResource and byRole index the bindings by user, resource
	// and role ID. A role is in byRole exactly when some binding refers
	// to it, which is what DeleteRole checks.
	byUser, byResource, byRole keyTable

	// roles is the roles themselves, predefined and custom.
	roles roleTable
	// projects is the space of each project and the restricted projects.
	projects resourceFacts
	feed     feed
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.RoleStore         = (*Store)(nil)
	_ store.ResourceStore     = (*Store)(nil)
	_ store.ChangeFeed        = (*Store)(nil)
	_ store.FirstAdminCreator = (*Store)(nil)
)

// New returns a store with no bindings, holding the catalogue's roles.
// It panics on a bad catalogue; see [Options].Catalogue.
func New(opts Options) *Store {
	s := &Store{
		validator:    opts.Validator,
		vocab:        opts.Vocabulary,
		now:          opts.Now,
		protect:      opts.ProtectLastAdmin,
		bindingSlots: make(map[string]uint32),
		pairSlots:    make(map[uint64]uint32),
		byUser:       newKeyTable(),
		byResource:   newKeyTable(),
		byRole:       newKeyTable(),
		roles:        roleTable{byID: make(map[string]uint32), names: make(map[string]string)},
		projects:     resourceFacts{links: make(map[string]string), byID: make(map[string]uint32)},
	}
	if s.validator == nil {
		s.validator = validate.Default()
	}
	if s.vocab == nil {
		s.vocab = perm.DefaultVocabulary()
	}
	if s.now == nil {
		s.now = time.Now
	}
	catalogue := opts.Catalogue
	if catalogue == nil {
		catalogue = perm.DefaultCatalogue(perm.DefaultVocabulary())
	}
	// Predefined roles make no change of the feed: a checker starts with
	// the same catalogue built in, so revision 1 is the first write.
	s.loadCatalogue(catalogue)
	retention := opts.ChangeRetention
	switch {
	case retention == 0:
		retention = DefaultChangeRetention
	case retention < 0:
		retention = 0
	}
	s.feed.init(retention)
	// Cursors are sealed with a key of this store alone: nothing outside
	// the process can read them, and a cursor of another store is
	// rejected instead of silently paging the wrong list.
	var key [32]byte
	rand.Read(key[:])
	s.cursors = store.NewCursors(key[:])
	return s
}

func pairOf(user, res uint32) uint64 { return uint64(user)<<32 | uint64(res) }

// stamp returns the current time as stored: microseconds, UTC.
func (s *Store) stamp() int64 { return rbac.StoreTime(s.now()).UnixMicro() }

func fromMicros(us int64) time.Time { return rbac.StoreTime(time.UnixMicro(us)) }

// binding returns a copy of the binding at r. It allocates nothing: every
// string is shared with the store, and strings are immutable.
func (s *Store) binding(r *record) rbac.Binding {
	return rbac.Binding{
		ID:           r.id,
		RoleID:       s.byRole.keys[r.role].id,
		UserID:       s.byUser.keys[r.user].id,
		ResourceType: rtNames[r.rt],
		ResourceID:   s.byResource.keys[r.res].id,
		CreatedAt:    fromMicros(r.created),
		UpdatedAt:    fromMicros(r.updated),
	}
}

// done returns the context's error, wrapped, when it is already done.
func done(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	return nil
}

// pending is the change a write recorded under mu, with its revision
// (0 when the write changed nothing), for the subscribers: a write's
// locked part returns it, and the method hands it out with publish once
// mu is released, since subscribers may call the store.
type pending struct {
	rev uint64
	c   changeRec
}

// log records c in the change log. The caller holds mu for writing.
func (s *Store) log(c changeRec) pending { return pending{rev: s.record(c), c: c} }

// publish hands a write's change to the subscribers, if it made one. The
// caller holds no lock of the store.
func (p *pending) publish(s *Store) {
	if p.rev != 0 {
		s.publish(p.rev, &p.c)
	}
}

// write runs locked, the part of a write that reads and changes the
// store, under the write lock, unless ctx is done by the time the lock is
// taken (a context cancelled while waiting writes nothing). Once the
// lock is released, it hands the change that locked recorded, if any, to
// the subscribers.
func (s *Store) write(ctx context.Context, locked func() (pending, error)) error {
	p, err := s.writeLocked(ctx, locked)
	if err != nil {
		return err
	}
	p.publish(s)
	return nil
}

// writeLocked is the locked part of write.
func (s *Store) writeLocked(ctx context.Context, locked func() (pending, error)) (pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := done(ctx); err != nil {
		return pending{}, err
	}
	return locked()
}

// Create stores a new binding; see [store.Store.Create]. It and
// ChangeRole, the hot writes, spell out what write does, so that they
// return the binding without a closure.
func (s *Store) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return s.create(ctx, nb, false)
}

// CreateFirstAdmin implements [store.FirstAdminCreator]: the space's
// check and the create are one locked part.
func (s *Store) CreateFirstAdmin(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	return s.create(ctx, nb, true)
}

// create is Create, and CreateFirstAdmin when first is set.
func (s *Store) create(ctx context.Context, nb rbac.NewBinding, first bool) (rbac.Binding, error) {
	rt := nb.ResourceType
	nb, err := s.validator.NewBinding(nb)
	if first {
		err = core.FirstAdminInput(rt, err)
	}
	if err != nil {
		return rbac.Binding{}, err
	}
	b, p, err := s.createLocked(ctx, nb, first)
	if err != nil {
		return rbac.Binding{}, err
	}
	p.publish(s)
	return b, nil
}

// createLocked is the locked part of Create, and of CreateFirstAdmin when
// first is set.
func (s *Store) createLocked(ctx context.Context, nb rbac.NewBinding, first bool) (rbac.Binding, pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the lock: a context cancelled while waiting for it
	// writes nothing.
	if err := done(ctx); err != nil {
		return rbac.Binding{}, pending{}, err
	}
	// The order of checks of the contract: the role (404), then the
	// (user, resource) slot (409).
	if !s.roleExists(nb.RoleID) {
		return rbac.Binding{}, pending{}, core.RoleNotFound(nb.RoleID)
	}
	user, uok := s.byUser.lookup(nb.UserID)
	res, rok := s.byResource.lookup(nb.ResourceID)
	if first {
		if err := s.firstAdminRefused(nb, res, rok); err != nil {
			return rbac.Binding{}, pending{}, err
		}
	}
	if uok && rok {
		if _, dup := s.pairSlots[pairOf(user, res)]; dup {
			return rbac.Binding{}, pending{}, core.SlotTaken(nb.UserID, nb.ResourceType, nb.ResourceID)
		}
	}
	id, err := s.newID()
	if err != nil {
		return rbac.Binding{}, pending{}, err
	}
	now := s.stamp()
	s.seq++
	slot := s.bindings.alloc()
	r := s.bindings.at(slot)
	*r = record{
		id:      id,
		seq:     s.seq,
		created: now,
		updated: now,
		user:    s.byUser.acquire(nb.UserID),
		res:     s.byResource.acquire(nb.ResourceID),
		role:    s.byRole.acquire(nb.RoleID),
		rt:      rtOf(nb.ResourceType),
	}
	e := entry{seq: r.seq, slot: slot}
	s.byType[r.rt].insert(e)
	s.byUser.keys[r.user].lists[r.rt].insert(e)
	s.byResource.keys[r.res].lists[r.rt].insert(e)
	s.byRole.keys[r.role].lists[r.rt].insert(e)
	s.bindingSlots[id] = slot
	s.pairSlots[pairOf(r.user, r.res)] = slot
	return s.binding(r), s.log(s.bindingChange(store.BindingCreated, r, now)), nil
}

// newID returns a binding ID that this store has never handed out. The
// caller holds mu.
func (s *Store) newID() (string, error) {
	return s.fresh(ids.RoleBinding, &s.lastID, func(id string) bool { _, used := s.bindingSlots[id]; return used })
}

// fresh returns a new ID of kind k that this store has never handed out.
// The generator's IDs grow within a process (a version 7 UUID with a
// monotonic clock), and the store holds it to that: an ID whose number is
// not above *last is refused, so a deleted binding's or role's ID can
// never come back, whatever the system clock does. The caller holds mu.
func (s *Store) fresh(k ids.Kind, last *[]byte, used func(string) bool) (string, error) {
	for range 3 {
		id, err := s.validator.Types().NewID(k)
		if err != nil {
			return "", fmt.Errorf("memstore: %w", err)
		}
		num, err := idNumber(id)
		if err != nil {
			return "", err
		}
		if numLess(*last, num) && !used(id) {
			*last = num
			return id, nil
		}
	}
	return "", fmt.Errorf("memstore: the %s id generator did not move forward", k)
}

// idNumber returns the number segment of a generated ID.
func idNumber(id string) ([]byte, error) {
	text, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return nil, fmt.Errorf("memstore: generated binding id %q: %w", id, err)
	}
	_, num, ok := bytes.Cut(text, []byte(":"))
	if !ok {
		return nil, fmt.Errorf("memstore: generated binding id %q has no number", id)
	}
	num, _, _ = bytes.Cut(num, []byte(":"))
	return num, nil
}

// numLess compares canonical decimal numbers (no leading zeros): a longer
// one is larger, and equal lengths compare digit by digit.
func numLess(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return bytes.Compare(a, b) < 0
}

// Get returns the binding with the given ID; see [store.Store.Get].
func (s *Store) Get(ctx context.Context, id string) (rbac.Binding, error) {
	id, err := s.validator.BindingID(id)
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.Binding{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	slot, ok := s.bindingSlots[id]
	if !ok {
		return rbac.Binding{}, core.BindingNotFound(id)
	}
	return s.binding(s.bindings.at(slot)), nil
}

// ChangeRole sets a binding's role; see [store.Store.ChangeRole].
func (s *Store) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	id, idErr := s.validator.BindingID(id)
	c, cErr := s.validator.RoleChange(c)
	if err := rbac.JoinInvalid(idErr, cErr); err != nil {
		return rbac.Binding{}, err
	}
	b, p, err := s.changeRoleLocked(ctx, id, c)
	if err != nil {
		return rbac.Binding{}, err
	}
	p.publish(s)
	return b, nil
}

// changeRoleLocked is the locked part of ChangeRole.
func (s *Store) changeRoleLocked(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := done(ctx); err != nil {
		return rbac.Binding{}, pending{}, err
	}
	// The order of checks of the contract: the binding (404), the new
	// role (404), the precondition (409), "no change", then the last
	// administrator (409).
	slot, ok := s.bindingSlots[id]
	if !ok {
		return rbac.Binding{}, pending{}, core.BindingNotFound(id)
	}
	r := s.bindings.at(slot)
	same := s.byRole.keys[r.role].id == c.RoleID
	if !same && !s.roleExists(c.RoleID) {
		return rbac.Binding{}, pending{}, core.RoleNotFound(c.RoleID)
	}
	if !c.IfUpdatedAt.IsZero() && c.IfUpdatedAt.UnixMicro() != r.updated {
		return rbac.Binding{}, pending{}, core.BindingChanged(id, fromMicros(r.updated), c.IfUpdatedAt)
	}
	if same {
		return s.binding(r), pending{}, nil
	}
	if !s.idIsAdmin(c.RoleID) {
		if err := s.losesLastAdmin(slot); err != nil {
			return rbac.Binding{}, pending{}, err
		}
	}
	old := r.role
	r.role = s.byRole.acquire(c.RoleID)
	e := entry{seq: r.seq, slot: slot}
	s.byRole.keys[old].lists[r.rt].remove(r.seq)
	s.byRole.releaseIfUnused(old)
	s.byRole.keys[r.role].lists[r.rt].insert(e)
	at := s.stamp()
	r.updated = core.NextUpdateMicros(at, r.updated)
	return s.binding(r), s.log(s.bindingChange(store.BindingRoleChanged, r, at)), nil
}

// Delete removes a binding; see [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, id string) error {
	id, err := s.validator.BindingID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, func() (pending, error) {
		slot, ok := s.bindingSlots[id]
		if !ok {
			return pending{}, core.BindingNotFound(id)
		}
		if err := s.losesLastAdmin(slot); err != nil {
			return pending{}, err
		}
		c := s.bindingChange(store.BindingDeleted, s.bindings.at(slot), s.stamp())
		s.remove(slot)
		return s.log(c), nil
	})
}

// remove deletes the binding at slot from every index. The caller holds
// mu for writing.
func (s *Store) remove(slot uint32) {
	r := s.bindings.at(slot)
	s.byType[r.rt].remove(r.seq)
	s.byUser.keys[r.user].lists[r.rt].remove(r.seq)
	s.byResource.keys[r.res].lists[r.rt].remove(r.seq)
	s.byRole.keys[r.role].lists[r.rt].remove(r.seq)
	s.byUser.releaseIfUnused(r.user)
	s.byResource.releaseIfUnused(r.res)
	s.byRole.releaseIfUnused(r.role)
	delete(s.pairSlots, pairOf(r.user, r.res))
	delete(s.bindingSlots, r.id)
	s.bindings.release(slot)
}

// removeKey deletes every binding of key k in one step. The caller holds
// mu for writing.
func (s *Store) removeKey(t *keyTable, k uint32) int {
	var slots []uint32
	for rt := range numRT {
		for _, c := range t.keys[k].lists[rt].chunks {
			for _, e := range c.e {
				slots = append(slots, e.slot)
			}
		}
	}
	// Newest first: each removal then takes the last entry of the key's
	// own list, which shifts nothing, however many bindings the key has.
	for i := len(slots) - 1; i >= 0; i-- {
		s.remove(slots[i])
	}
	return len(slots)
}

// DeleteUserBindings removes every binding of a user; see
// [store.Store.DeleteUserBindings].
func (s *Store) DeleteUserBindings(ctx context.Context, userID string) (int, error) {
	userID, err := s.validator.UserID(userID)
	if err != nil {
		return 0, err
	}
	return s.cascade(ctx, &s.byUser, userID, func(c *changeRec, id string) {
		c.kind, c.user = store.UserBindingsDeleted, id
	})
}

// DeleteResourceBindings removes every binding on a resource; see
// [store.Store.DeleteResourceBindings].
func (s *Store) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	resourceID, err := s.validator.Resource(rt, resourceID)
	if err != nil {
		return 0, err
	}
	return s.cascade(ctx, &s.byResource, resourceID, func(c *changeRec, id string) {
		c.kind, c.rt, c.res = store.ResourceBindingsDeleted, rtOf(rt), id
	})
}

// cascade removes every binding under key id of index t in one step and
// records one change, described by describe from the index's own copy of
// the ID. A key with no bindings is no change.
func (s *Store) cascade(ctx context.Context, t *keyTable, id string, describe func(c *changeRec, id string)) (n int, err error) {
	err = s.write(ctx, func() (pending, error) {
		k, ok := t.lookup(id)
		if !ok {
			return pending{}, nil
		}
		c := changeRec{at: s.stamp()}
		describe(&c, t.keys[k].id)
		n = s.removeKey(t, k)
		return s.log(c), nil
	})
	return n, err
}

// List returns one page of bindings; see [store.Store.List].
//
// Each filter has its own index, and the query walks the shortest index
// among the filters it has, from the cursor's position on, checking the
// other filters on each binding: like a SQL planner picking the most
// selective index. Every index is split by resource type, so a
// resource_type filter costs nothing; without one, the two halves are
// merged in creation order.
func (s *Store) List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error) {
	q, after, err := core.CheckList(s.validator, s.cursors, q)
	if err != nil {
		return rbac.Page{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()

	f := filter{user: noKey, res: noKey, role: noKey, rt: -1}
	if q.ResourceType != "" {
		f.rt = int(rtOf(q.ResourceType))
	}
	var lists [numRT]*seqList
	best := -1
	// consider makes the lists of key k in t the walk's source when they
	// are shorter than the best so far. A filter on an ID no binding
	// refers to matches nothing.
	consider := func(t *keyTable, id string, k *uint32) bool {
		if id == "" {
			return true
		}
		n, ok := t.lookup(id)
		if !ok {
			return false
		}
		*k = n
		size := t.keys[n].len()
		if f.rt >= 0 {
			size = t.keys[n].lists[f.rt].n
		}
		if best < 0 || size < best {
			best = size
			lists[0], lists[1] = &t.keys[n].lists[0], &t.keys[n].lists[1]
		}
		return true
	}
	if !consider(&s.byUser, q.UserID, &f.user) ||
		!consider(&s.byResource, q.ResourceID, &f.res) ||
		!consider(&s.byRole, q.RoleID, &f.role) {
		return rbac.Page{Bindings: []rbac.Binding{}}, nil
	}
	if f.user != noKey && f.res != noKey {
		// At most one binding matches: look it up instead of walking.
		page := rbac.Page{Bindings: []rbac.Binding{}}
		if slot, ok := s.pairSlots[pairOf(f.user, f.res)]; ok {
			if r := s.bindings.at(slot); r.seq > after && f.match(r) {
				page.Bindings = append(page.Bindings, s.binding(r))
			}
		}
		return page, nil
	}
	if best < 0 {
		lists[0], lists[1] = &s.byType[0], &s.byType[1]
		best = s.byType[0].n + s.byType[1].n
		if f.rt >= 0 {
			best = s.byType[f.rt].n
		}
	}
	var m merged
	if f.rt < 0 {
		m = merged{a: lists[0].after(after), b: lists[1].after(after)}
	} else {
		m = merged{a: lists[f.rt].after(after)}
	}

	page := rbac.Page{Bindings: make([]rbac.Binding, 0, min(q.Limit, best))}
	var last uint64
	for {
		e, ok := m.peek()
		if !ok {
			break
		}
		m.next()
		r := s.bindings.at(e.slot)
		if !f.match(r) {
			continue
		}
		if len(page.Bindings) == q.Limit {
			page.HasMore = true
			page.NextCursor = s.cursors.Encode(q, last)
			break
		}
		page.Bindings = append(page.Bindings, s.binding(r))
		last = e.seq
	}
	return page, nil
}

// noKey marks a filter that is not set.
const noKey = ^uint32(0)

// filter is a list query in the store's numbers.
type filter struct {
	user, res, role uint32
	rt              int
}

func (f *filter) match(r *record) bool {
	return (f.user == noKey || r.user == f.user) &&
		(f.res == noKey || r.res == f.res) &&
		(f.role == noKey || r.role == f.role) &&
		(f.rt < 0 || int(r.rt) == f.rt)
}
