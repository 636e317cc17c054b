package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
)

// run runs one named test of a group in parallel with its siblings, each
// with a fresh store.
func run(t *testing.T, name string, f Factory, test func(t *testing.T, e *env)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		test(t, newEnv(t, f))
	})
}

func testCreate(t *testing.T, f Factory) {
	run(t, "returns the full binding", f, func(t *testing.T, e *env) {
		is := is.New(t)
		in := nb(1, project(1), 1)
		b := mustCreate(t, t.Context(), e, in)
		now := rbac.StoreTime(e.clock.Now())
		want := rbac.Binding{ID: b.ID, RoleID: in.RoleID, UserID: in.UserID, ResourceType: in.ResourceType, ResourceID: in.ResourceID, CreatedAt: now, UpdatedAt: now}
		is.Equal(b, want) // the input, a new ID, and created_at == updated_at == the store's clock
		got, err := e.s.Get(t.Context(), b.ID)
		is.NoErr(err)    // get the new binding
		is.Equal(got, b) // a later read returns exactly what create returned
	})

	run(t, "a second binding for one user and resource is a conflict whatever the role", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		first := mustCreate(t, ctx, e, nb(1, project(1), 1))
		e.clock.Advance(time.Minute)
		_, err := e.s.Create(ctx, nb(1, project(1), 1))
		wantCategory(t, err, catConflict, "Create of the same user, resource and role again")
		_, err = e.s.Create(ctx, nb(1, project(1), 2))
		wantCategory(t, err, catConflict, "Create of the same user and resource with another role")
		unchanged(t, e, first)
		all := listAll(t, ctx, e, rbac.ListQuery{})
		is.Equal(idsOf(all), []string{first.ID}) // a conflict writes nothing

		// Other users, other resources, and a space that shares the
		// project's number and key are other slots.
		mustCreate(t, ctx, e, nb(2, project(1), 1))
		mustCreate(t, ctx, e, nb(1, project(2), 1))
		mustCreate(t, ctx, e, nb(1, resource{rbac.Space, spaceWithProjectDigits(1)}, 1))
	})

	run(t, "Project and Model IDs of one project are one slot", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		viaAlias := mustCreate(t, ctx, e, nb(1, resource{rbac.Project, projectAlias(1)}, 1))
		is.Equal(viaAlias.ResourceID, projectID(1)) // a Project:N:K ID is stored and returned as Model:N:K
		_, err := e.s.Create(ctx, nb(1, project(1), 2))
		wantCategory(t, err, catConflict, "Create with the Model ID after the Project ID of one project")

		viaModel := mustCreate(t, ctx, e, nb(2, project(1), 1))
		_, err = e.s.Create(ctx, nb(2, resource{rbac.Project, projectAlias(1)}, 2))
		wantCategory(t, err, catConflict, "Create with the Project ID after the Model ID of one project")

		got, err := e.s.Get(ctx, viaAlias.ID)
		is.NoErr(err)                          // get the binding made with the alias
		is.Equal(got.ResourceID, projectID(1)) // get returns the Model form
		for _, spelling := range []string{projectAlias(1), projectID(1)} {
			all := listAll(t, ctx, e, rbac.ListQuery{ResourceType: rbac.Project, ResourceID: spelling, Limit: 1})
			is.Equal(idsOf(all), []string{viaAlias.ID, viaModel.ID}) // either spelling of the filter finds both bindings
		}
		n, err := e.s.DeleteResourceBindings(ctx, rbac.Project, projectAlias(1))
		is.NoErr(err)  // cascade with the Project spelling
		is.Equal(n, 2) // the cascade with the Project spelling removes the Model bindings
	})

	run(t, "the store validates its input itself", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		good := nb(1, space(1), 1)
		for _, bad := range badIDs("Role", "User") {
			in := good
			in.RoleID = bad.id
			_, err := e.s.Create(ctx, in)
			wantInvalid(t, err, "Create with role_id "+bad.why, "role_id")
		}
		for _, bad := range badIDs("User", "Role") {
			in := good
			in.UserID = bad.id
			_, err := e.s.Create(ctx, in)
			wantInvalid(t, err, "Create with user_id "+bad.why, "user_id")
		}
		for _, bad := range badIDs("Space", "Model") {
			in := good
			in.ResourceID = bad.id
			_, err := e.s.Create(ctx, in)
			wantInvalid(t, err, "Create of a SPACE binding with resource_id "+bad.why, "resource_id")
		}
		for _, bad := range badIDs("Model", "Space") {
			in := nb(1, project(1), 1)
			in.ResourceID = bad.id
			_, err := e.s.Create(ctx, in)
			wantInvalid(t, err, "Create of a PROJECT binding with resource_id "+bad.why, "resource_id")
		}
		for _, rt := range []rbac.ResourceType{"", "space", "Project", "DATASET", " SPACE"} {
			in := good
			in.ResourceType = rt
			_, err := e.s.Create(ctx, in)
			wantInvalid(t, err, "Create with resource_type "+string(rt), "resource_type")
		}
		_, err := e.s.Create(ctx, rbac.NewBinding{})
		wantInvalid(t, err, "Create of an empty binding reports every field at once", "role_id", "user_id", "resource_type", "resource_id")
		_, err = e.s.Create(ctx, rbac.NewBinding{RoleID: userID(1), UserID: roleID(1), ResourceType: "DATASET", ResourceID: "x"})
		wantInvalid(t, err, "Create with four bad fields reports every field at once", "role_id", "user_id", "resource_type", "resource_id")
		if all := listAll(t, ctx, e, rbac.ListQuery{}); len(all) != 0 {
			t.Fatalf("after only invalid creates the store lists %d bindings; want none: invalid input writes nothing", len(all))
		}
	})
}

// spaceWithProjectDigits is a space ID with the number and key of
// projectID(i): another resource, since the type differs.
func spaceWithProjectDigits(i int) string {
	return ids.Encode("Space", strconv.Itoa(i), "p"+strconv.Itoa(i))
}

func testGet(t *testing.T, f Factory) {
	run(t, "returns the stored binding", f, func(t *testing.T, e *env) {
		is := is.New(t)
		a := mustCreate(t, t.Context(), e, nb(1, space(1), 1))
		b := mustCreate(t, t.Context(), e, nb(2, project(1), 2))
		for _, want := range []rbac.Binding{a, b} {
			got, err := e.s.Get(t.Context(), want.ID)
			is.NoErr(err)       // get a stored binding
			is.Equal(got, want) // get returns what create returned
		}
	})

	run(t, "malformed IDs and IDs of other types are invalid", f, func(t *testing.T, e *env) {
		mustCreate(t, t.Context(), e, nb(1, space(1), 1))
		for _, bad := range badIDs("RoleBinding", "Role") {
			_, err := e.s.Get(t.Context(), bad.id)
			wantInvalid(t, err, "Get with "+bad.why, "id")
		}
	})

	run(t, "a well-formed ID that names nothing is not found", f, func(t *testing.T, e *env) {
		mustCreate(t, t.Context(), e, nb(1, space(1), 1))
		_, err := e.s.Get(t.Context(), missingBindingID(1))
		wantCategory(t, err, catNotFound, "Get of a RoleBinding ID that names nothing")
	})
}
