package storetest

import (
	"slices"
	"strconv"
	"sync"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// The public cases bind these role IDs: Role:1:V4Ka and Role:2:dK24.
const (
	publicRole1 = "Um9sZToxOlY0S2E="
	publicRole2 = "Um9sZToyOmRLMjQ="
)

// fixtureRoleNumbers are the numbers i of the fixture roles roleID(i)
// that the binding tests bind: 0 to racers-1 (the concurrent creates use
// a role per racer, the other tests the first few), and 100 onward, one
// per racer of the concurrent role change test.
func fixtureRoleNumbers() []int {
	var out []int
	for i := range racers {
		out = append(out, i)
	}
	for i := range racers {
		out = append(out, 100+i)
	}
	return out
}

// fixturePermissions returns a permission set for fixture role i: a
// different quarter of the vocabulary for each i, with PROJECT_RESTRICT
// in the even ones, so that checks over fixture roles both allow and
// deny, and space bindings reach into restricted projects for some roles
// and not for others.
func fixturePermissions(i int) []string {
	var out []string
	for j, p := range perm.DefaultVocabulary().Names() {
		if (j*7+i)%4 == 0 || (p == perm.ProjectRestrict && i%2 == 0) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var suiteCatalogue = sync.OnceValue(func() []rbac.Role {
	roles := perm.DefaultCatalogue(perm.DefaultVocabulary())
	for _, i := range fixtureRoleNumbers() {
		roles = append(roles, rbac.Role{
			ID:          roleID(i),
			Name:        "fixture role " + strconv.Itoa(i),
			Description: "A role the conformance suite binds.",
			Permissions: fixturePermissions(i),
			Predefined:  true,
		})
	}
	for i, id := range []string{publicRole1, publicRole2} {
		roles = append(roles, rbac.Role{
			ID:          id,
			Name:        "public example role " + strconv.Itoa(i+1),
			Permissions: fixturePermissions(10 + i),
			Predefined:  true,
		})
	}
	return roles
})

// Catalogue returns the catalogue the suite opens every store with (see
// [Options].Catalogue): the default catalogue of package perm, then the
// fixture roles. Each call returns new slices. A host's own tests that
// reuse the suite's role IDs can open their stores with it too.
func Catalogue() []rbac.Role { return cloneRoles(suiteCatalogue()) }

// cloneRoles copies roles deeply, so that a store that keeps or changes
// what it was given cannot change the suite's copy.
func cloneRoles(roles []rbac.Role) []rbac.Role {
	out := make([]rbac.Role, len(roles))
	for i, r := range roles {
		r.Permissions = slices.Clone(r.Permissions)
		out[i] = r
	}
	return out
}
