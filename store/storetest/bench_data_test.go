package storetest_test

import (
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store/storetest"
	"github.com/rolebind/rbac/validate"
)

// TestBenchData checks the input that store packages give their raw
// baselines: valid bindings, each role in the catalogue, no two for the
// same user and resource (so every create succeeds), the same on every
// call, and the caller's to change.
func TestBenchData(t *testing.T) {
	is := is.New(t)
	const n = 5000
	d := storetest.BenchData(n)
	is.Equal(len(d.Fill), n)     // Fill holds the largest size
	is.Equal(len(d.Extra), 1000) // Extra is one Create round
	roles := map[string]bool{}
	for _, r := range d.Catalogue {
		roles[r.ID] = true
	}
	type key struct{ user, rt, res string }
	seen := map[key]bool{}
	extraUsers := map[string]bool{}
	v := validate.Default()
	for i, nb := range append(d.Fill, d.Extra...) {
		if _, err := v.NewBinding(nb); err != nil {
			t.Fatalf("binding %d is invalid: %v", i, err)
		}
		if !roles[nb.RoleID] {
			t.Fatalf("binding %d names role %s, which is not in the catalogue", i, nb.RoleID)
		}
		k := key{nb.UserID, string(nb.ResourceType), nb.ResourceID}
		if seen[k] {
			t.Fatalf("binding %d repeats a user and resource", i)
		}
		seen[k] = true
		if i >= n {
			extraUsers[nb.UserID] = true
		}
	}
	for _, nb := range d.Fill {
		is.True(!extraUsers[nb.UserID]) // Extra's users have no binding in Fill
	}
	spaces := 0
	for _, nb := range d.Fill {
		if nb.ResourceType == rbac.Space {
			spaces++
		}
	}
	is.True(spaces > n/5 && spaces < n*2/5) // about 30% of the bindings are on spaces

	again := storetest.BenchData(n)
	is.Equal(again, d) // the same data on every call
	d.Fill[0].UserID = "changed"
	is.True(storetest.BenchData(n).Fill[0].UserID != "changed") // the slices are copies
}
