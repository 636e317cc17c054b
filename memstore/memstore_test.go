package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/validate"
)

func userID(n int) string {
	return ids.Encode("User", strconv.Itoa(10_000_000_000+n), "u"+strconv.Itoa(n))
}
func roleID(n int) string  { return ids.Encode("Role", strconv.Itoa(n+1), "r"+strconv.Itoa(n)) }
func spaceID(n int) string { return ids.Encode("Space", strconv.Itoa(500+n), "s"+strconv.Itoa(n)) }

// testRoles is how many roles, roleID(0) to roleID(testRoles-1), the
// tests of this file bind.
const testRoles = 5

// newStore returns a store whose catalogue holds, after the default
// roles, the roles this file's tests bind, since a store refuses a
// binding to a role it does not have.
func newStore(opts memstore.Options) *memstore.Store {
	if opts.Catalogue == nil {
		opts.Catalogue = testCatalogue()
	}
	return memstore.New(opts)
}

// testCatalogue is the catalogue of newStore's stores.
func testCatalogue() []rbac.Role {
	roles := perm.DefaultCatalogue(perm.DefaultVocabulary())
	for n := range testRoles {
		roles = append(roles, rbac.Role{
			ID: roleID(n), Name: "test role " + strconv.Itoa(n), Permissions: []string{perm.ProjectRestrict}, Predefined: true,
		})
	}
	return roles
}

// projectID spells project n with the canonical type name or the alias;
// both name one project.
func projectID(n int, alias bool) string {
	typ := "Model"
	if alias {
		typ = "Project"
	}
	return ids.Encode(typ, strconv.Itoa(90_000+n), "p"+strconv.Itoa(n))
}

// model is the plain reference a random test compares the store with:
// the live bindings in creation order.
type model struct {
	order []string
	byID  map[string]rbac.Binding
}

func (m *model) pairTaken(user, res string) bool {
	for _, b := range m.byID {
		if b.UserID == user && b.ResourceID == res {
			return true
		}
	}
	return false
}

func (m *model) put(b rbac.Binding) {
	if _, ok := m.byID[b.ID]; !ok {
		m.order = append(m.order, b.ID)
	}
	m.byID[b.ID] = b
}

func (m *model) remove(id string) {
	delete(m.byID, id)
	for i, o := range m.order {
		if o == id {
			m.order = append(m.order[:i], m.order[i+1:]...)
			return
		}
	}
}

// matching returns the live bindings that q selects, in creation order.
func (m *model) matching(q rbac.ListQuery) []rbac.Binding {
	out := []rbac.Binding{}
	for _, id := range m.order {
		b := m.byID[id]
		if (q.ResourceType == "" || b.ResourceType == q.ResourceType) &&
			(q.UserID == "" || b.UserID == q.UserID) &&
			(q.ResourceID == "" || b.ResourceID == q.ResourceID) &&
			(q.RoleID == "" || b.RoleID == q.RoleID) {
			out = append(out, b)
		}
	}
	return out
}

// pageAll reads every page of q with page sizes drawn from rng.
func pageAll(tb testing.TB, s *memstore.Store, q rbac.ListQuery, rng *rand.Rand) []rbac.Binding {
	tb.Helper()
	is := is.New(tb)
	out := []rbac.Binding{}
	for pages := 0; ; pages++ {
		is.True(pages < 100_000) // paging ends
		q.Limit = 1 + rng.IntN(rbac.MaxLimit)
		p, err := s.List(context.Background(), q)
		is.NoErr(err) // list
		out = append(out, p.Bindings...)
		if !p.HasMore {
			is.Equal(p.NextCursor, "") // no cursor on the last page
			return out
		}
		is.Equal(len(p.Bindings), q.Limit) // a page with more after it is full
		q.Cursor = p.NextCursor
	}
}

// samePage fails tb, saying where, when got is not want.
func samePage(tb testing.TB, q rbac.ListQuery, got, want []rbac.Binding) {
	tb.Helper()
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			tb.Fatalf("list %+v: binding %d is %+v, want %+v", q, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		tb.Fatalf("list %+v: %d bindings, want %d", q, len(got), len(want))
	}
}

// randomQueries returns one query of every filter shape, with IDs taken
// from live bindings where there are some.
func randomQueries(m *model, rng *rand.Rand) []rbac.ListQuery {
	pick := rbac.Binding{UserID: userID(0), RoleID: roleID(0), ResourceType: rbac.Space, ResourceID: spaceID(0)}
	if len(m.order) > 0 {
		pick = m.byID[m.order[rng.IntN(len(m.order))]]
	}
	other := rbac.Space
	if pick.ResourceType == rbac.Space {
		other = rbac.Project
	}
	return []rbac.ListQuery{
		{},
		{ResourceType: rbac.Space},
		{ResourceType: rbac.Project},
		{UserID: pick.UserID},
		{ResourceType: pick.ResourceType, UserID: pick.UserID},
		{ResourceType: other, UserID: pick.UserID},
		{RoleID: pick.RoleID},
		{ResourceType: pick.ResourceType, RoleID: pick.RoleID},
		{ResourceType: pick.ResourceType, ResourceID: pick.ResourceID},
		{ResourceType: pick.ResourceType, ResourceID: pick.ResourceID, RoleID: pick.RoleID},
		{ResourceType: pick.ResourceType, ResourceID: pick.ResourceID, UserID: pick.UserID},
		{UserID: pick.UserID, RoleID: pick.RoleID},
		{UserID: userID(100_000)}, // nobody
	}
}

// seeds are the fixed seeds of the random test, plus MEMSTORE_SEED from
// the environment for longer hunts.
func seeds(tb testing.TB) []uint64 {
	out := []uint64{1, 2, 3}
	if env := os.Getenv("MEMSTORE_SEED"); env != "" {
		n, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			tb.Fatalf("MEMSTORE_SEED=%q: %v", env, err)
		}
		out = append(out, n)
	}
	return out
}

// TestRandomOperations drives the store with random creates, deletes,
// role changes and cascades, compares every result and every list
// through every index with a reference model, and checks the internal
// indexes as it goes. The key space is small, so that conflicts happen,
// and large enough that the index lists span many chunks and see splits
// (role changes insert in the middle) and merges (deletes in the middle).
func TestRandomOperations(t *testing.T) {
	ops := 6000
	if testing.Short() {
		ops = 1500
	}
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(seed, 0))
			s := newStore(memstore.Options{})
			m := &model{byID: map[string]rbac.Binding{}}
			const users, resources, roles = 150, 80, 3
			anyID := func() string {
				if len(m.order) == 0 || rng.IntN(10) == 0 {
					return ids.Encode("RoleBinding", strconv.Itoa(rng.IntN(1000)), "")
				}
				return m.order[rng.IntN(len(m.order))]
			}
			for i := range ops {
				switch op := rng.IntN(100); {
				case op < 55:
					n := rng.IntN(resources)
					nb := rbac.NewBinding{
						RoleID:       roleID(rng.IntN(roles)),
						UserID:       userID(rng.IntN(users)),
						ResourceType: rbac.Space,
						ResourceID:   spaceID(n),
					}
					canonical := nb.ResourceID
					if n%2 == 1 {
						nb.ResourceType = rbac.Project
						nb.ResourceID = projectID(n, rng.IntN(2) == 0)
						canonical = projectID(n, false)
					}
					b, err := s.Create(ctx, nb)
					if m.pairTaken(nb.UserID, canonical) {
						is.True(errors.Is(err, rbac.ErrConflict)) // duplicate (user, resource)
						continue
					}
					is.NoErr(err) // create
					is.Equal(b.ResourceID, canonical)
					m.put(b)
				case op < 75:
					id := anyID()
					err := s.Delete(ctx, id)
					if _, ok := m.byID[id]; !ok {
						is.True(errors.Is(err, rbac.ErrNotFound)) // delete of an unknown binding
						continue
					}
					is.NoErr(err) // delete
					m.remove(id)
				case op < 95:
					id := anyID()
					b, err := s.ChangeRole(ctx, id, rbac.RoleChange{RoleID: roleID(rng.IntN(roles))})
					if _, ok := m.byID[id]; !ok {
						is.True(errors.Is(err, rbac.ErrNotFound)) // change of an unknown binding
						continue
					}
					is.NoErr(err) // change role
					m.put(b)
				case op < 97:
					user := userID(rng.IntN(users))
					n, err := s.DeleteUserBindings(ctx, user)
					is.NoErr(err) // delete user bindings
					want := 0
					for _, b := range m.matching(rbac.ListQuery{UserID: user}) {
						m.remove(b.ID)
						want++
					}
					is.Equal(n, want) // bindings of the user removed
				case op < 99:
					q := rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID(2 * rng.IntN(resources/2))}
					n, err := s.DeleteResourceBindings(ctx, q.ResourceType, q.ResourceID)
					is.NoErr(err) // delete resource bindings
					want := 0
					for _, b := range m.matching(q) {
						m.remove(b.ID)
						want++
					}
					is.Equal(n, want) // bindings on the resource removed
				default:
					for _, q := range randomQueries(m, rng) {
						samePage(t, q, pageAll(t, s, q, rng), m.matching(q))
					}
				}
				if i%500 == 0 {
					is.NoErr(s.CheckIndexes())
				}
			}
			is.NoErr(s.CheckIndexes())
			for _, q := range randomQueries(m, rng) {
				samePage(t, q, pageAll(t, s, q, rng), m.matching(q))
			}
			for _, id := range m.order {
				b, err := s.Get(ctx, id)
				is.NoErr(err) // get
				is.Equal(b, m.byID[id])
			}
		})
	}
}

// TestDeletesInTheMiddle empties long index lists in random order, which
// drains, merges and drops chunks, and checks that paging still sees
// exactly the bindings that are left.
func TestDeletesInTheMiddle(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 7))
	s := newStore(memstore.Options{})
	m := &model{byID: map[string]rbac.Binding{}}
	for i := range 3000 {
		b, err := s.Create(ctx, rbac.NewBinding{
			RoleID: roleID(i % 2), UserID: userID(i % 500), ResourceType: rbac.Project, ResourceID: projectID(i/500, false),
		})
		is.NoErr(err) // create
		m.put(b)
	}
	for _, i := range rng.Perm(len(m.order)) {
		id := m.order[i]
		if rng.IntN(4) == 0 {
			continue
		}
		is.NoErr(s.Delete(ctx, id)) // delete
		delete(m.byID, id)
	}
	order := m.order[:0]
	for _, id := range m.order {
		if _, ok := m.byID[id]; ok {
			order = append(order, id)
		}
	}
	m.order = order
	is.NoErr(s.CheckIndexes())
	for _, q := range []rbac.ListQuery{{}, {ResourceType: rbac.Project}, {RoleID: roleID(1)}, {UserID: userID(3)}} {
		samePage(t, q, pageAll(t, s, q, rng), m.matching(q))
	}
}

// TestConcurrentUse runs every operation from many goroutines at once; run
// it with -race. Afterwards the indexes must still agree with each other.
func TestConcurrentUse(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := newStore(memstore.Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			var mine []string
			for range 300 {
				switch op := rng.IntN(10); {
				case op < 4:
					b, err := s.Create(ctx, rbac.NewBinding{
						RoleID: roleID(rng.IntN(3)), UserID: userID(rng.IntN(40)), ResourceType: rbac.Space, ResourceID: spaceID(rng.IntN(20)),
					})
					if err == nil {
						mine = append(mine, b.ID)
					} else if !errors.Is(err, rbac.ErrConflict) {
						t.Errorf("create: %v", err)
					}
				case op < 5 && len(mine) > 0:
					if err := s.Delete(ctx, mine[0]); err != nil && !errors.Is(err, rbac.ErrNotFound) {
						t.Errorf("delete: %v", err)
					}
					mine = mine[1:]
				case op < 6 && len(mine) > 0:
					_, err := s.ChangeRole(ctx, mine[len(mine)-1], rbac.RoleChange{RoleID: roleID(rng.IntN(3))})
					if err != nil && !errors.Is(err, rbac.ErrNotFound) {
						t.Errorf("change role: %v", err)
					}
				case op < 7:
					if _, err := s.DeleteUserBindings(ctx, userID(rng.IntN(40))); err != nil {
						t.Errorf("delete user bindings: %v", err)
					}
				case op < 8 && len(mine) > 0:
					if _, err := s.Get(ctx, mine[0]); err != nil && !errors.Is(err, rbac.ErrNotFound) {
						t.Errorf("get: %v", err)
					}
				default:
					q := rbac.ListQuery{ResourceType: rbac.Space, Limit: 7}
					for range 50 {
						p, err := s.List(ctx, q)
						if err != nil {
							t.Errorf("list: %v", err)
							break
						}
						if !p.HasMore {
							break
						}
						q.Cursor = p.NextCursor
					}
				}
			}
		})
	}
	wg.Wait()
	is.NoErr(s.CheckIndexes())
}

// TestGetAllocations holds Get to its target: at most one allocation per
// call (it makes none: the returned strings are shared with the store).
func TestGetAllocations(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := newStore(memstore.Options{})
	var last rbac.Binding
	for i := range 1000 {
		b, err := s.Create(ctx, rbac.NewBinding{RoleID: roleID(i % 3), UserID: userID(i), ResourceType: rbac.Space, ResourceID: spaceID(i % 10)})
		is.NoErr(err) // create
		last = b
	}
	var got rbac.Binding
	allocs := testing.AllocsPerRun(200, func() {
		got, _ = s.Get(ctx, last.ID)
	})
	is.Equal(got, last)
	is.True(allocs <= 1) // allocations per Get
}

// TestZeroOptions uses the default clock and validator.
func TestZeroOptions(t *testing.T) {
	is := is.New(t)
	s := newStore(memstore.Options{})
	before := time.Now()
	b, err := s.Create(t.Context(), rbac.NewBinding{RoleID: roleID(0), UserID: userID(0), ResourceType: rbac.Project, ResourceID: projectID(1, true)})
	is.NoErr(err)                               // create
	is.Equal(b.ResourceID, projectID(1, false)) // the alias is stored canonical
	is.True(!b.CreatedAt.Before(rbac.StoreTime(before)) && !b.CreatedAt.After(time.Now()))
	is.Equal(b.CreatedAt.Location(), time.UTC)
}

// TestCustomValidator checks that the store validates with the validator
// it was given: here a host whose users are Member IDs, with User kept as
// an alias.
func TestCustomValidator(t *testing.T) {
	is := is.New(t)
	table := ids.DefaultTable()
	table.User = []string{"Member", "User"}
	v, err := validate.New(table)
	is.NoErr(err) // validator
	s := newStore(memstore.Options{Validator: v})
	b, err := s.Create(t.Context(), rbac.NewBinding{
		RoleID: roleID(0), UserID: ids.Encode("User", "7", "abc"), ResourceType: rbac.Space, ResourceID: spaceID(0),
	})
	is.NoErr(err)                                        // create with the alias
	is.Equal(b.UserID, ids.Encode("Member", "7", "abc")) // stored in the host's canonical form
	_, err = s.Create(t.Context(), rbac.NewBinding{
		RoleID: roleID(0), UserID: ids.Encode("Member", "7", "abc"), ResourceType: rbac.Space, ResourceID: spaceID(0),
	})
	is.True(errors.Is(err, rbac.ErrConflict)) // both spellings name one user
}

// TestCursorOfAnotherStore checks that each store seals its own cursors:
// a cursor names a position in one store's creation order and means
// nothing in another.
func TestCursorOfAnotherStore(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	a, b := newStore(memstore.Options{}), newStore(memstore.Options{})
	for i := range 3 {
		for _, s := range []*memstore.Store{a, b} {
			_, err := s.Create(ctx, rbac.NewBinding{RoleID: roleID(0), UserID: userID(i), ResourceType: rbac.Space, ResourceID: spaceID(0)})
			is.NoErr(err) // create
		}
	}
	p, err := a.List(ctx, rbac.ListQuery{Limit: 1})
	is.NoErr(err) // list
	is.True(p.HasMore)
	_, err = b.List(ctx, rbac.ListQuery{Limit: 1, Cursor: p.NextCursor})
	is.True(errors.Is(err, rbac.ErrInvalid)) // cursor of another store
}

// TestInvalidInputReportsEveryField checks that the checks the store
// makes in separate steps still report every problem in one error.
func TestInvalidInputReportsEveryField(t *testing.T) {
	ctx := t.Context()
	s := newStore(memstore.Options{})
	for _, tc := range []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"a role change with a bad id and a bad role", func() error {
			_, err := s.ChangeRole(ctx, "nope", rbac.RoleChange{RoleID: userID(1)})
			return err
		}, []string{"id", "role_id"}},
		{"a list with a bad limit and a garbled cursor", func() error {
			_, err := s.List(ctx, rbac.ListQuery{Limit: 500, Cursor: "garbage"})
			return err
		}, []string{"limit", "cursor"}},
		{"a list with a bad filter", func() error {
			_, err := s.List(ctx, rbac.ListQuery{UserID: roleID(1), Cursor: "garbage"})
			return err
		}, []string{"user_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			err := tc.call()
			var ve *rbac.ValidationError
			is.True(errors.As(err, &ve)) // a validation error
			var got []string
			for _, fe := range ve.Fields {
				got = append(got, fe.Field)
			}
			is.Equal(got, tc.fields)
		})
	}
}
