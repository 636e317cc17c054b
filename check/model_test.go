package check_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

// reference is a naive evaluator written straight from CHECKS.md, with
// plain maps of ID strings and no cleverness, to compare the checker with.
type reference struct {
	roles      map[string]map[string]bool   // role ID -> permissions
	bindings   map[[2]string]string         // (user, resource) -> role ID
	kinds      map[string]rbac.ResourceType // resource ID -> type
	space      map[string]string            // project -> its space
	restricted map[string]bool              // restricted projects
}

// allowed: "Check on a space: allowed when the user's binding on that space
// has a role holding the permission. Check on a project: the union of the
// role bound on the project and the role bound on its space. On a
// restricted project, inheritance from the space is cut off, except that a
// space binding whose role holds PROJECT_RESTRICT still reaches in."
func (r *reference) allowed(user, perm string, rt rbac.ResourceType, res string) bool {
	if role, ok := r.bindings[[2]string{user, res}]; ok && r.roles[role][perm] {
		return true
	}
	if rt == rbac.Space {
		return false
	}
	sp, ok := r.space[res]
	if !ok {
		return false
	}
	role, ok := r.bindings[[2]string{user, sp}]
	if !ok {
		return false
	}
	if r.restricted[res] && !r.roles[role]["PROJECT_RESTRICT"] {
		return false
	}
	return r.roles[role][perm]
}

// contradicts returns what is wrong with decision d by the facts the
// reference holds, or "": every reason must be true of the data, and the
// binding it names must be the user's binding on the resource it names.
func (r *reference) contradicts(user, perm string, rt rbac.ResourceType, res string, d check.Decision) string {
	direct, hasDirect := r.bindings[[2]string{user, res}]
	sp, linked := r.space[res]
	var spaceRole string
	hasSpace := false
	if rt == rbac.Project && linked {
		spaceRole, hasSpace = r.bindings[[2]string{user, sp}]
	}
	cutOff := hasSpace && r.restricted[res] && !r.roles[spaceRole]["PROJECT_RESTRICT"]
	switch d.Reason {
	case check.Granted:
		if !hasDirect || !r.roles[direct][perm] || d.ViaID != res || d.RoleID != direct {
			return "granted, but the binding on the resource does not hold it"
		}
	case check.Inherited:
		if !hasSpace || cutOff || !r.roles[spaceRole][perm] || d.ViaID != sp || d.RoleID != spaceRole {
			return "inherited, but the space binding does not reach in with it"
		}
	case check.Restricted:
		if !cutOff || d.ViaID != sp {
			return "restricted, but no space binding is cut off"
		}
	case check.RoleLacksPermission:
		if d.ViaID == res && (!hasDirect || r.roles[direct][perm] || d.RoleID != direct) {
			return "the named project role is not the user's or holds it"
		}
		if d.ViaID != res && (!hasSpace || cutOff || r.roles[spaceRole][perm] || d.RoleID != spaceRole) {
			return "the named space role is not the user's, is cut off, or holds it"
		}
	case check.NoBinding:
		if hasDirect || hasSpace {
			return "no binding, but the user has one that reaches the resource"
		}
	default:
		return "unknown reason"
	}
	return ""
}

// modelRun drives a world and the reference with the same random writes
// and compares their answers.
type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	w     *world
	ref   *reference
	perms []string

	users, spaces, projects []string
	roleIDs                 []string
	customRoles             []string
}

func newModelRun(t *testing.T, seed uint64) *modelRun {
	m := &modelRun{
		t:   t,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		w:   newWorld(t, check.Options{}),
		ref: &reference{
			roles:      map[string]map[string]bool{},
			bindings:   map[[2]string]string{},
			kinds:      map[string]rbac.ResourceType{},
			space:      map[string]string{},
			restricted: map[string]bool{},
		},
		perms: perm.DefaultVocabulary().Names(),
	}
	m.w.log = newFeed()
	for i := range 12 {
		m.users = append(m.users, userID(i+1))
	}
	for i := range 4 {
		m.spaces = append(m.spaces, spaceID(i+1))
		m.ref.kinds[spaceID(i+1)] = rbac.Space
	}
	for i := range 10 {
		m.projects = append(m.projects, projectID(i+1))
		m.ref.kinds[projectID(i+1)] = rbac.Project
	}
	for _, r := range perm.DefaultCatalogue(perm.DefaultVocabulary()) {
		m.roleIDs = append(m.roleIDs, r.ID)
		m.ref.roles[r.ID] = set(r.Permissions)
	}
	for i := range 4 {
		id := roleID(i + 1)
		m.customRoles = append(m.customRoles, id)
		m.roleIDs = append(m.roleIDs, id)
		m.updateRole(id)
	}
	return m
}

func set(perms []string) map[string]bool {
	s := map[string]bool{}
	for _, p := range perms {
		s[p] = true
	}
	return s
}

// randomPerms picks a few permissions, with PROJECT_RESTRICT and the
// permissions questions are asked about likely enough to matter.
func (m *modelRun) randomPerms() []string {
	var out []string
	for range 1 + m.rng.IntN(6) {
		out = append(out, m.perms[m.rng.IntN(len(m.perms))])
	}
	if m.rng.IntN(3) == 0 {
		out = append(out, "PROJECT_RESTRICT")
	}
	if m.rng.IntN(2) == 0 {
		out = append(out, "PROJECT_READ")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *modelRun) updateRole(id string) {
	perms := m.randomPerms()
	m.w.role(id, "custom "+id, perms...)
	m.ref.roles[id] = set(perms)
}

func (m *modelRun) pick(list []string) string { return list[m.rng.IntN(len(list))] }

func (m *modelRun) resource() (rbac.ResourceType, string) {
	if m.rng.IntN(2) == 0 {
		return rbac.Space, m.pick(m.spaces)
	}
	return rbac.Project, m.pick(m.projects)
}

// step makes one random write to both.
func (m *modelRun) step() {
	switch n := m.rng.IntN(100); {
	case n < 45: // create a binding, or change its role
		u, role := m.pick(m.users), m.pick(m.roleIDs)
		rt, res := m.resource()
		m.w.bind(u, role, rt, res)
		m.ref.bindings[[2]string{u, res}] = role
	case n < 60: // delete a binding
		if len(m.ref.bindings) == 0 {
			return
		}
		keys := make([][2]string, 0, len(m.ref.bindings))
		for k := range m.ref.bindings {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b [2]string) int { return cmpPair(a, b) })
		k := keys[m.rng.IntN(len(keys))]
		m.w.unbind(k[0], k[1])
		delete(m.ref.bindings, k)
	case n < 63: // a user goes
		u := m.pick(m.users)
		m.w.deleteUser(u)
		for k := range m.ref.bindings {
			if k[0] == u {
				delete(m.ref.bindings, k)
			}
		}
	case n < 66: // a resource goes
		rt, res := m.resource()
		m.w.deleteResource(rt, res)
		for k := range m.ref.bindings {
			if k[1] == res {
				delete(m.ref.bindings, k)
			}
		}
	case n < 80: // link or move a project
		p, s := m.pick(m.projects), m.pick(m.spaces)
		m.w.link(p, s)
		m.ref.space[p] = s
	case n < 88:
		p := m.pick(m.projects)
		m.w.restrict(p)
		m.ref.restricted[p] = true
	case n < 95:
		p := m.pick(m.projects)
		m.w.unrestrict(p)
		delete(m.ref.restricted, p)
	default:
		m.updateRole(m.pick(m.customRoles))
	}
}

func cmpPair(a, b [2]string) int {
	if a[0] != b[0] {
		if a[0] < b[0] {
			return -1
		}
		return 1
	}
	switch {
	case a[1] < b[1]:
		return -1
	case a[1] > b[1]:
		return 1
	}
	return 0
}

// questionPerms are the permissions questions are asked about: the ones
// random roles hold often, and a few they rarely do.
var questionPerms = []string{"PROJECT_READ", "PROJECT_RESTRICT", "SPACE_READ", "ROLE_BINDING_CREATE", "QUEUE_RECORD_ANNOTATE", "DATASET_CREATE"}

func (m *modelRun) compareChecks(n int) {
	m.t.Helper()
	for range n {
		u, perm := m.pick(m.users), m.pick(questionPerms)
		if m.rng.IntN(4) == 0 {
			perm = m.pick(m.perms)
		}
		rt, res := m.resource()
		want := m.ref.allowed(u, perm, rt, res)
		got, err := m.w.c.Check(u, perm, rt, res)
		if err != nil || got != want {
			m.t.Fatalf("rev %d: Check(%s, %s, %s %s) = %v, %v; reference says %v", m.w.rev, u, perm, rt, res, got, err, want)
		}
		d, err := m.w.c.Explain(u, perm, rt, res)
		if err != nil || d.Allowed != want {
			m.t.Fatalf("rev %d: Explain(%s, %s, %s %s) = %+v, %v; reference says %v", m.w.rev, u, perm, rt, res, d, err, want)
		}
		if want && d.BindingID == "" {
			m.t.Fatalf("rev %d: an allow names no binding: %+v", m.w.rev, d)
		}
		if why := m.ref.contradicts(u, perm, rt, res, d); why != "" {
			m.t.Fatalf("rev %d: Explain(%s, %s, %s %s) = %+v: %s", m.w.rev, u, perm, rt, res, d, why)
		}
	}
}

// compareReverse checks both reverse questions for every resource and
// user against brute force over the reference, paging in small pages.
func (m *modelRun) compareReverse(perm string) {
	m.t.Helper()
	resources := append(slices.Clone(m.spaces), m.projects...)
	for _, res := range resources {
		rt := m.ref.kinds[res]
		var want []string
		for _, u := range m.users {
			if m.ref.allowed(u, perm, rt, res) {
				want = append(want, u)
			}
		}
		slices.Sort(want)
		got := pageAll(m.t, func(cursor string) (check.GrantPage, error) {
			return m.w.c.WhoCan(perm, rt, res, cursor, 3)
		}, func(g check.Grant) string { return g.UserID })
		if !slices.Equal(got, want) {
			m.t.Fatalf("rev %d: WhoCan(%s, %s) = %v; reference says %v", m.w.rev, perm, res, got, want)
		}
	}
	for _, u := range m.users {
		for _, rt := range []rbac.ResourceType{rbac.Space, rbac.Project} {
			var want []string
			for _, res := range resources {
				// The index knows a resource through a binding, a space
				// link or a restriction; resources it has never heard of
				// cannot be listed (and grant nothing anyway).
				if m.ref.kinds[res] == rt && m.ref.allowed(u, perm, rt, res) {
					want = append(want, res)
				}
			}
			slices.Sort(want)
			got := pageAll(m.t, func(cursor string) (check.GrantPage, error) {
				return m.w.c.ResourcesFor(u, perm, rt, cursor, 2)
			}, func(g check.Grant) string { return g.ResourceID })
			if !slices.Equal(got, want) {
				m.t.Fatalf("rev %d: ResourcesFor(%s, %s, %s) = %v; reference says %v", m.w.rev, u, perm, rt, got, want)
			}
		}
	}
}

// compareWithSnapshot loads a fresh checker from a snapshot of the
// changes so far, as a process starting up would, and checks that it
// answers every question as the checker that applied them one by one.
func (m *modelRun) compareWithSnapshot() {
	m.t.Helper()
	fresh, err := check.New(check.Options{})
	if err != nil {
		m.t.Fatal(err)
	}
	if err := fresh.Load(m.t.Context(), m.w.log); err != nil {
		m.t.Fatal(err)
	}
	if err := check.VerifyIndex(fresh); err != nil {
		m.t.Fatal(err)
	}
	if fresh.Revision() != m.w.rev || check.BindingCount(fresh) != check.BindingCount(m.w.c) {
		m.t.Fatalf("snapshot at revision %d with %d bindings; live at %d with %d", fresh.Revision(), check.BindingCount(fresh), m.w.rev, check.BindingCount(m.w.c))
	}
	resources := append(slices.Clone(m.spaces), m.projects...)
	for _, u := range m.users {
		for _, res := range resources {
			for _, perm := range questionPerms {
				rt := m.ref.kinds[res]
				a, _ := m.w.c.Check(u, perm, rt, res)
				b, _ := fresh.Check(u, perm, rt, res)
				if a != b {
					m.t.Fatalf("Check(%s, %s, %s): live %v, from snapshot %v", u, perm, res, a, b)
				}
			}
		}
	}
}

// pageAll reads every page of a reverse question and returns the keys.
func pageAll(tb testing.TB, next func(cursor string) (check.GrantPage, error), key func(check.Grant) string) []string {
	tb.Helper()
	var out []string
	cursor := ""
	for i := 0; ; i++ {
		p, err := next(cursor)
		if err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
		for _, g := range p.Grants {
			out = append(out, key(g))
		}
		if !p.HasMore {
			if p.NextCursor != "" {
				tb.Fatalf("page %d: a cursor without more", i)
			}
			return out
		}
		if len(p.Grants) == 0 || p.NextCursor == "" {
			tb.Fatalf("page %d: has more but no grants or cursor", i)
		}
		cursor = p.NextCursor
	}
}

func TestCheckerAgreesWithReference(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := newModelRun(t, seed)
			for i := range 1500 {
				m.step()
				if err := check.VerifyIndex(m.w.c); err != nil {
					t.Fatalf("after step %d: %v", i, err)
				}
				if i%10 == 9 {
					m.compareChecks(40)
				}
				if i%250 == 249 {
					m.compareReverse(m.pick(questionPerms))
				}
			}
			m.compareReverse("PROJECT_READ")
			m.compareWithSnapshot()
		})
	}
}
