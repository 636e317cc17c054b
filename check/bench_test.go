package check_test

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// The benchmark world: a realistic mix, generated user by user from a
// per-user seed, so that it can be streamed into an index without being
// held in memory (which would hide the index's own size), and so that the
// questions can be made later from any user's bindings.
//
//   - Spaces of 10 projects each; one project in 10 is restricted.
//   - Users with 5 bindings: one on a space, two on projects of that space
//     (so project checks take the union), two on projects elsewhere.
//   - Roles: the catalogue and a few custom roles; space bindings are
//     mostly Member and Read-only, some Admin (who reach into restricted
//     projects).
//   - Questions: a user's own projects, projects of the user's space
//     (inheritance, sometimes restricted), the user's space, and projects
//     the user has nothing on; about half are allowed.
const (
	bindingsPerUser  = 5
	projectsPerSpace = 10
	benchQuestions   = 1 << 12
)

type benchWorld struct {
	n, users, spaces, projects int
	customRoles                []rbac.Role
}

func newBenchWorld(n int) benchWorld {
	w := benchWorld{n: n, users: n / bindingsPerUser}
	w.spaces = max(2, n/200)
	w.projects = w.spaces * projectsPerSpace
	rng := rand.New(rand.NewPCG(42, 42))
	perms := perm.DefaultVocabulary().Names()
	for i := range 6 {
		var ps []string
		for range 5 + rng.IntN(20) {
			ps = append(ps, perms[rng.IntN(len(perms))])
		}
		ps = append(ps, "PROJECT_READ")
		w.customRoles = append(w.customRoles, rbac.Role{ID: roleID(i + 1), Name: "custom " + strconv.Itoa(i), Permissions: ps})
	}
	return w
}

// encode returns a fresh canonical ID string, as a request or a store
// row would bring it.
func encode(typ string, n int, key string) string {
	b := make([]byte, 0, 48)
	b = append(b, typ...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n), 10)
	if key != "" {
		b = append(b, ':')
		b = append(b, key...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func benchKey(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var k [4]byte
	for i := range k {
		k[i] = alphabet[n%len(alphabet)]
		n = n/len(alphabet) + i*7 + 3
	}
	return string(k[:])
}

func (w benchWorld) userID(i int) string    { return encode("User", 1_000_000_000+i, benchKey(i)) }
func (w benchWorld) spaceID(s int) string   { return encode("Space", 1_000_000+s, benchKey(s)) }
func (w benchWorld) projectID(p int) string { return encode("Model", 10_000_000+p, benchKey(p)) }
func (w benchWorld) restricted(p int) bool  { return p%10 == 3 }

// userBinding is one of a user's bindings, before it is turned into IDs.
type userBinding struct {
	space   bool
	res     int
	roleIdx int // index into roles()
}

func (w benchWorld) roles() []string {
	ids := []string{perm.AdminRoleID, perm.MemberRoleID, perm.ReadOnlyRoleID, perm.AnnotatorRoleID}
	for _, r := range w.customRoles {
		ids = append(ids, r.ID)
	}
	return ids
}

// userBindings regenerates user i's bindings from its own seed.
func (w benchWorld) userBindings(i int) (space int, bs [bindingsPerUser]userBinding) {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	space = rng.IntN(w.spaces)
	var role int
	switch r := rng.IntN(100); {
	case r < 5:
		role = 0 // Admin
	case r < 55:
		role = 1 // Member
	case r < 85:
		role = 2 // Read-only
	case r < 92:
		role = 3 // Annotator
	default:
		role = 4 + rng.IntN(len(w.customRoles))
	}
	bs[0] = userBinding{space: true, res: space, roleIdx: role}
	first := space*projectsPerSpace + rng.IntN(projectsPerSpace)
	second := space*projectsPerSpace + (first+1+rng.IntN(projectsPerSpace-1))%projectsPerSpace
	bs[1] = userBinding{res: first, roleIdx: 1 + rng.IntN(3+len(w.customRoles))}
	bs[2] = userBinding{res: second, roleIdx: 1 + rng.IntN(3+len(w.customRoles))}
	for k := 3; k < bindingsPerUser; k++ {
		for {
			p := rng.IntN(w.projects)
			if p/projectsPerSpace != space && (k == 3 || p != bs[3].res) {
				bs[k] = userBinding{res: p, roleIdx: 1 + rng.IntN(3+len(w.customRoles))}
				break
			}
		}
	}
	return space, bs
}

// stream emits the world as a store's snapshot would: roles (the
// catalogue's, then custom ones), project links, restrictions, bindings.
// Every string is fresh.
func (w benchWorld) stream(emit func(store.Change)) {
	for _, r := range perm.DefaultCatalogue(perm.DefaultVocabulary()) {
		r.Predefined = true
		emit(store.Change{Kind: store.RoleCreated, Role: r})
	}
	for _, r := range w.customRoles {
		emit(store.Change{Kind: store.RoleCreated, Role: r})
	}
	for p := range w.projects {
		emit(store.Change{Kind: store.ProjectSpaceSet, ProjectID: w.projectID(p), SpaceID: w.spaceID(p / projectsPerSpace)})
		if w.restricted(p) {
			emit(store.Change{Kind: store.ProjectRestricted, ProjectID: w.projectID(p)})
		}
	}
	roles := w.roles()
	next := 0
	for i := range w.users {
		_, bs := w.userBindings(i)
		for _, ub := range bs {
			next++
			b := rbac.Binding{ID: encode("RoleBinding", 5_000_000_000+next, ""), UserID: w.userID(i), RoleID: roles[ub.roleIdx]}
			if ub.space {
				b.ResourceType, b.ResourceID = rbac.Space, w.spaceID(ub.res)
			} else {
				b.ResourceType, b.ResourceID = rbac.Project, w.projectID(ub.res)
			}
			emit(store.Change{Kind: store.BindingCreated, Binding: b})
		}
	}
}

var benchPerms = []string{"PROJECT_READ", "PROJECT_UPDATE", "DATASET_CREATE", "QUEUE_RECORD_ANNOTATE", "ROLE_BINDING_CREATE", "SPACE_READ", "PROJECT_SPAN_READ", "MONITOR_UPDATE"}

// questions makes the benchmark's questions, with fresh strings.
func (w benchWorld) questions() []question {
	rng := rand.New(rand.NewPCG(99, 99))
	qs := make([]question, benchQuestions)
	for k := range qs {
		i := rng.IntN(w.users)
		space, bs := w.userBindings(i)
		q := question{user: w.userID(i), perm: benchPerms[rng.IntN(len(benchPerms))], rt: rbac.Project}
		switch r := rng.IntN(10); {
		case r < 3: // one of the user's own projects
			q.res = w.projectID(bs[1+rng.IntN(bindingsPerUser-1)].res)
		case r < 6: // any project of the user's space: inheritance
			q.res = w.projectID(space*projectsPerSpace + rng.IntN(projectsPerSpace))
		case r < 8: // the user's space
			q.perm = []string{"SPACE_READ", "SPACE_UPDATE", "PROJECT_CREATE", "ROLE_BINDING_CREATE"}[rng.IntN(4)]
			q.rt, q.res = rbac.Space, w.spaceID(space)
		default: // some project: mostly nothing there
			q.res = w.projectID(rng.IntN(w.projects))
		}
		qs[k] = q
	}
	return qs
}

// bitset is the baseline's own permission set, one bit per permission.
type bitset [perm.MaxPermissions / 64]uint64

func (s *bitset) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }
func (s *bitset) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

// baseline is the floor: bare Go maps keyed by the ID strings, answering
// the same questions by the same rules, with no validation, no errors and
// no locking.
type baseline struct {
	perms    map[string]int
	roles    map[string]int
	roleSets []bitset
	bindings map[struct{ user, resource string }]int // -> role index
	projects map[string]struct {
		space      string
		restricted bool
	}
	prBit int
}

func newBaseline(w benchWorld) *baseline {
	v := perm.DefaultVocabulary()
	b := &baseline{
		perms:    map[string]int{},
		roles:    map[string]int{},
		bindings: map[struct{ user, resource string }]int{},
		projects: map[string]struct {
			space      string
			restricted bool
		}{},
	}
	for _, p := range v.Names() {
		bit, _ := v.Index(p)
		b.perms[p] = bit
	}
	b.prBit = b.perms["PROJECT_RESTRICT"]
	addRole := func(r rbac.Role) {
		var s bitset
		for _, p := range r.Permissions {
			s.add(b.perms[p])
		}
		b.roles[r.ID] = len(b.roleSets)
		b.roleSets = append(b.roleSets, s)
	}
	w.stream(func(ch store.Change) {
		switch ch.Kind {
		case store.RoleCreated:
			addRole(ch.Role)
		case store.ProjectSpaceSet:
			p := b.projects[ch.ProjectID]
			p.space = ch.SpaceID
			b.projects[ch.ProjectID] = p
		case store.ProjectRestricted:
			p := b.projects[ch.ProjectID]
			p.restricted = true
			b.projects[ch.ProjectID] = p
		case store.BindingCreated:
			b.bindings[struct{ user, resource string }{ch.Binding.UserID, ch.Binding.ResourceID}] = b.roles[ch.Binding.RoleID]
		}
	})
	return b
}

func (b *baseline) check(user, perm string, rt rbac.ResourceType, res string) bool {
	bit, ok := b.perms[perm]
	if !ok {
		return false
	}
	if r, ok := b.bindings[struct{ user, resource string }{user, res}]; ok && b.roleSets[r].has(bit) {
		return true
	}
	if rt != rbac.Project {
		return false
	}
	p, ok := b.projects[res]
	if !ok {
		return false
	}
	r, ok := b.bindings[struct{ user, resource string }{user, p.space}]
	if !ok {
		return false
	}
	s := &b.roleSets[r]
	return s.has(bit) && (!p.restricted || s.has(b.prBit))
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

type benchEnv struct {
	world     benchWorld
	questions []question
	checker   *check.Checker
	base      *baseline
	// bytes per binding of each structure, measured by streaming the
	// world into it with nothing else holding the strings.
	checkerBytes, baseBytes float64
}

var (
	benchMu   sync.Mutex
	benchEnvs = map[int]*benchEnv{}
)

// env builds (once per size, for every -count) the checker and the
// baseline over the same world, and checks that they agree on every
// question before anything is timed.
func env(b *testing.B, n int) *benchEnv {
	benchMu.Lock()
	defer benchMu.Unlock()
	if e, ok := benchEnvs[n]; ok {
		return e
	}
	e := &benchEnv{world: newBenchWorld(n)}

	before := heapInUse()
	start := time.Now()
	c, err := check.New(check.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rev := uint64(0)
	e.world.stream(func(ch store.Change) {
		rev++
		ch.Revision = rev
		if err := c.Apply(ch); err != nil {
			b.Fatal(err)
		}
	})
	e.checker = c
	built := time.Since(start)
	e.checkerBytes = float64(int64(heapInUse())-int64(before)) / float64(check.BindingCount(c))

	before = heapInUse()
	e.base = newBaseline(e.world)
	e.baseBytes = float64(int64(heapInUse())-int64(before)) / float64(len(e.base.bindings))

	e.questions = e.world.questions()
	allowedN := 0
	for _, q := range e.questions {
		got, err := c.Check(q.user, q.perm, q.rt, q.res)
		if err != nil || got != e.base.check(q.user, q.perm, q.rt, q.res) {
			b.Fatalf("checker and baseline disagree on %+v: %v, %v", q, got, err)
		}
		if got {
			allowedN++
		}
	}
	if check.BindingCount(c) != n || allowedN < benchQuestions/5 || allowedN > benchQuestions*4/5 {
		b.Fatalf("unrealistic world: %d bindings, %d of %d questions allowed", check.BindingCount(c), allowedN, benchQuestions)
	}
	b.Logf("generated and indexed %d bindings in %v; %.0f B/binding (baseline %.0f)", n, built.Round(time.Millisecond), e.checkerBytes, e.baseBytes)
	benchEnvs[n] = e
	return e
}

var benchSizes = []int{1000, 1000000}

var sink int

func BenchmarkCheck(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			e := env(b, n)
			c, qs := e.checker, e.questions
			b.ReportAllocs()
			allowed := 0
			for i := 0; b.Loop(); i++ {
				q := &qs[i&(benchQuestions-1)]
				ok, err := c.Check(q.user, q.perm, q.rt, q.res)
				if err != nil {
					b.Fatal(err)
				}
				if ok {
					allowed++
				}
			}
			sink += allowed
			// After the loop, which resets metrics.
			b.ReportMetric(e.checkerBytes, "B/binding")
			b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
		})
	}
}

func BenchmarkCheckBaseline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			e := env(b, n)
			base, qs := e.base, e.questions
			b.ReportAllocs()
			allowed := 0
			for i := 0; b.Loop(); i++ {
				q := &qs[i&(benchQuestions-1)]
				if base.check(q.user, q.perm, q.rt, q.res) {
					allowed++
				}
			}
			sink += allowed
			b.ReportMetric(e.baseBytes, "B/binding")
			b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
		})
	}
}

// BenchmarkCheckParallel measures checks from every core at once, where
// the read lock's shared counter is the cost to watch.
func BenchmarkCheckParallel(b *testing.B) {
	e := env(b, benchSizes[0])
	c, qs := e.checker, e.questions
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := &qs[i&(benchQuestions-1)]
			if _, err := c.Check(q.user, q.perm, q.rt, q.res); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkApply measures applying one binding change (create, then
// delete) to an index of 1,000 bindings.
func BenchmarkApply(b *testing.B) {
	w := newWorld(b, check.Options{})
	for i := range 200 {
		for j := range 5 {
			w.bind(userID(i), perm.MemberRoleID, rbac.Project, projectID(i*5+j))
		}
	}
	created := rbac.Binding{ID: bindID(1 << 30), RoleID: perm.MemberRoleID, UserID: userID(1 << 20), ResourceType: rbac.Space, ResourceID: s1}
	b.ReportAllocs()
	for b.Loop() {
		w.apply(store.Change{Kind: store.BindingCreated, Binding: created})
		w.apply(store.Change{Kind: store.BindingDeleted, Binding: created})
	}
}
