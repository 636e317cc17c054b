package ids_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/sharedtest"
)

// sharedCase is one entry of the "ids" list in the shared contract cases.
type sharedCase struct {
	ID     string `json:"id"`
	Want   string `json:"want"`
	Type   string `json:"type"`
	Number string `json:"number"`
	Key    string `json:"key"`
	Why    string `json:"why"`
}

// TestSharedCases runs every ID case of ../shared/testdata/cases.json.
func TestSharedCases(t *testing.T) {
	is := is.New(t)
	data := sharedtest.ReadFile(t, "testdata/cases.json")
	var file struct {
		IDs []sharedCase `json:"ids"`
	}
	is.NoErr(json.Unmarshal(data, &file))
	is.True(len(file.IDs) > 0) // the file lists id cases
	for _, c := range file.IDs {
		t.Run(c.ID+" "+c.Why, func(t *testing.T) {
			is := is.New(t)
			id, err := ids.Decode(c.ID)
			switch c.Want {
			case "ok":
				is.NoErr(err)
				is.Equal(id, ids.ID{Type: c.Type, Number: c.Number, Key: c.Key})
				is.Equal(id.String(), c.ID) // re-encoding gives back the input
			case "invalid":
				is.True(errors.Is(err, ids.ErrMalformed)) // rejected as malformed
			default:
				t.Fatalf("unknown want %q", c.Want)
			}
		})
	}
}

func enc(text string) string { return base64.StdEncoding.EncodeToString([]byte(text)) }

func TestDecodeRejectsEachNonCanonicalSpelling(t *testing.T) {
	good := enc("User:1:lPg2") // VXNlcjoxOmxQZzI=
	tests := []struct {
		name, in, reason string
	}{
		{"empty string", "", "empty"},
		{"missing padding", strings.TrimRight(good, "="), "missing padding"},
		{"extra padding", good + "=", "extra padding"},
		{"padding on an unpadded id", enc("Model:1:FvlL") + "====", "extra padding"},
		{"non-zero trailing bits", "VXNlcjoxOmxQZzJ=", "non-zero trailing bits"},
		{"embedded newline", good[:8] + "\n" + good[8:], "embedded line break"},
		{"embedded carriage return", good[:8] + "\r" + good[8:], "embedded line break"},
		{"trailing newline", good + "\n", "embedded line break"},
		{"leading space", " " + good, "whitespace"},
		{"tab inside", good[:4] + "\t" + good[4:], "whitespace"},
		{"URL-safe alphabet", base64.URLEncoding.EncodeToString([]byte("User:1:a?>")), "URL-safe"},
		{"padding in the middle", "VXNl=cjoxOmxQZzI=", "padding in the middle"},
		{"impossible length", "VXNlc", "truncated"},
		{"not base64 at all", "notanid!", "not base64"},
		{"non-ASCII byte", good[:4] + "é" + good[4:], "not base64"},
		{"too long", strings.Repeat("QUFB", ids.MaxLen/4+1), "longer than"},
		{"no number", enc("User"), "no number"},
		{"empty type", enc(":1:abc"), "empty type"},
		{"type starting with a digit", enc("1User:1"), "start with an ASCII letter"},
		{"type with punctuation", enc("Us-er:1"), "letters and digits"},
		{"empty number", enc("User::abc"), "empty number"},
		{"leading zero", enc("User:01:abc"), "leading zero"},
		{"double zero", enc("User:00"), "leading zero"},
		{"negative number", enc("User:-1:abc"), "digits only"},
		{"plus sign", enc("User:+1"), "digits only"},
		{"exponent", enc("User:1e3:abc"), "digits only"},
		{"fraction", enc("User:1.0"), "digits only"},
		{"key with punctuation", enc("User:1:ab-c"), "key must be"},
		{"empty key", enc("User:1:"), "empty key"},
		{"four segments", enc("User:1:abc:def"), "more than three"},
		{"non-UTF-8 text", base64.StdEncoding.EncodeToString([]byte("User:1:\xff")), "key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := ids.Decode(tt.in)
			var e *ids.Error
			is.True(errors.As(err, &e))                    // a *ids.Error
			is.True(errors.Is(err, ids.ErrMalformed))      // matches the sentinel
			is.True(strings.Contains(e.Reason, tt.reason)) // the reason names the rule
		})
	}
}

func TestDecodeKeepsLongNumbersExact(t *testing.T) {
	is := is.New(t)
	const n = "340282366920938463463374607431768211455123456789"
	id, err := ids.Decode(enc("Space:" + n + ":aB12"))
	is.NoErr(err)
	v, err := id.Int()
	is.NoErr(err)
	is.Equal(v.String(), n) // no float on the way
	_, err = ids.Decode(enc("Space:0"))
	is.NoErr(err) // zero itself is canonical
}

func TestNewChecksParts(t *testing.T) {
	is := is.New(t)
	id, err := ids.New("Role", "7", "k9")
	is.NoErr(err)
	is.Equal(id.Text(), "Role:7:k9")
	is.Equal(ids.Encode("Entity", "12345", ""), "RW50aXR5OjEyMzQ1")
	_, err = ids.New("Role", "07", "")
	is.True(errors.Is(err, ids.ErrMalformed)) // leading zero
	_, err = ids.New("Role", "7", "a b")
	is.True(errors.Is(err, ids.ErrMalformed)) // bad key
	_, err = ids.New("", "7", "")
	is.True(errors.Is(err, ids.ErrMalformed)) // no type
}

func TestCanonicalNormalizesTheProjectAlias(t *testing.T) {
	is := is.New(t)
	tbl := ids.DefaultTable()
	model := enc("Model:14079763:9iZk")
	got, err := tbl.Canonical(ids.Project, enc("Project:14079763:9iZk"))
	is.NoErr(err)
	is.Equal(got, model) // Project:N:K is stored as Model:N:K
	got, err = tbl.Canonical(ids.Project, model)
	is.NoErr(err)
	is.Equal(got, model) // the canonical form is returned as is
	got, err = tbl.Canonical(ids.Project, enc("Project:5"))
	is.NoErr(err)
	is.Equal(got, enc("Model:5")) // two-segment IDs too
}

func TestCanonicalRejectsTheWrongType(t *testing.T) {
	is := is.New(t)
	tbl := ids.DefaultTable()
	_, err := tbl.Canonical(ids.Project, "U3BhY2U6MTp1Rk4x") // Space:1:uFN1
	var te *ids.TypeError
	is.True(errors.As(err, &te))                         // a *ids.TypeError
	is.True(errors.Is(err, ids.ErrWrongType))            // matches the sentinel
	is.Equal(te.Got, "Space")                            // names what it got
	is.Equal(te.Want, []string{"Model", "Project"})      // and what it wanted
	_, err = tbl.Canonical(ids.User, "VXNlcjoxOmxQZzJ=") // trailing bits
	is.True(errors.Is(err, ids.ErrMalformed))            // form is checked before type
	_, err = tbl.Canonical(ids.User, enc("user:1:lPg2"))
	is.True(errors.Is(err, ids.ErrWrongType)) // type names compare byte for byte
}

func TestCanonicalAllocatesNothingForCanonicalInput(t *testing.T) {
	is := is.New(t)
	tbl := ids.DefaultTable()
	id := enc("RoleBinding:340282366920938463463374607431768211455")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tbl.Canonical(ids.RoleBinding, id); err != nil {
			t.Fatal(err)
		}
	})
	is.Equal(allocs, 0.0) // stores check IDs on every call
}

func TestTableCheck(t *testing.T) {
	is := is.New(t)
	def := ids.DefaultTable()
	is.NoErr(def.Check())
	shared := ids.DefaultTable()
	shared.User = []string{"Role"}
	is.True(shared.Check() != nil) // one name for two kinds would let a role pass as a user
	empty := ids.DefaultTable()
	empty.Space = nil
	is.True(empty.Check() != nil) // every kind needs a name
	bad := ids.DefaultTable()
	bad.Role = []string{"Ro le"}
	is.True(bad.Check() != nil) // names follow the type syntax
	custom := ids.Table{Role: []string{"R"}, User: []string{"Person"}, Space: []string{"Workspace"}, Project: []string{"Proj"}, RoleBinding: []string{"Grant"}}
	is.NoErr(custom.Check())
	got, err := custom.Canonical(ids.User, enc("Person:9"))
	is.NoErr(err)
	is.Equal(got, enc("Person:9")) // a host's own names work
}

func TestNewIDIsCanonicalAndUnique(t *testing.T) {
	is := is.New(t)
	tbl := ids.DefaultTable()
	seen := map[string]bool{}
	for range 10000 {
		s, err := tbl.NewID(ids.RoleBinding)
		is.NoErr(err)
		id, err := ids.Decode(s)
		is.NoErr(err)                    // canonical
		is.Equal(id.Type, "RoleBinding") // of the asked kind
		is.True(!seen[s])                // never repeats
		seen[s] = true
	}
}
