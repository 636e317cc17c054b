package check_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
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

// The pools FuzzApplyChanges draws IDs from: well-formed IDs of every
// kind, aliases, and IDs that are malformed, empty or of another kind.
var (
	fuzzUsers     = []string{alice, bob, userID(3), "", "alice", s1, "VXNlcjox="}
	fuzzResources = []string{s1, s2, p1, p2, p3, alias, "", "garbage", alice, ids.Encode("Space", "1", "k")}
	fuzzRoles     = []string{perm.AdminRoleID, perm.MemberRoleID, perm.ReadOnlyRoleID, reader, restricter, "", "Role", alice}
	fuzzTypes     = []rbac.ResourceType{rbac.Space, rbac.Project, "", "ORGANIZATION"}
	fuzzPerms     = []string{"PROJECT_READ", perm.ProjectRestrict, perm.RoleBindingCreate, perm.RoleBindingDelete, "SPACE_READ", "NOPE"}
)

func pick[T any](pool []T, b byte) T { return pool[int(b)%len(pool)] }

// fuzzChange makes a change, well formed or not, from 5 bytes.
func fuzzChange(op [5]byte) store.Change {
	b := rbac.Binding{
		ID:           bindID(1 + int(op[4]%4)),
		UserID:       pick(fuzzUsers, op[1]),
		ResourceType: pick(fuzzTypes, op[2]>>4),
		ResourceID:   pick(fuzzResources, op[2]),
		RoleID:       pick(fuzzRoles, op[3]),
	}
	ch := store.Change{Kind: store.ChangeKind(op[0] % 13)} // 0 and 12 are no kind
	switch ch.Kind {
	case store.BindingCreated, store.BindingRoleChanged, store.BindingDeleted, store.UserBindingsDeleted, store.ResourceBindingsDeleted:
		ch.Binding = b
	case store.RoleCreated, store.RoleUpdated, store.RoleDeleted:
		ch.Role = rbac.Role{ID: b.RoleID, Name: "fuzz", Permissions: []string{pick(fuzzPerms, op[1]), pick(fuzzPerms, op[4])}}
	default:
		ch.ProjectID, ch.SpaceID = pick(fuzzResources, op[1]), pick(fuzzResources, op[2])
	}
	return ch
}

// FuzzApplyChanges applies random change sequences, well formed or not,
// to a checker, by Apply and through a feed (CatchUp, Load), and then asks
// it every kind of question. Nothing may panic or hang; the index must
// stay whole; Apply must refuse what it does not apply; and passing over
// the changes it refuses, as CatchUp does, must change no answer.
func FuzzApplyChanges(f *testing.F) {
	// Issue 8: a SPACE binding on a Model ID, then a PROJECT question.
	f.Add([]byte{byte(store.BindingCreated), 0, 2, 0, 0}) // alice, SPACE, p1, Admin
	f.Add([]byte{byte(store.ProjectSpaceSet), 2, 0, 0, 0, byte(store.BindingCreated), 0, 0, 0, 0, byte(store.ProjectRestricted), 2, 0, 0, 0})
	f.Add([]byte{byte(store.RoleCreated), 2, 0, 3, 1, byte(store.BindingCreated), 1, 0x13, 3, 0, byte(store.RoleDeleted), 0, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too; a stack overflow crashes on its own.
		watchdog := time.AfterFunc(30*time.Second, func() { panic("FuzzApplyChanges: no answer within 30 s") })
		defer watchdog.Stop()

		direct := newWorld(t, check.Options{ProtectLastAdmin: true}).c
		log := newFeed()
		for len(data) >= 5 {
			ch := fuzzChange([5]byte(data[:5]))
			data = data[5:]
			before := direct.Revision()
			ch.Revision = before + 1
			err := direct.Apply(ch)
			switch {
			case err == nil:
				if direct.Revision() != before+1 {
					t.Fatalf("Apply of %v succeeded at revision %d, and the checker is at %d", ch.Kind, ch.Revision, direct.Revision())
				}
				log.remote(ch)
			case errors.Is(err, rbac.ErrInvalid):
				if direct.Revision() != before {
					t.Fatalf("Apply refused %v (%v) and still moved to revision %d", ch.Kind, err, direct.Revision())
				}
				log.corrupt(ch) // the feed holds it; CatchUp must pass over it
			default:
				t.Fatalf("Apply of %v: %v; want success or invalid input", ch.Kind, err)
			}
			if err := check.VerifyIndex(direct); err != nil {
				t.Fatalf("after %v: %v", ch.Kind, err)
			}
		}

		caught := newWorld(t, check.Options{ProtectLastAdmin: true}).c
		rev, err := caught.CatchUp(t.Context(), log)
		if err != nil && !errors.Is(err, rbac.ErrInvalid) {
			t.Fatalf("CatchUp: %v; want success or refused changes", err)
		}
		head, _ := log.Revision(t.Context())
		if rev != head {
			t.Fatalf("CatchUp reached revision %d; the feed is at %d", rev, head)
		}
		loaded := newWorld(t, check.Options{ProtectLastAdmin: true}).c
		if err := loaded.Load(t.Context(), log); err != nil && !errors.Is(err, rbac.ErrInvalid) {
			t.Fatalf("Load: %v; want success or refused changes", err)
		}
		for _, c := range []*check.Checker{caught, loaded} {
			if err := check.VerifyIndex(c); err != nil {
				t.Fatal(err)
			}
		}

		for _, u := range fuzzUsers {
			for _, res := range fuzzResources {
				for _, rt := range fuzzTypes {
					for _, p := range fuzzPerms[:2] {
						ok, err := direct.Check(u, p, rt, res)
						if err != nil && !errors.Is(err, rbac.ErrInvalid) {
							t.Fatalf("Check: %v is not invalid input", err)
						}
						for name, other := range map[string]*check.Checker{"caught up": caught, "loaded": loaded} {
							if ok2, _ := other.Check(u, p, rt, res); ok2 != ok {
								t.Fatalf("Check(%s, %s, %s, %s): applied %v, %s %v", u, p, rt, res, ok, name, ok2)
							}
						}
						if d, derr := direct.Explain(u, p, rt, res); (derr == nil) != (err == nil) || d.Allowed != ok {
							t.Fatalf("Check says %v, %v; Explain says %+v, %v", ok, err, d, derr)
						}
					}
					if rt.Valid() {
						askEverything(t, direct, u, rt, res)
					}
				}
			}
		}
	})
}

// askEverything asks the reverse questions and the guard about one user
// and resource: each must answer with nil or an error of a category.
func askEverything(t *testing.T, c *check.Checker, u string, rt rbac.ResourceType, res string) {
	t.Helper()
	b := rbac.Binding{ID: bindID(1), RoleID: perm.AdminRoleID, UserID: u, ResourceType: rt, ResourceID: res}
	for _, err := range []error{
		second(c.WhoCan("PROJECT_READ", rt, res, "", 5)),
		second(c.ResourcesFor(u, "PROJECT_READ", rt, "", 5)),
		c.CanCreateBinding(alice, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: u, ResourceType: rt, ResourceID: res}),
		c.CanChangeRole(u, b, perm.MemberRoleID),
		c.CanDeleteBinding(u, b),
		c.CanRestrictProject(u, res),
		c.CanUnrestrictProject(u, res),
	} {
		if err != nil && !errors.Is(err, rbac.ErrInvalid) && !errors.Is(err, rbac.ErrNotFound) && !errors.Is(err, rbac.ErrForbidden) {
			t.Fatalf("%v is of no category", err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
