package memstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
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
}

// Store is an in-memory [store.Store], [store.RoleStore],
// [store.ResourceStore] and [store.ChangeFeed]. It is safe for concurrent
// use. Make one with [New].
type Store struct {
	v       *validate.Validator
	vocab   *perm.Vocabulary
	now     func() time.Time
	cursors *store.Cursors

	// mu guards everything below. Reads (Get, List) share it.
	mu sync.RWMutex
	// seq is the sequence number of the last binding created: it orders
	// the lists and is what a cursor carries.
	seq uint64
	// lastID is the number segment of the last binding ID handed out.
	// Every new ID must have a larger number, which is what makes an ID
	// never come back, even after its binding is deleted.
	lastID []byte
	recs   recordTable
	byID   map[string]uint32
	// pairs holds, per (user, resource), the slot of its binding: the
	// uniqueness rule.
	pairs map[uint64]uint32
	// all lists every binding, one list per resource type.
	all       [numRT]seqList
	users     keyTable
	resources keyTable
	// roles indexes the bindings by role ID: a role is in it exactly
	// when some binding refers to it, which is what DeleteRole checks.
	roles keyTable

	// rolesByID is the roles themselves, predefined and custom.
	rolesByID roleTable
	facts     resourceFacts
	feed      feed
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.RoleStore     = (*Store)(nil)
	_ store.ResourceStore = (*Store)(nil)
	_ store.ChangeFeed    = (*Store)(nil)
)

// New returns a store with no bindings, holding the catalogue's roles.
// It panics on a bad catalogue; see [Options].Catalogue.
func New(opts Options) *Store {
	s := &Store{
		v:         opts.Validator,
		vocab:     opts.Vocabulary,
		now:       opts.Now,
		byID:      make(map[string]uint32),
		pairs:     make(map[uint64]uint32),
		users:     newKeyTable(),
		resources: newKeyTable(),
		roles:     newKeyTable(),
		rolesByID: roleTable{byID: make(map[string]uint32), names: make(map[string]string)},
		facts:     resourceFacts{links: make(map[string]string), byID: make(map[string]uint32)},
	}
	if s.v == nil {
		s.v = validate.Default()
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
		RoleID:       s.roles.keys[r.role].id,
		UserID:       s.users.keys[r.user].id,
		ResourceType: rtNames[r.rt],
		ResourceID:   s.resources.keys[r.res].id,
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

// lockLive takes the write lock and returns nil, unless ctx has ended by
// the time the lock is taken: then it returns ctx's error, without the
// lock.
func (s *Store) lockLive(ctx context.Context) error {
	s.mu.Lock()
	if err := done(ctx); err != nil {
		s.mu.Unlock()
		return err
	}
	return nil
}

// Create stores a new binding; see [store.Store.Create].
func (s *Store) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	nb, err := s.v.NewBinding(nb)
	if err != nil {
		return rbac.Binding{}, err
	}
	s.mu.Lock()
	b, c, err := s.create(ctx, nb)
	if err != nil {
		s.mu.Unlock()
		return rbac.Binding{}, err
	}
	s.commit(c)
	return b, nil
}

// create is Create under mu, held for writing.
func (s *Store) create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, changeRec, error) {
	// Checked under the lock: a context cancelled while waiting for it
	// writes nothing.
	if err := done(ctx); err != nil {
		return rbac.Binding{}, changeRec{}, err
	}
	user, uok := s.users.lookup(nb.UserID)
	res, rok := s.resources.lookup(nb.ResourceID)
	if uok && rok {
		if slot, dup := s.pairs[pairOf(user, res)]; dup {
			return rbac.Binding{}, changeRec{}, fmt.Errorf("memstore: %w: user %s already has a binding on %s %s (role binding %s)",
				rbac.ErrConflict, nb.UserID, nb.ResourceType, nb.ResourceID, s.recs.at(slot).id)
		}
	}
	if !s.roleExists(nb.RoleID) {
		return rbac.Binding{}, changeRec{}, roleNotFound(nb.RoleID)
	}
	id, err := s.newID()
	if err != nil {
		return rbac.Binding{}, changeRec{}, err
	}
	now := s.stamp()
	s.seq++
	slot := s.recs.alloc()
	r := s.recs.at(slot)
	*r = record{
		id:      id,
		seq:     s.seq,
		created: now,
		updated: now,
		user:    s.users.acquire(nb.UserID),
		res:     s.resources.acquire(nb.ResourceID),
		role:    s.roles.acquire(nb.RoleID),
		rt:      rtOf(nb.ResourceType),
	}
	e := entry{seq: r.seq, slot: slot}
	s.all[r.rt].insert(e)
	s.users.keys[r.user].lists[r.rt].insert(e)
	s.resources.keys[r.res].lists[r.rt].insert(e)
	s.roles.keys[r.role].lists[r.rt].insert(e)
	s.byID[id] = slot
	s.pairs[pairOf(r.user, r.res)] = slot
	return s.binding(r), s.bindingChange(store.BindingCreated, r, now), nil
}

// newID returns a binding ID that this store has never handed out. The
// caller holds mu.
func (s *Store) newID() (string, error) {
	return s.fresh(ids.RoleBinding, &s.lastID, func(id string) bool { _, used := s.byID[id]; return used })
}

// fresh returns a new ID of kind k that this store has never handed out.
// The generator's IDs grow within a process (a version 7 UUID with a
// monotonic clock), and the store holds it to that: an ID whose number is
// not above *last is refused, so a deleted binding's or role's ID can
// never come back, whatever the system clock does. The caller holds mu.
func (s *Store) fresh(k ids.Kind, last *[]byte, used func(string) bool) (string, error) {
	for range 3 {
		id, err := s.v.Types().NewID(k)
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

func notFound(id string) error {
	return fmt.Errorf("memstore: %w: role binding %s", rbac.ErrNotFound, id)
}

// Get returns the binding with the given ID; see [store.Store.Get].
func (s *Store) Get(ctx context.Context, id string) (rbac.Binding, error) {
	id, err := s.v.BindingID(id)
	if err != nil {
		return rbac.Binding{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.Binding{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	slot, ok := s.byID[id]
	if !ok {
		return rbac.Binding{}, notFound(id)
	}
	return s.binding(s.recs.at(slot)), nil
}

// ChangeRole sets a binding's role; see [store.Store.ChangeRole].
func (s *Store) ChangeRole(ctx context.Context, id string, c rbac.RoleChange) (rbac.Binding, error) {
	id, idErr := s.v.BindingID(id)
	c, cErr := s.v.RoleChange(c)
	if err := rbac.JoinInvalid(idErr, cErr); err != nil {
		return rbac.Binding{}, err
	}
	s.mu.Lock()
	b, ch, changed, err := s.changeRole(ctx, id, c)
	if !changed {
		s.mu.Unlock()
		return b, err
	}
	s.commit(ch)
	return b, nil
}

// changeRole is ChangeRole under mu, held for writing. changed says
// whether it wrote something (and so made the change ch).
func (s *Store) changeRole(ctx context.Context, id string, c rbac.RoleChange) (b rbac.Binding, ch changeRec, changed bool, err error) {
	if err := done(ctx); err != nil {
		return rbac.Binding{}, ch, false, err
	}
	slot, ok := s.byID[id]
	if !ok {
		return rbac.Binding{}, ch, false, notFound(id)
	}
	r := s.recs.at(slot)
	if !c.IfUpdatedAt.IsZero() && c.IfUpdatedAt.UnixMicro() != r.updated {
		return rbac.Binding{}, ch, false, fmt.Errorf("memstore: %w: role binding %s changed at %s, after the %s the caller saw",
			rbac.ErrConflict, id, rbac.FormatTime(fromMicros(r.updated)), rbac.FormatTime(c.IfUpdatedAt))
	}
	if s.roles.keys[r.role].id == c.RoleID {
		return s.binding(r), ch, false, nil
	}
	if !s.roleExists(c.RoleID) {
		return rbac.Binding{}, ch, false, roleNotFound(c.RoleID)
	}
	old := r.role
	r.role = s.roles.acquire(c.RoleID)
	e := entry{seq: r.seq, slot: slot}
	s.roles.keys[old].lists[r.rt].remove(r.seq)
	s.roles.releaseIfUnused(old)
	s.roles.keys[r.role].lists[r.rt].insert(e)
	// UpdatedAt moves forward even when the clock has stepped back, so
	// that an IfUpdatedAt precondition can never see an old value again.
	at := s.stamp()
	r.updated = max(at, r.updated+1)
	return s.binding(r), s.bindingChange(store.BindingRoleChanged, r, at), true, nil
}

// Delete removes a binding; see [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, id string) error {
	id, err := s.v.BindingID(id)
	if err != nil {
		return err
	}
	if err := s.lockLive(ctx); err != nil {
		return err
	}
	slot, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return notFound(id)
	}
	c := s.bindingChange(store.BindingDeleted, s.recs.at(slot), s.stamp())
	s.remove(slot)
	s.commit(c)
	return nil
}

// remove deletes the binding at slot from every index. The caller holds
// mu for writing.
func (s *Store) remove(slot uint32) {
	r := s.recs.at(slot)
	s.all[r.rt].remove(r.seq)
	s.users.keys[r.user].lists[r.rt].remove(r.seq)
	s.resources.keys[r.res].lists[r.rt].remove(r.seq)
	s.roles.keys[r.role].lists[r.rt].remove(r.seq)
	s.users.releaseIfUnused(r.user)
	s.resources.releaseIfUnused(r.res)
	s.roles.releaseIfUnused(r.role)
	delete(s.pairs, pairOf(r.user, r.res))
	delete(s.byID, r.id)
	s.recs.release(slot)
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
	userID, err := s.v.UserID(userID)
	if err != nil {
		return 0, err
	}
	return s.cascade(ctx, &s.users, userID, func(c *changeRec, id string) {
		c.kind, c.user = store.UserBindingsDeleted, id
	})
}

// DeleteResourceBindings removes every binding on a resource; see
// [store.Store.DeleteResourceBindings].
func (s *Store) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	resourceID, err := s.v.Resource(rt, resourceID)
	if err != nil {
		return 0, err
	}
	return s.cascade(ctx, &s.resources, resourceID, func(c *changeRec, id string) {
		c.kind, c.rt, c.res = store.ResourceBindingsDeleted, rtOf(rt), id
	})
}

// cascade removes every binding under key id of index t in one step and
// records one change, described by describe from the index's own copy of
// the ID. A key with no bindings is no change.
func (s *Store) cascade(ctx context.Context, t *keyTable, id string, describe func(c *changeRec, id string)) (int, error) {
	if err := s.lockLive(ctx); err != nil {
		return 0, err
	}
	k, ok := t.lookup(id)
	if !ok {
		s.mu.Unlock()
		return 0, nil
	}
	c := changeRec{at: s.stamp()}
	describe(&c, t.keys[k].id)
	n := s.removeKey(t, k)
	s.commit(c)
	return n, nil
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
	q, after, err := s.checkList(q)
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
	if !consider(&s.users, q.UserID, &f.user) ||
		!consider(&s.resources, q.ResourceID, &f.res) ||
		!consider(&s.roles, q.RoleID, &f.role) {
		return rbac.Page{Bindings: []rbac.Binding{}}, nil
	}
	if f.user != noKey && f.res != noKey {
		// At most one binding matches: look it up instead of walking.
		page := rbac.Page{Bindings: []rbac.Binding{}}
		if slot, ok := s.pairs[pairOf(f.user, f.res)]; ok {
			if r := s.recs.at(slot); r.seq > after && f.match(r) {
				page.Bindings = append(page.Bindings, s.binding(r))
			}
		}
		return page, nil
	}
	if best < 0 {
		lists[0], lists[1] = &s.all[0], &s.all[1]
		best = s.all[0].n + s.all[1].n
		if f.rt >= 0 {
			best = s.all[f.rt].n
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
		r := s.recs.at(e.slot)
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

// checkList validates a list query and reads its cursor, reporting every
// problem at once. The cursor can only be judged against valid filters,
// so it is read when the filters are valid, even if the limit is not.
func (s *Store) checkList(q rbac.ListQuery) (rbac.ListQuery, uint64, error) {
	q, qErr := s.v.ListQuery(q)
	var ve *rbac.ValidationError
	if qErr != nil && (!errors.As(qErr, &ve) || !onlyField(ve, "limit")) {
		return q, 0, qErr
	}
	after, cErr := s.cursors.Decode(q, q.Cursor)
	if err := rbac.JoinInvalid(qErr, cErr); err != nil {
		return q, 0, err
	}
	return q, after, nil
}

func onlyField(ve *rbac.ValidationError, field string) bool {
	for _, fe := range ve.Fields {
		if fe.Field != field {
			return false
		}
	}
	return true
}
