package check_test

import (
	"errors"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// FuzzCheck feeds untrusted questions to a checker: it must never panic,
// every error must be invalid input, and Check and Explain must agree.
func FuzzCheck(f *testing.F) {
	w := scenarioWorld(f)
	w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
	w.bind(alice, reader, rbac.Project, p2)
	f.Add(alice, "PROJECT_READ", "PROJECT", p1)
	f.Add(alice, "PROJECT_READ", "PROJECT", "UHJvamVjdDoy") // Project:2, the alias
	f.Add(alice, "SPACE_READ", "SPACE", s1)
	f.Add("VXNlcjoxOmxQZzJ=", "SPACE_READ", "SPACE", s1)
	f.Add(alice, "project_read", "space", "")
	f.Fuzz(func(t *testing.T, user, perm, rt, res string) {
		ok, err := w.c.Check(user, perm, rbac.ResourceType(rt), res)
		if err != nil && !errors.Is(err, rbac.ErrInvalid) {
			t.Fatalf("Check error %v is not invalid input", err)
		}
		if err != nil && ok {
			t.Fatal("Check allowed and failed at once")
		}
		d, derr := w.c.Explain(user, perm, rbac.ResourceType(rt), res)
		if (err == nil) != (derr == nil) || d.Allowed != ok {
			t.Fatalf("Check says %v, %v; Explain says %+v, %v", ok, err, d, derr)
		}
	})
}

// FuzzReverseCursor feeds untrusted cursors to both reverse questions:
// they must never panic, and must reject anything they did not issue as
// invalid input on field "cursor".
func FuzzReverseCursor(f *testing.F) {
	w := scenarioWorld(f)
	w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
	w.bind(alice, reader, rbac.Project, p2)
	w.bind(bob, perm.MemberRoleID, rbac.Space, s1)
	page, err := w.c.WhoCan("PROJECT_READ", rbac.Project, p1, "", 1)
	if err != nil {
		f.Fatal(err)
	}
	if page.NextCursor == "" {
		f.Fatal("the seed question has one page; the fuzzer needs a real cursor to start from")
	}
	f.Add(page.NextCursor)
	f.Add("")
	f.Add("AQ")
	f.Add(page.NextCursor[:3] + "\n" + page.NextCursor[3:])
	f.Fuzz(func(t *testing.T, cursor string) {
		for i, ask := range []func() error{
			func() error { _, err := w.c.WhoCan("PROJECT_READ", rbac.Project, p1, cursor, 1); return err },
			func() error { _, err := w.c.ResourcesFor(alice, "PROJECT_READ", rbac.Project, cursor, 1); return err },
		} {
			err := ask()
			if err == nil {
				// The only cursor issued is WhoCan's.
				if cursor != "" && (i != 0 || cursor != page.NextCursor) {
					t.Fatalf("accepted %q, which the checker did not issue for this question", cursor)
				}
				continue
			}
			var ve *rbac.ValidationError
			if !errors.As(err, &ve) || !ve.Has("cursor") {
				t.Fatalf("cursor %q: error %v is not invalid input on field cursor", cursor, err)
			}
		}
	})
}
