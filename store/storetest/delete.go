package storetest

import (
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

func testDelete(t *testing.T, f Factory) {
	run(t, "removes the binding and frees its slot", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		other := mustCreate(t, ctx, e, nb(2, project(1), 1))
		is.NoErr(e.s.Delete(ctx, b.ID)) // delete a stored binding
		_, err := e.s.Get(ctx, b.ID)
		wantCategory(t, err, catNotFound, "Get of a deleted binding")
		_, err = e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(2)})
		wantCategory(t, err, catNotFound, "ChangeRole of a deleted binding")
		err = e.s.Delete(ctx, b.ID)
		wantCategory(t, err, catNotFound, "Delete of a binding deleted before")
		unchanged(t, e, other)

		again := mustCreate(t, ctx, e, nb(1, resource{rbac.Project, projectAlias(1)}, 2))
		is.True(again.ID != b.ID) // a new binding in a freed slot gets a new ID
		_, err = e.s.Get(ctx, b.ID)
		wantCategory(t, err, catNotFound, "Get of a deleted binding after its slot was reused")
		all := listAll(t, ctx, e, rbac.ListQuery{})
		is.Equal(idsOf(all), []string{other.ID, again.ID}) // the list has the survivor and the new binding
	})

	run(t, "malformed IDs are invalid and delete nothing", f, func(t *testing.T, e *env) {
		b := mustCreate(t, t.Context(), e, nb(1, space(1), 1))
		for _, bad := range badIDs("RoleBinding", "Role") {
			err := e.s.Delete(t.Context(), bad.id)
			wantInvalid(t, err, "Delete with "+bad.why, "id")
		}
		err := e.s.Delete(t.Context(), missingBindingID(1))
		wantCategory(t, err, catNotFound, "Delete of a RoleBinding ID that names nothing")
		unchanged(t, e, b)
	})

	run(t, "a binding ID is never handed out again", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		seen := map[string]bool{}
		for i := range 100 {
			b := mustCreate(t, ctx, e, nb(1, space(1), 1+i%3))
			if seen[b.ID] {
				t.Fatalf("create %d returned ID %s, which the store handed out before; want a new ID every time", i, b.ID)
			}
			seen[b.ID] = true
			if i%10 == 9 {
				n, err := e.s.DeleteUserBindings(ctx, userID(1))
				is.NoErr(err)  // cascade the user's bindings
				is.Equal(n, 1) // the user has one binding
			} else {
				is.NoErr(e.s.Delete(ctx, b.ID)) // delete the binding just made
			}
		}
	})
}
