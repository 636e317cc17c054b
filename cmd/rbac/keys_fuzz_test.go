package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rolebind/rbac/validate"
)

// FuzzParseKeys reads keys files, well formed or not: nothing panics, and
// a file that parses yields only entries whose user is a canonical User
// ID, at most one per line.
func FuzzParseKeys(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	f.Add([]byte("# keys\n\n" + sum + " VXNlcjoxOmxQZzI=\n" + sum + " VXNlcjoyOmxQZzI= admin\n"))
	f.Add([]byte(sum + " VXNlcjoxOmxQZzI admin extra\n"))
	f.Add([]byte("zz VXNlcjoxOmxQZzI=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseKeys(bytes.NewReader(data), "keys")
		if err != nil {
			return
		}
		if len(entries) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d entries from %d lines", len(entries), bytes.Count(data, []byte("\n"))+1)
		}
		for _, e := range entries {
			if id, err := validate.Default().UserID(e.p.UserID); err != nil || id != e.p.UserID {
				t.Fatalf("entry for user %q, which is not a canonical User ID (%v)", e.p.UserID, err)
			}
		}
	})
}
