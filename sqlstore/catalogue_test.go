package sqlstore_test

import (
	"fmt"
	"strconv"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
)

// testRoleCount is how many roles roleID(n) names in the test catalogue:
// the tests bind roleID(0) to roleID(testRoleCount-1).
const testRoleCount = 40

// testCatalogue is the catalogue the package's tests open stores with
// when they pass none: the default catalogue, the roles roleID(n) that
// the tests bind, and the six roles of the raw benchmarks. Since the
// store checks that a binding's role exists, every role a test binds must
// be in it.
func testCatalogue() []rbac.Role {
	roles := perm.DefaultCatalogue(perm.DefaultVocabulary())
	for n := range testRoleCount {
		roles = append(roles, rbac.Role{
			ID:          roleID(n),
			Name:        fmt.Sprintf("test role %d", n),
			Permissions: []string{"PROJECT_READ", "SPACE_READ"},
			Predefined:  true,
		})
	}
	for n := 1; n <= 6; n++ {
		roles = append(roles, rbac.Role{
			ID:          ids.Encode("Role", strconv.Itoa(n), "role"),
			Name:        fmt.Sprintf("raw benchmark role %d", n),
			Permissions: []string{"PROJECT_READ"},
			Predefined:  true,
		})
	}
	return roles
}
