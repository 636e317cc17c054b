package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// missingRoleID is a well-formed Role ID that names no role: not in the
// suite's catalogue, and stores mint 128-bit numbers, never one this
// small.
func missingRoleID(i int) string { return ids.Encode("Role", "9"+strings.Repeat("0", i%5), "missing") }

// mustCreateRole creates a custom role that must be accepted.
func mustCreateRole(t *testing.T, e *env, name string, perms ...string) rbac.Role {
	t.Helper()
	r, err := e.roles().CreateRole(t.Context(), rbac.NewRole{Name: name, Permissions: perms})
	if err != nil {
		t.Fatalf("CreateRole(%q, %q): %v; want success", name, perms, err)
	}
	return r
}

// listAllRoles pages through every role at page size limit.
func listAllRoles(t *testing.T, e *env, limit int) []rbac.Role {
	t.Helper()
	var all []rbac.Role
	q := rbac.RoleQuery{Limit: limit}
	for page := 0; ; page++ {
		p, err := e.roles().ListRoles(t.Context(), q)
		if err != nil {
			t.Fatalf("ListRoles(%+v), page %d: %v; want success", q, page, err)
		}
		all = append(all, p.Roles...)
		if !p.HasMore {
			return all
		}
		if page > 10000 {
			t.Fatalf("ListRoles: more than 10000 pages; want paging to end")
		}
		q.Cursor = p.NextCursor
	}
}

func roleIDs(rs []rbac.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// wantForbidden fails t unless err is invalid input on field "id" with
// reason forbidden: the answer for a change to a predefined role.
func wantForbidden(t *testing.T, err error, what string) {
	t.Helper()
	wantInvalid(t, err, what, "id")
	var ve *rbac.ValidationError
	errors.As(err, &ve)
	for _, fe := range ve.Fields {
		if fe.Field == "id" && fe.Reason == rbac.ReasonForbidden {
			return
		}
	}
	t.Fatalf("%s: invalid-input error %v; want field id with reason %q", what, err, rbac.ReasonForbidden)
}

// unchangedRevision fails t if the store's feed moved since before.
func unchangedRevision(t *testing.T, e *env, before uint64, what string) {
	t.Helper()
	if after := e.revision(t); after != before {
		t.Fatalf("%s: the feed moved from revision %d to %d; want no change recorded", what, before, after)
	}
}

func testRoles(t *testing.T, f Factory) {
	run(t, "create returns the role, trimmed and sorted, and get returns it again", f, func(t *testing.T, e *env) {
		is := is.New(t)
		r, err := e.roles().CreateRole(t.Context(), rbac.NewRole{
			Name: "  Data steward ", Description: "Looks after datasets.",
			Permissions: []string{"DATASET_READ", "PROJECT_READ", "DATASET_CREATE", "DATASET_READ"},
		})
		is.NoErr(err) // create a custom role
		now := rbac.StoreTime(e.clock.Now())
		want := rbac.Role{
			ID: r.ID, Name: "Data steward", Description: "Looks after datasets.",
			Permissions: []string{"DATASET_CREATE", "DATASET_READ", "PROJECT_READ"}, CreatedAt: now, UpdatedAt: now,
		}
		is.Equal(r, want) // name trimmed, permissions sorted without repeats, not predefined, both times the store's clock
		got, err := e.roles().GetRole(t.Context(), r.ID)
		is.NoErr(err)    // get the new role
		is.Equal(got, r) // a later read returns what create returned
		got.Permissions[0] = "QUEUE_READ"
		again, err := e.roles().GetRole(t.Context(), r.ID)
		is.NoErr(err)                                    // get it once more
		is.Equal(again.Permissions[0], "DATASET_CREATE") // changing a returned role changes nothing stored
	})

	run(t, "the catalogue is there, first, in order, and predefined", f, func(t *testing.T, e *env) {
		is := is.New(t)
		admin, err := e.roles().GetRole(t.Context(), perm.AdminRoleID)
		is.NoErr(err)             // the Admin role of the default catalogue
		is.True(admin.Predefined) // Admin is predefined
		every := perm.DefaultVocabulary().Names()
		slices.Sort(every)
		is.Equal(admin.Permissions, every) // Admin holds every permission
		custom := mustCreateRole(t, e, "Custom", "PROJECT_READ")
		all := listAllRoles(t, e, 7)
		cat := Catalogue()
		is.Equal(len(all), len(cat)+1) // every role of the catalogue and the custom one
		for i, want := range cat {
			got := all[i]
			if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description ||
				!slices.Equal(got.Permissions, want.Permissions) || !got.Predefined || got.CreatedAt != got.UpdatedAt {
				t.Fatalf("role %d of the list is %+v; want catalogue role %+v, predefined, created_at == updated_at", i, got, want)
			}
		}
		is.Equal(all[len(cat)], custom) // custom roles come after the catalogue
		all[0].Permissions[0] = "CHANGED"
		again, err := e.roles().GetRole(t.Context(), all[0].ID)
		is.NoErr(err)                              // read the first role again
		is.True(again.Permissions[0] != "CHANGED") // changing a listed role changes nothing stored
	})

	run(t, "a name taken by a custom or a predefined role is a conflict", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustCreateRole(t, e, "Reviewer", "PROJECT_READ")
		before := e.revision(t)
		for _, name := range []string{"Admin", "Read-only", "fixture role 1", "Reviewer", " Reviewer\t"} {
			_, err := e.roles().CreateRole(ctx, rbac.NewRole{Name: name, Permissions: []string{"SPACE_READ"}})
			wantCategory(t, err, catConflict, "CreateRole named "+name)
		}
		unchangedRevision(t, e, before, "creates with taken names")
		_, err := e.roles().CreateRole(ctx, rbac.NewRole{Name: "reviewer", Permissions: []string{"SPACE_READ"}})
		wantCategory(t, err, catOK, "CreateRole named reviewer (names compare byte for byte)")
	})

	run(t, "concurrent creates with one name: exactly one succeeds", f, func(t *testing.T, e *env) {
		got := race(func(i int) error {
			_, err := e.roles().CreateRole(t.Context(), rbac.NewRole{Name: "Contested", Permissions: []string{"PROJECT_READ"}})
			return err
		})
		wantOutcomes(t, got, catConflict, "role creates with one name")
	})

	run(t, "bad input is invalid and writes nothing", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		before := e.revision(t)
		n := len(listAllRoles(t, e, rbac.MaxLimit))
		for _, c := range []struct {
			why   string
			in    rbac.NewRole
			field string
		}{
			{"a blank name", rbac.NewRole{Name: "  ", Permissions: []string{"PROJECT_READ"}}, "name"},
			{"a name too long", rbac.NewRole{Name: strings.Repeat("n", 101), Permissions: []string{"PROJECT_READ"}}, "name"},
			{"no permission", rbac.NewRole{Name: "Empty"}, "permissions"},
			{"an empty permission list", rbac.NewRole{Name: "Empty", Permissions: []string{}}, "permissions"},
			{"an unknown permission", rbac.NewRole{Name: "Typo", Permissions: []string{"PROJECT_READ", "PROJECT_REED"}}, "permissions"},
			{"a permission in lower case", rbac.NewRole{Name: "Lower", Permissions: []string{"project_read"}}, "permissions"},
			// PostgreSQL text cannot hold a NUL, so no store may keep one:
			// every store refuses it as invalid input, not one as an
			// internal error and another by storing it.
			{"a NUL in the name", rbac.NewRole{Name: "Nul\x00name", Permissions: []string{"PROJECT_READ"}}, "name"},
			{"a NUL at the end of the name", rbac.NewRole{Name: "Nul name\x00", Permissions: []string{"PROJECT_READ"}}, "name"},
			{"a NUL in the description", rbac.NewRole{Name: "Nul description", Description: "Reads\x00 projects.", Permissions: []string{"PROJECT_READ"}}, "description"},
		} {
			_, err := e.roles().CreateRole(ctx, c.in)
			wantInvalid(t, err, "CreateRole with "+c.why, c.field)
		}
		if got := len(listAllRoles(t, e, rbac.MaxLimit)); got != n {
			t.Fatalf("after invalid creates the store lists %d roles; want %d", got, n)
		}
		unchangedRevision(t, e, before, "invalid creates")
	})

	run(t, "get: a bad ID is invalid, an unknown one not found", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		for _, bad := range badIDs("Role", "RoleBinding") {
			_, err := e.roles().GetRole(ctx, bad.id)
			wantInvalid(t, err, "GetRole with "+bad.why, "id")
		}
		_, err := e.roles().GetRole(ctx, missingRoleID(1))
		wantCategory(t, err, catNotFound, "GetRole of a role that does not exist")
	})

	run(t, "update: a rename keeps the permissions, a permission set replaces the old one", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Editor", "PROJECT_READ", "PROJECT_UPDATE")
		e.clock.Advance(time.Minute)
		name := " Project editor "
		renamed, err := e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name})
		is.NoErr(err) // rename
		want := r
		want.Name, want.UpdatedAt = "Project editor", rbac.StoreTime(e.clock.Now())
		is.Equal(renamed, want) // only the name and updated_at change
		e.clock.Advance(time.Minute)
		replaced, err := e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Permissions: []string{"SPACE_READ", "PROJECT_READ", "SPACE_READ"}})
		is.NoErr(err) // new permissions
		want.Permissions, want.UpdatedAt = []string{"PROJECT_READ", "SPACE_READ"}, rbac.StoreTime(e.clock.Now())
		is.Equal(replaced, want) // the set is replaced whole, sorted without repeats
		desc := "Edits projects."
		e.clock.Advance(time.Minute)
		described, err := e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Description: &desc})
		is.NoErr(err) // set a description
		want.Description, want.UpdatedAt = desc, rbac.StoreTime(e.clock.Now())
		is.Equal(described, want) // only the description and updated_at change
		got, err := e.roles().GetRole(ctx, r.ID)
		is.NoErr(err)       // read it back
		is.Equal(got, want) // a later read returns what the last update returned
		_, err = e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Permissions: []string{}})
		wantInvalid(t, err, "UpdateRole with an empty permission set", "permissions")
		_, err = e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Permissions: []string{"NOPE"}})
		wantInvalid(t, err, "UpdateRole with an unknown permission", "permissions")
	})

	run(t, "an update with a NUL in the name or the description is invalid and changes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Plain", "PROJECT_READ")
		before := e.revision(t)
		name, desc := "Pl\x00ain", "Reads\x00 projects."
		for _, c := range []struct {
			why   string
			u     rbac.RoleUpdate
			field string
		}{
			{"a NUL in the name", rbac.RoleUpdate{Name: &name}, "name"},
			{"a NUL in the description", rbac.RoleUpdate{Description: &desc}, "description"},
		} {
			_, err := e.roles().UpdateRole(ctx, r.ID, c.u)
			wantInvalid(t, err, "UpdateRole with "+c.why, c.field)
		}
		got, err := e.roles().GetRole(ctx, r.ID)
		is.NoErr(err)    // read the role back
		is.Equal(got, r) // the role is as it was
		unchangedRevision(t, e, before, "invalid updates")
	})

	run(t, "an update that changes nothing writes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Steady", "QUEUE_READ", "PROJECT_READ")
		e.clock.Advance(time.Minute)
		before := e.revision(t)
		same, perms := "Steady", []string{"QUEUE_READ", "PROJECT_READ", "QUEUE_READ"}
		desc := ""
		for _, u := range []rbac.RoleUpdate{{}, {Name: &same}, {Permissions: perms}, {Name: &same, Description: &desc, Permissions: perms}} {
			got, err := e.roles().UpdateRole(ctx, r.ID, u)
			is.NoErr(err)    // a no-op update succeeds
			is.Equal(got, r) // and returns the role as it was, updated_at too
		}
		unchangedRevision(t, e, before, "updates that change nothing")
	})

	run(t, "updated_at moves forward even when the clock steps back", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		r := mustCreateRole(t, e, "Clocked", "PROJECT_READ")
		prev := r.UpdatedAt
		for i, name := range []string{"Clocked 2", "Clocked 3", "Clocked 4"} {
			e.clock.Advance(-time.Duration(i+1) * time.Hour)
			got, err := e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name})
			if err != nil {
				t.Fatalf("UpdateRole to %q: %v; want success", name, err)
			}
			if !got.UpdatedAt.After(prev) || got.CreatedAt != r.CreatedAt {
				t.Fatalf("UpdateRole with the clock stepped back: updated_at %v after %v, created_at %v; want updated_at later, created_at %v", got.UpdatedAt, prev, got.CreatedAt, r.CreatedAt)
			}
			prev = got.UpdatedAt
		}
	})

	run(t, "a stale precondition is a conflict and changes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Guarded", "PROJECT_READ")
		e.clock.Advance(time.Second)
		name := "Guarded once"
		first, err := e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name, IfUpdatedAt: r.UpdatedAt.In(time.FixedZone("X", 3600))})
		is.NoErr(err) // the precondition holds, in any time zone
		before := e.revision(t)
		other := "Guarded twice"
		_, err = e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &other, IfUpdatedAt: r.UpdatedAt})
		wantCategory(t, err, catConflict, "UpdateRole with the updated_at before the last change")
		_, err = e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{IfUpdatedAt: r.UpdatedAt})
		wantCategory(t, err, catConflict, "an empty UpdateRole with a stale updated_at")
		got, err := e.roles().GetRole(ctx, r.ID)
		is.NoErr(err)        // read it back
		is.Equal(got, first) // nothing changed
		unchangedRevision(t, e, before, "updates with a stale precondition")
	})

	run(t, "a rename to a taken name is a conflict", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustCreateRole(t, e, "First", "PROJECT_READ")
		second := mustCreateRole(t, e, "Second", "PROJECT_READ")
		for _, name := range []string{"First", "Member", " First "} {
			_, err := e.roles().UpdateRole(ctx, second.ID, rbac.RoleUpdate{Name: &name})
			wantCategory(t, err, catConflict, "UpdateRole renaming to "+name)
		}
		got, err := e.roles().GetRole(ctx, second.ID)
		if err != nil || got.Name != "Second" {
			t.Fatalf("after failed renames GetRole gives %+v, %v; want the name Second", got, err)
		}
	})

	run(t, "predefined roles cannot be updated or deleted", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		before := e.revision(t)
		name := "Boss"
		for _, id := range []string{perm.AdminRoleID, perm.AnnotatorRoleID, roleID(1), publicRole1} {
			_, err := e.roles().UpdateRole(ctx, id, rbac.RoleUpdate{Name: &name})
			wantForbidden(t, err, "UpdateRole of predefined role "+id)
			_, err = e.roles().UpdateRole(ctx, id, rbac.RoleUpdate{})
			wantForbidden(t, err, "empty UpdateRole of predefined role "+id)
			err = e.roles().DeleteRole(ctx, id)
			wantForbidden(t, err, "DeleteRole of predefined role "+id)
		}
		unchangedRevision(t, e, before, "changes to predefined roles")
		if _, err := e.roles().GetRole(ctx, perm.AdminRoleID); err != nil {
			t.Fatalf("GetRole(Admin) after the refused changes: %v; want it still there", err)
		}
	})

	run(t, "update and delete: a bad ID is invalid, an unknown role not found", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		name := "Anything"
		for _, bad := range badIDs("Role", "User") {
			_, err := e.roles().UpdateRole(ctx, bad.id, rbac.RoleUpdate{Name: &name})
			wantInvalid(t, err, "UpdateRole with "+bad.why, "id")
			err = e.roles().DeleteRole(ctx, bad.id)
			wantInvalid(t, err, "DeleteRole with "+bad.why, "id")
		}
		_, err := e.roles().UpdateRole(ctx, missingRoleID(2), rbac.RoleUpdate{Name: &name})
		wantCategory(t, err, catNotFound, "UpdateRole of a role that does not exist")
		err = e.roles().DeleteRole(ctx, missingRoleID(2))
		wantCategory(t, err, catNotFound, "DeleteRole of a role that does not exist")
	})

	run(t, "a bound role cannot be deleted until its last binding goes, and its ID never comes back", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Bound", "PROJECT_READ")
		a := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: r.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		mustCreate(t, ctx, e, rbac.NewBinding{RoleID: r.ID, UserID: userID(2), ResourceType: rbac.Project, ResourceID: projectID(1)})
		c := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: roleID(1), UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		c, err := e.s.ChangeRole(ctx, c.ID, rbac.RoleChange{RoleID: r.ID})
		is.NoErr(err) // a third binding moves to the role
		steps := []struct {
			what string
			undo func() error
		}{
			{"a binding deleted", func() error { return e.s.Delete(ctx, a.ID) }},
			{"a binding moved to another role", func() error {
				_, err := e.s.ChangeRole(ctx, c.ID, rbac.RoleChange{RoleID: roleID(2)})
				return err
			}},
			{"a user's bindings deleted", func() error {
				_, err := e.s.DeleteUserBindings(ctx, userID(2))
				return err
			}},
		}
		for _, s := range steps {
			before := e.revision(t)
			wantCategory(t, e.roles().DeleteRole(ctx, r.ID), catConflict, "DeleteRole of a role with bindings")
			unchangedRevision(t, e, before, "a refused DeleteRole")
			if err := s.undo(); err != nil {
				t.Fatalf("%s: %v; want success", s.what, err)
			}
		}
		is.NoErr(e.roles().DeleteRole(ctx, r.ID)) // no binding left: the role goes
		_, err = e.roles().GetRole(ctx, r.ID)
		wantCategory(t, err, catNotFound, "GetRole of a deleted role")
		wantCategory(t, e.roles().DeleteRole(ctx, r.ID), catNotFound, "DeleteRole of a deleted role")
		name := "Bound again"
		_, err = e.roles().UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name})
		wantCategory(t, err, catNotFound, "UpdateRole of a deleted role")
		for i := range 5 {
			again := mustCreateRole(t, e, "Bound "+string(rune('A'+i)), "PROJECT_READ")
			is.True(again.ID != r.ID) // a deleted role's ID is never handed out again
		}
		mustCreateRole(t, e, "Bound", "SPACE_READ") // the name is free again
	})

	run(t, "paging lists every role once while others come and go", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		var created []rbac.Role
		for i := range 12 {
			created = append(created, mustCreateRole(t, e, "Paged "+string(rune('A'+i)), "PROJECT_READ"))
		}
		all := listAllRoles(t, e, rbac.MaxLimit)
		var seen []rbac.Role
		q := rbac.RoleQuery{Limit: 9}
		for page := 0; ; page++ {
			p, err := e.roles().ListRoles(ctx, q)
			if err != nil {
				t.Fatalf("ListRoles page %d: %v; want success", page, err)
			}
			seen = append(seen, p.Roles...)
			// Churn between pages: a role that was already listed goes,
			// and a new one comes, which must appear at the end.
			if page < 4 {
				victim := created[page]
				if err := e.roles().DeleteRole(ctx, victim.ID); err != nil {
					t.Fatalf("DeleteRole while paging: %v; want success", err)
				}
				all = slices.DeleteFunc(all, func(r rbac.Role) bool {
					return r.ID == victim.ID && !slices.ContainsFunc(seen, func(s rbac.Role) bool { return s.ID == victim.ID })
				})
				all = append(all, mustCreateRole(t, e, "Churn "+string(rune('A'+page)), "SPACE_READ"))
			}
			if !p.HasMore {
				break
			}
			q.Cursor = p.NextCursor
		}
		if got, want := roleIDs(seen), roleIDs(all); !slices.Equal(got, want) {
			t.Fatalf("paging listed %d roles %v; want every role that existed throughout once, in creation order, and the new ones at the end: %v", len(got), got, want)
		}
	})

	run(t, "a garbled or foreign cursor and a bad limit are invalid", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		p, err := e.roles().ListRoles(ctx, rbac.RoleQuery{Limit: 2})
		if err != nil || !p.HasMore {
			t.Fatalf("ListRoles with limit 2: %+v, %v; want a page with more", p, err)
		}
		for _, g := range garble(p.NextCursor) {
			_, err := e.roles().ListRoles(ctx, rbac.RoleQuery{Cursor: g.cursor})
			wantInvalid(t, err, "ListRoles with a cursor "+g.why, "cursor")
		}
		for i := range 3 {
			mustCreate(t, ctx, e, nb(i, space(1), 1))
		}
		bp, err := e.s.List(ctx, rbac.ListQuery{Limit: 1})
		if err != nil || !bp.HasMore {
			t.Fatalf("List with limit 1: %+v, %v; want a page with more", bp, err)
		}
		_, err = e.roles().ListRoles(ctx, rbac.RoleQuery{Cursor: bp.NextCursor})
		wantInvalid(t, err, "ListRoles with a cursor of a binding list", "cursor")
		_, err = e.s.List(ctx, rbac.ListQuery{Cursor: p.NextCursor})
		wantInvalid(t, err, "List with a cursor of the role list", "cursor")
		for _, limit := range []int{-1, rbac.MaxLimit + 1} {
			_, err := e.roles().ListRoles(ctx, rbac.RoleQuery{Limit: limit})
			wantInvalid(t, err, "ListRoles with a limit out of range", "limit")
		}
	})
}

// testRoleBindings checks what a store that keeps roles adds to the
// binding methods: no binding ever points at a role that does not exist.
func testRoleBindings(t *testing.T, f Factory) {
	run(t, "a binding to a role that does not exist is not found and writes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		before := e.revision(t)
		_, err := e.s.Create(ctx, rbac.NewBinding{RoleID: missingRoleID(3), UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		wantCategory(t, err, catNotFound, "Create with a role that does not exist")
		is.Equal(len(listAll(t, ctx, e, rbac.ListQuery{})), 0) // nothing was stored
		unchangedRevision(t, e, before, "a refused Create")
		b := mustCreate(t, ctx, e, nb(1, space(1), 1)) // the same slot takes a binding to a real role
		before = e.revision(t)
		e.clock.Advance(time.Minute)
		_, err = e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: missingRoleID(4)})
		wantCategory(t, err, catNotFound, "ChangeRole to a role that does not exist")
		_, err = e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: missingRoleID(4), IfUpdatedAt: b.UpdatedAt})
		wantCategory(t, err, catNotFound, "ChangeRole to a role that does not exist, with a current precondition")
		unchanged(t, e, b)
		unchangedRevision(t, e, before, "refused role changes")
	})

	run(t, "bindings to custom roles work until the role is deleted", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Custom", "PROJECT_READ")
		b := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: r.ID, UserID: userID(1), ResourceType: rbac.Project, ResourceID: projectAlias(1)})
		is.Equal(b.RoleID, r.ID) // bound to the custom role
		other := mustCreate(t, ctx, e, nb(2, space(1), 1))
		is.NoErr(e.s.Delete(ctx, b.ID))           // unbind
		is.NoErr(e.roles().DeleteRole(ctx, r.ID)) // and delete the role
		_, err := e.s.Create(ctx, rbac.NewBinding{RoleID: r.ID, UserID: userID(1), ResourceType: rbac.Project, ResourceID: projectID(1)})
		wantCategory(t, err, catNotFound, "Create with a deleted role")
		_, err = e.s.ChangeRole(ctx, other.ID, rbac.RoleChange{RoleID: r.ID})
		wantCategory(t, err, catNotFound, "ChangeRole to a deleted role")
		unchanged(t, e, other)
	})

	run(t, "a role delete racing a binding create never lets both succeed", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		for round := range 20 {
			r := mustCreateRole(t, e, "Racing "+string(rune('A'+round)), "PROJECT_READ")
			in := rbac.NewBinding{RoleID: r.ID, UserID: userID(round), ResourceType: rbac.Space, ResourceID: spaceID(1)}
			var (
				wg              sync.WaitGroup
				start           = make(chan struct{})
				delErr, makeErr error
			)
			wg.Go(func() { <-start; delErr = e.roles().DeleteRole(ctx, r.ID) })
			wg.Go(func() { <-start; _, makeErr = e.s.Create(ctx, in) })
			close(start)
			wg.Wait()
			bound := listAll(t, ctx, e, rbac.ListQuery{RoleID: r.ID})
			_, getErr := e.roles().GetRole(ctx, r.ID)
			switch {
			case delErr == nil && makeErr == nil:
				t.Fatalf("round %d: DeleteRole and Create with the role both succeeded; want one of them to fail", round)
			case delErr == nil:
				wantCategory(t, makeErr, catNotFound, "Create that lost to DeleteRole")
				wantCategory(t, getErr, catNotFound, "GetRole after DeleteRole won")
				if len(bound) != 0 {
					t.Fatalf("round %d: the role was deleted but bindings %v point at it", round, idsOf(bound))
				}
			case makeErr == nil:
				wantCategory(t, delErr, catConflict, "DeleteRole that lost to Create")
				if getErr != nil || len(bound) != 1 {
					t.Fatalf("round %d: Create won, but GetRole gives %v and the role has %d bindings; want the role and one binding", round, getErr, len(bound))
				}
			default:
				t.Fatalf("round %d: DeleteRole gave %v and Create gave %v; want one of them to succeed", round, delErr, makeErr)
			}
		}
	})
}

// The checking wrappers are stores of their own kind.
var (
	_ store.RoleStore     = (*checkedRoles)(nil)
	_ store.ResourceStore = (*checkedResources)(nil)
	_ store.ChangeFeed    = (*checkedFeed)(nil)
)
