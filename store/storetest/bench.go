package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/store"
)

// BenchOptions sets the sizes the benchmark suite runs at.
type BenchOptions struct {
	// Sizes are the store sizes, in bindings, for the Create and Get
	// benchmarks; the largest is also the size of the List and Fill
	// benchmarks, and must be at least 1000 so that the list has a deep
	// page. Nil means {1000, 1000000}. A store that is slow to fill (a
	// database on disk) passes smaller sizes.
	Sizes []int
}

// defaultBenchSizes are the sizes [Bench] runs at when [BenchOptions]
// names none.
var defaultBenchSizes = []int{1000, 1000000}

// Bench runs the benchmark suite against the stores f makes, so that
// every store is measured the same way. The sub-benchmark names are fixed,
// so that figures can be tracked over time:
//
//   - Create/bindings=N: one create of a new binding (a new user on an
//     existing resource) in a store that holds N bindings. The store is
//     brought back to N bindings, outside the timer, every 1,000 creates,
//     so that the size stays what the name says.
//   - Get/bindings=N: one get of a random existing binding in a store of N.
//   - List/page=first and List/page=deep: one page of 50 from a list of
//     the SPACE bindings (the filter the HTTP API requires) in a store of
//     the largest size; first is the first page, deep a page near the end
//     of the list. Keyset paging makes the two cost the same.
//   - Fill/bindings=N: filling an empty store with N bindings, for the
//     largest N, reporting the heap bytes the store holds per binding
//     (metric B/binding).
//
// The bindings look like real ones: canonical IDs with 11-digit numbers,
// four bindings per user, about 30% on spaces and the rest on projects,
// 16 bindings per resource on average (older resources have more), and
// six roles of unequal popularity. The data is the same on every run.
func Bench(b *testing.B, f Factory, opts BenchOptions) {
	sizes := slices.Clone(opts.Sizes)
	if len(sizes) == 0 {
		sizes = slices.Clone(defaultBenchSizes)
	}
	slices.Sort(sizes)
	largest := sizes[len(sizes)-1]
	fx := benchFixtureOf(largest)

	b.Run("Create", func(b *testing.B) {
		for _, n := range sizes {
			s, _ := benchFill(b, f, fx, n)
			b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) { benchCreate(b, s, fx) })
		}
	})
	b.Run("Get", func(b *testing.B) {
		for _, n := range sizes {
			s, created := benchFill(b, f, fx, n)
			b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) { benchGet(b, s, created) })
		}
	})
	b.Run("List", func(b *testing.B) {
		s, _ := benchFill(b, f, fx, largest)
		q := rbac.ListQuery{ResourceType: rbac.Space, Limit: 50}
		deep := deepCursor(b, s, q)
		b.Run("page=first", func(b *testing.B) { benchList(b, s, q) })
		q.Cursor = deep
		b.Run("page=deep", func(b *testing.B) { benchList(b, s, q) })
	})
	b.Run("Fill", func(b *testing.B) {
		b.Run(fmt.Sprintf("bindings=%d", largest), func(b *testing.B) { benchFillMemory(b, f, fx, largest) })
	})
}

// benchFixture is the input of the benchmarks: the bindings to fill a
// store with, in creation order, and a batch of extra bindings for the
// Create benchmark, each for a user that has no binding in the fill.
type benchFixture struct {
	fill  []rbac.NewBinding
	extra []rbac.NewBinding
}

// createBatch is how many creates the Create benchmark makes before it
// deletes them again (outside the timer) to keep the store at its size.
const createBatch = 1000

var benchFixtures sync.Map // size → *benchFixture

// benchFixtureOf returns the fixture for stores of up to n bindings,
// building it once per process: -count=5 runs reuse it.
func benchFixtureOf(n int) *benchFixture {
	if fx, ok := benchFixtures.Load(n); ok {
		return fx.(*benchFixture)
	}
	fx, _ := benchFixtures.LoadOrStore(n, newBenchFixture(n))
	return fx.(*benchFixture)
}

// Shape of the generated data.
const (
	benchPerUser = 4 // bindings per user
	// benchUsersPerResource sets the resource pool: the number of
	// resources is a quarter of the number of users so far, so every
	// prefix of the fixture has about 16 bindings per resource.
	benchUsersPerResource = 4
	benchSpacePercent     = 30
)

// splitmix is a fixed pseudo-random function: the fixture is the same on
// every run and every machine, so figures compare.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

const benchKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// benchKey returns a 4-character key derived from x, like the short keys
// of real IDs.
func benchKey(x uint64) string {
	var k [4]byte
	h := splitmix(x)
	for i := range k {
		k[i] = benchKeyAlphabet[h%uint64(len(benchKeyAlphabet))]
		h /= uint64(len(benchKeyAlphabet))
	}
	return string(k[:])
}

func benchUser(u int) string {
	return ids.Encode("User", strconv.FormatUint(10_000_000_000+uint64(u)*7, 10), benchKey(uint64(u)))
}

// benchResource returns resource r: a space or a project.
func benchResource(r int) (rbac.ResourceType, string) {
	num := strconv.FormatUint(20_000_000_000+uint64(r)*3, 10)
	if splitmix(uint64(r)<<1)%100 < benchSpacePercent {
		return rbac.Space, ids.Encode("Space", num, benchKey(uint64(r)<<1))
	}
	return rbac.Project, ids.Encode("Model", num, benchKey(uint64(r)<<1|1))
}

// benchRoles are the roles with their weights: most grants are the
// plain member role, few are admins.
var benchRoles = []struct {
	id     string
	weight int
}{
	{ids.Encode("Role", "1", "member"), 50},
	{ids.Encode("Role", "2", "viewer"), 25},
	{ids.Encode("Role", "3", "editor"), 15},
	{ids.Encode("Role", "4", "admin"), 6},
	{ids.Encode("Role", "5", "owner"), 3},
	{ids.Encode("Role", "6", "auditor"), 1},
}

// benchCatalogue is the catalogue the benchmark stores are opened with:
// the suite's, plus the benchmark's roles, so that a store that checks
// that a binding's role exists accepts every binding of the fixture.
func benchCatalogue() []rbac.Role {
	roles := Catalogue()
	for i, r := range benchRoles {
		roles = append(roles, rbac.Role{
			ID:          r.id,
			Name:        "benchmark role " + strconv.Itoa(i+1),
			Permissions: fixturePermissions(20 + i),
			Predefined:  true,
		})
	}
	return roles
}

func benchRole(x uint64) string {
	w := int(splitmix(x) % 100)
	for _, r := range benchRoles {
		if w < r.weight {
			return r.id
		}
		w -= r.weight
	}
	return benchRoles[0].id
}

// benchResources caches the resource IDs while a fixture is built, so
// that each is encoded once.
type benchResources struct {
	types []rbac.ResourceType
	ids   []string
}

func (c *benchResources) get(r int) (rbac.ResourceType, string) {
	for len(c.ids) <= r {
		rt, id := benchResource(len(c.ids))
		c.types = append(c.types, rt)
		c.ids = append(c.ids, id)
	}
	return c.types[r], c.ids[r]
}

// benchGrants returns the bindings of user u. Its resources are
// consecutive in a pool whose size depends on u alone, so they are
// distinct.
func benchGrants(u int, res *benchResources, out []rbac.NewBinding) []rbac.NewBinding {
	user := benchUser(u)
	pool := max(16, u/benchUsersPerResource)
	start := int(splitmix(uint64(u)) % uint64(pool))
	for j := range benchPerUser {
		rt, res := res.get((start + j) % pool)
		out = append(out, rbac.NewBinding{
			RoleID:       benchRole(uint64(u)*benchPerUser + uint64(j)),
			UserID:       user,
			ResourceType: rt,
			ResourceID:   res,
		})
	}
	return out
}

func newBenchFixture(n int) *benchFixture {
	fx := &benchFixture{fill: make([]rbac.NewBinding, 0, n+benchPerUser)}
	users := (n + benchPerUser - 1) / benchPerUser
	var res benchResources
	for u := range users {
		fx.fill = benchGrants(u, &res, fx.fill)
	}
	fx.fill = fx.fill[:n]
	// The extra bindings are for users after the last one of the fill:
	// one binding each, so none can collide with the fill or each other.
	for k := range createBatch {
		g := benchGrants(users+k, &res, nil)
		fx.extra = append(fx.extra, g[k%benchPerUser])
	}
	return fx
}

// benchFill returns a new store of f holding the first n bindings of the
// fixture, and their IDs. The store lives as long as b.
func benchFill(b *testing.B, f Factory, fx *benchFixture, n int) (store.Store, []string) {
	b.Helper()
	ctx := context.Background()
	s := f(b, Options{Catalogue: benchCatalogue()})
	created := make([]string, n)
	for i, nb := range fx.fill[:n] {
		bd, err := s.Create(ctx, nb)
		if err != nil {
			b.Fatalf("storetest: filling the store, binding %d: %v", i, err)
		}
		created[i] = bd.ID
	}
	return s, created
}

func benchCreate(b *testing.B, s store.Store, fx *benchFixture) {
	ctx := context.Background()
	created := make([]string, 0, createBatch)
	// undo deletes the bindings the benchmark made, outside the timer.
	undo := func() {
		b.StopTimer()
		for _, id := range created {
			if err := s.Delete(ctx, id); err != nil {
				b.Fatalf("storetest: deleting a binding the benchmark made: %v", err)
			}
		}
		created = created[:0]
		b.StartTimer()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % createBatch
		if k == 0 && i > 0 {
			undo()
		}
		bd, err := s.Create(ctx, fx.extra[k])
		if err != nil {
			b.Fatalf("storetest: create: %v", err)
		}
		created = append(created, bd.ID)
	}
	undo()
}

func benchGet(b *testing.B, s store.Store, created []string) {
	ctx := context.Background()
	// Random IDs over the whole store, chosen before the timer: reading
	// a few IDs again and again would measure the CPU cache, not the
	// store.
	const picks = 1 << 18
	order := make([]string, picks)
	for i := range order {
		order[i] = created[splitmix(uint64(i))%uint64(len(created))]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Get(ctx, order[i&(picks-1)]); err != nil {
			b.Fatalf("storetest: get: %v", err)
		}
	}
}

// deepCursor pages through q before any timer runs and returns the
// cursor of the fourth page from the end, so that the page it opens is
// full and has more after it, like the first page.
func deepCursor(b *testing.B, s store.Store, q rbac.ListQuery) string {
	b.Helper()
	ctx := context.Background()
	var recent [3]string
	for {
		p, err := s.List(ctx, q)
		if err != nil {
			b.Fatalf("storetest: paging to a deep cursor: %v", err)
		}
		if !p.HasMore {
			break
		}
		recent[0], recent[1], recent[2] = recent[1], recent[2], p.NextCursor
		q.Cursor = p.NextCursor
	}
	if recent[0] == "" {
		b.Fatalf("storetest: the list has fewer than four pages; use a larger size")
	}
	return recent[0]
}

func benchList(b *testing.B, s store.Store, q rbac.ListQuery) {
	ctx := context.Background()
	p, err := s.List(ctx, q)
	if err != nil {
		b.Fatalf("storetest: list: %v", err)
	}
	if len(p.Bindings) != q.Limit || !p.HasMore {
		b.Fatalf("storetest: list page has %d bindings (has_more %v); want a full page with more after it", len(p.Bindings), p.HasMore)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.List(ctx, q); err != nil {
			b.Fatalf("storetest: list: %v", err)
		}
	}
}

// benchFillMemory fills a new store with n bindings per iteration and
// reports the heap the store holds per binding: the live heap after a
// full collection, minus the live heap before the store was made.
func benchFillMemory(b *testing.B, f Factory, fx *benchFixture, n int) {
	ctx := context.Background()
	var perBinding float64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		s := f(b, Options{Catalogue: benchCatalogue()})
		for i, nb := range fx.fill[:n] {
			if _, err := s.Create(ctx, nb); err != nil {
				b.Fatalf("storetest: fill, binding %d: %v", i, err)
			}
		}

		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(s)
		perBinding += (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
		b.StartTimer()
	}
	b.ReportMetric(perBinding/float64(b.N), "B/binding")
}

// BenchInput is the data of the benchmark suite, for a store package's
// own baselines (a raw insert through its database driver, say): a
// baseline that writes the same rows as the suite is a fair floor, where
// one with rows of its own would measure its data, not the store.
type BenchInput struct {
	// Catalogue is what the suite opens its stores with
	// ([Options.Catalogue]): every role of Fill and Extra is in it.
	Catalogue []rbac.Role
	// Fill is the bindings a store of n bindings holds, for n up to the
	// largest size asked for: Fill[:n], created in this order.
	Fill []rbac.NewBinding
	// Extra is what Create/bindings=N creates, in this order: 1,000
	// bindings, each for a user with no binding in Fill.
	Extra []rbac.NewBinding
}

// BenchData returns the input of the benchmark suite when its largest
// size is largest. It is the same on every call and every machine; the
// slices are the caller's.
func BenchData(largest int) BenchInput {
	fx := benchFixtureOf(largest)
	return BenchInput{
		Catalogue: benchCatalogue(),
		Fill:      slices.Clone(fx.fill[:largest]),
		Extra:     slices.Clone(fx.extra),
	}
}
