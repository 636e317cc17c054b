package storetest

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
)

// The IDs the tests use are made from small numbers, so that a failure
// message can be read: user 3 is User:3:u3.

func roleID(i int) string  { return ids.Encode("Role", strconv.Itoa(i), "r"+strconv.Itoa(i)) }
func userID(i int) string  { return ids.Encode("User", strconv.Itoa(i), "u"+strconv.Itoa(i)) }
func spaceID(i int) string { return ids.Encode("Space", strconv.Itoa(i), "s"+strconv.Itoa(i)) }

// projectID is the canonical (Model) spelling of project i.
func projectID(i int) string { return ids.Encode("Model", strconv.Itoa(i), "p"+strconv.Itoa(i)) }

// projectAlias is the same project spelled with the Project alias.
func projectAlias(i int) string { return ids.Encode("Project", strconv.Itoa(i), "p"+strconv.Itoa(i)) }

// missingBindingID is a well-formed RoleBinding ID that no store hands out:
// stores mint UUIDv7 numbers, never a number this small.
func missingBindingID(i int) string {
	return ids.Encode("RoleBinding", strconv.Itoa(i), "missing")
}

// resource is a resource type with an ID.
type resource struct {
	rt rbac.ResourceType
	id string
}

func space(i int) resource   { return resource{rbac.Space, spaceID(i)} }
func project(i int) resource { return resource{rbac.Project, projectID(i)} }

func nb(user int, r resource, role int) rbac.NewBinding {
	return rbac.NewBinding{RoleID: roleID(role), UserID: userID(user), ResourceType: r.rt, ResourceID: r.id}
}

// badID is an input that is not acceptable where an ID of some kind
// belongs, with the reason, for table tests and the model.
type badID struct {
	why string
	id  string
}

// badIDs returns inputs that are wrong for an ID of type typ: empty,
// non-canonical spellings of a good one, and IDs of another type.
func badIDs(typ, other string) []badID {
	// A key of the right length makes the canonical spelling end in
	// padding, so that leaving it out is a different string.
	good := ids.Encode(typ, "7", "k7")
	for key := "k7x"; !strings.HasSuffix(good, "="); key += "x" {
		good = ids.Encode(typ, "7", key)
	}
	noPad := strings.TrimRight(good, "=")
	return []badID{
		{"empty", ""},
		{"an ID of another type", ids.Encode(other, "7", "k7")},
		{"non-zero trailing bits", trailingBits(good)},
		{"missing padding", noPad},
		{"extra padding", good + "=="},
		{"embedded newline", good[:4] + "\n" + good[4:]},
		{"URL-safe alphabet", urlSafe(good)},
		{"surrounding whitespace", " " + good},
		{"not base64", "not an id!"},
		{"leading zero", base64Text(typ + ":07:k7")},
	}
}

// trailingBits returns good, which ends in padding, with the last data
// character changed so that bits the padding discards are set: the same
// text under a lenient decoder, not the canonical spelling.
func trailingBits(good string) string {
	i := strings.IndexByte(good, '=') - 1
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := strings.IndexByte(enc, good[i])
	return good[:i] + string(enc[v|1]) + good[i+1:]
}

// base64Text encodes text that is not a well-formed ID, which ids.Encode
// refuses to do.
func base64Text(text string) string { return base64.StdEncoding.EncodeToString([]byte(text)) }

// urlSafe returns a spelling of good with a character of the URL-safe
// alphabet in it. (No ID text, being ASCII letters, digits and colons,
// encodes to a '+' or '/', so there is no URL-safe spelling of a real ID
// to translate; a '-' or '_' anywhere is the point.)
func urlSafe(good string) string { return good[:2] + "_" + good[3:] }

// wantCategory fails tb unless err is of the category want.
func wantCategory(tb testing.TB, err error, want category, what string) {
	tb.Helper()
	if got, _ := categorize(err); got != want {
		tb.Fatalf("%s: got %s (error %v); want %s", what, got, err, want)
	}
}

// wantInvalid fails tb unless err is invalid input naming every one of
// fields.
func wantInvalid(tb testing.TB, err error, what string, fields ...string) {
	tb.Helper()
	wantCategory(tb, err, catInvalid, what)
	if missing := missingFields(err, fields...); len(missing) > 0 {
		tb.Fatalf("%s: invalid-input error names fields %q; want it to name %q too (error %v)", what, fieldsOf(err), missing, err)
	}
}

// mustCreate creates a binding that must be accepted.
func mustCreate(tb testing.TB, ctx context.Context, e *env, in rbac.NewBinding) rbac.Binding {
	tb.Helper()
	b, err := e.s.Create(ctx, in)
	if err != nil {
		tb.Fatalf("Create(%+v): %v; want success", in, err)
	}
	return b
}

// listAll pages through every binding that matches q, at page size q.Limit,
// and fails tb if the paging breaks a rule.
func listAll(tb testing.TB, ctx context.Context, e *env, q rbac.ListQuery) []rbac.Binding {
	tb.Helper()
	var all []rbac.Binding
	for page := 0; ; page++ {
		p, err := e.s.List(ctx, q)
		if err != nil {
			tb.Fatalf("List(%+v), page %d: %v; want success", q, page, err)
		}
		all = append(all, p.Bindings...)
		if !p.HasMore {
			return all
		}
		if page > 100000 {
			tb.Fatalf("List(%+v): more than 100000 pages; want paging to end", q)
		}
		q.Cursor = p.NextCursor
	}
}

// idsOf returns the IDs of bs in order.
func idsOf(bs []rbac.Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}
