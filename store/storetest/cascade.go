package storetest

import (
	"slices"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

// remaining checks that the store holds exactly want, in creation order,
// and that every binding of gone is not found.
func remaining(t *testing.T, e *env, want, gone []rbac.Binding, what string) {
	t.Helper()
	got := listAll(t, t.Context(), e, rbac.ListQuery{Limit: 7})
	if !slices.Equal(got, want) {
		t.Fatalf("%s: the store lists\n%v\nwant\n%v", what, idsOf(got), idsOf(want))
	}
	for _, b := range gone {
		if _, err := e.s.Get(t.Context(), b.ID); err == nil || !isCategory(err, catNotFound) {
			t.Fatalf("%s: Get of removed binding %s: %v; want not found", what, b.ID, err)
		}
	}
}

func isCategory(err error, c category) bool {
	got, _ := categorize(err)
	return got == c
}

// split returns the bindings of all that keep satisfies, and the others.
func split(all []rbac.Binding, keep func(rbac.Binding) bool) (kept, dropped []rbac.Binding) {
	for _, b := range all {
		if keep(b) {
			kept = append(kept, b)
		} else {
			dropped = append(dropped, b)
		}
	}
	return kept, dropped
}

func testCascades(t *testing.T, f Factory) {
	run(t, "DeleteUserBindings removes exactly the user's bindings", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		all := filterSet(t, e)
		kept, gone := split(all, func(b rbac.Binding) bool { return b.UserID != userID(2) })
		n, err := e.s.DeleteUserBindings(ctx, userID(2))
		is.NoErr(err)          // cascade user 2
		is.Equal(n, len(gone)) // the count is the number of user 2's bindings
		remaining(t, e, kept, gone, "after deleting user 2's bindings")

		n, err = e.s.DeleteUserBindings(ctx, userID(2))
		is.NoErr(err)  // cascade user 2 again
		is.Equal(n, 0) // nothing left to delete
		n, err = e.s.DeleteUserBindings(ctx, userID(99))
		is.NoErr(err)  // cascade a user who never had a binding
		is.Equal(n, 0) // no bindings is not an error
		for _, b := range gone {
			mustCreate(t, ctx, e, rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID})
		}
	})

	run(t, "DeleteResourceBindings removes exactly the resource's bindings", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		all := filterSet(t, e)
		// A space with the number and key of project 2: another resource.
		twin := mustCreate(t, ctx, e, nb(1, resource{rbac.Space, spaceWithProjectDigits(2)}, 1))
		all = append(all, twin)

		kept, gone := split(all, func(b rbac.Binding) bool { return b.ResourceID != projectID(2) })
		n, err := e.s.DeleteResourceBindings(ctx, rbac.Project, projectAlias(2))
		is.NoErr(err)          // cascade project 2, spelled with the Project alias
		is.Equal(n, len(gone)) // the count is the number of bindings on project 2
		remaining(t, e, kept, gone, "after deleting project 2's bindings by its Project spelling")

		kept, gone = split(kept, func(b rbac.Binding) bool { return b.ResourceID != spaceID(1) })
		n, err = e.s.DeleteResourceBindings(ctx, rbac.Space, spaceID(1))
		is.NoErr(err)          // cascade space 1
		is.Equal(n, len(gone)) // the count is the number of bindings on space 1
		remaining(t, e, kept, gone, "after deleting space 1's bindings")

		n, err = e.s.DeleteResourceBindings(ctx, rbac.Space, spaceID(1))
		is.NoErr(err)  // cascade space 1 again
		is.Equal(n, 0) // nothing left to delete
		n, err = e.s.DeleteResourceBindings(ctx, rbac.Project, projectID(99))
		is.NoErr(err)  // cascade a project that never had a binding
		is.Equal(n, 0) // no bindings is not an error
		mustCreate(t, ctx, e, nb(1, project(2), 1))
	})

	run(t, "invalid input is rejected and deletes nothing", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		all := filterSet(t, e)
		for _, bad := range badIDs("User", "Role") {
			_, err := e.s.DeleteUserBindings(ctx, bad.id)
			wantInvalid(t, err, "DeleteUserBindings with "+bad.why, "user_id")
		}
		for _, bad := range badIDs("Space", "Model") {
			_, err := e.s.DeleteResourceBindings(ctx, rbac.Space, bad.id)
			wantInvalid(t, err, "DeleteResourceBindings of a SPACE with "+bad.why, "resource_id")
		}
		for _, bad := range badIDs("Model", "Space") {
			_, err := e.s.DeleteResourceBindings(ctx, rbac.Project, bad.id)
			wantInvalid(t, err, "DeleteResourceBindings of a PROJECT with "+bad.why, "resource_id")
		}
		for _, rt := range []rbac.ResourceType{"", "space", "Project", "DATASET"} {
			_, err := e.s.DeleteResourceBindings(ctx, rt, spaceID(1))
			wantInvalid(t, err, "DeleteResourceBindings with resource_type "+string(rt), "resource_type")
		}
		remaining(t, e, all, nil, "after invalid cascades")
	})
}
