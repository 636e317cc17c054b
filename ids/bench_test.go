package ids_test

import (
	"testing"

	"github.com/rolebind/rbac/ids"
)

// BenchmarkCanonical measures the check every store call makes on every ID.
func BenchmarkCanonical(b *testing.B) {
	tbl := ids.DefaultTable()
	for _, tc := range []struct {
		name string
		kind ids.Kind
		id   string
	}{
		{"short", ids.User, "VXNlcjoxOmxQZzI="},
		{"uuid", ids.RoleBinding, enc("RoleBinding:340282366920938463463374607431768211455")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tbl.Canonical(tc.kind, tc.id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
