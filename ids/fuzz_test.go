package ids_test

import (
	"encoding/base64"
	"testing"

	"github.com/rolebind/rbac/ids"
)

// FuzzDecode checks that decoding never panics and that whatever it accepts
// is canonical: re-encoding gives back the input byte for byte, and the
// number's exact value prints as its digits.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"Um9sZToxOlY0S2E=", "VXNlcjoxOmxQZzI=", "TW9kZWw6MTpGdmxM", "RW50aXR5OjEyMzQ1",
		"VXNlcjoxOmxQZzJ=", "VXNlcjoxOmxQZzI", "VXNlcjox\nOmxQZzI=", "", "VXNlcjowMTphYmM=",
		"U3BhY2U6MzQwMjgyMzY2OTIwOTM4NDYzNDYzMzc0NjA3NDMxNzY4MjExNDU1OmFCMTI=",
	} {
		f.Add(s)
	}
	tbl := ids.DefaultTable()
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ids.Decode(s)
		if err != nil {
			if _, cerr := tbl.Canonical(ids.User, s); cerr == nil {
				t.Fatalf("Canonical accepted %q that Decode rejects: %v", s, err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("Decode(%q) accepted a non-canonical spelling of %q (canonical %q)", s, id.Text(), got)
		}
		if got := base64.StdEncoding.EncodeToString([]byte(id.Text())); got != s {
			t.Fatalf("standard encoding of %q is %q, not the input %q", id.Text(), got, s)
		}
		n, err := id.Int()
		if err != nil || n.String() != id.Number {
			t.Fatalf("number %q of %q does not parse back exactly: %v %v", id.Number, s, n, err)
		}
		if err := id.Valid(); err != nil {
			t.Fatalf("decoded parts of %q are not valid: %v", s, err)
		}
	})
}
