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

func testTimestamps(t *testing.T, f Factory) {
	run(t, "UTC microseconds equal under == across reads", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		e.clock.Set(time.Date(2025, 1, 2, 3, 4, 5, 999999999, time.FixedZone("UTC-7", -7*60*60)))
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		want := time.Date(2025, 1, 2, 10, 4, 5, 999999000, time.UTC)
		is.Equal(b.CreatedAt, want)                // created_at is the clock in UTC, truncated to the microsecond
		is.Equal(b.UpdatedAt, want)                // updated_at equals created_at on create
		is.Equal(b.CreatedAt.Location(), time.UTC) // timestamps are UTC
		got, err := e.s.Get(ctx, b.ID)
		is.NoErr(err)                         // get the binding
		is.True(got.CreatedAt == b.CreatedAt) // get returns created_at equal under ==
		is.True(got.UpdatedAt == b.UpdatedAt) // get returns updated_at equal under ==
		p, err := e.s.List(ctx, rbac.ListQuery{})
		is.NoErr(err)                                   // list the binding
		is.Equal(len(p.Bindings), 1)                    // one binding stored
		is.True(p.Bindings[0].CreatedAt == b.CreatedAt) // list returns created_at equal under ==
		is.True(p.Bindings[0].UpdatedAt == b.UpdatedAt) // list returns updated_at equal under ==
	})

	run(t, "created_at never changes", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		for i, step := range []time.Duration{time.Hour, -3 * time.Hour, time.Microsecond, 0, 24 * time.Hour} {
			e.clock.Advance(step)
			after, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(2 + i%2)})
			is.NoErr(err)                          // change the role
			is.Equal(after.CreatedAt, b.CreatedAt) // created_at is as on create after a change of role
			got, err := e.s.Get(ctx, b.ID)
			is.NoErr(err)                        // get the changed binding
			is.Equal(got.CreatedAt, b.CreatedAt) // the stored created_at is as on create
		}
	})
}

func testCopies(t *testing.T, f Factory) {
	run(t, "changing a returned binding or page changes nothing stored", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		saved := b
		b.RoleID, b.UserID, b.ResourceID = roleID(9), userID(9), projectID(9)
		b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}
		unchanged(t, e, saved)

		got, err := e.s.Get(ctx, saved.ID)
		is.NoErr(err) // get the binding
		got.RoleID = roleID(8)
		unchanged(t, e, saved)

		mustCreate(t, ctx, e, nb(2, project(1), 1))
		p, err := e.s.List(ctx, rbac.ListQuery{Limit: 10})
		is.NoErr(err) // list the bindings
		want := append([]rbac.Binding(nil), p.Bindings...)
		for i := range p.Bindings {
			p.Bindings[i].RoleID = roleID(7)
			p.Bindings[i].UpdatedAt = time.Time{}
		}
		p.Bindings = p.Bindings[:1]
		p2, err := e.s.List(ctx, rbac.ListQuery{Limit: 10})
		is.NoErr(err)               // list again
		is.Equal(p2.Bindings, want) // a listed page is a copy: changing it changes nothing stored

		after, err := e.s.ChangeRole(ctx, saved.ID, rbac.RoleChange{RoleID: roleID(2)})
		is.NoErr(err) // change the role
		after.RoleID = roleID(6)
		got, err = e.s.Get(ctx, saved.ID)
		is.NoErr(err)                   // get the changed binding
		is.Equal(got.RoleID, roleID(2)) // changing ChangeRole's result changes nothing stored
	})
}
