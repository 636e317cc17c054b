package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/validate"
)

// RunDifferential runs a generated table of calls that fail against one
// store of each factory, every store set up with the same bindings, roles
// and projects at the same clock: bad input for every method, each
// argument alone with every kind of bad value and all arguments at once,
// and every not-found and conflict situation, also those where two rules
// are broken at once (which shows the order of checks). Of every call it
// demands the error the contract asks for, and the same whole error from
// every store: the category, the message (Error()) and every field error
// (field, reason, message), in order. IDs that a store made (of bindings
// and custom roles) are compared by the part they play.
//
// With one factory it checks that store against the contract alone; a
// module with several stores passes them all, so that a difference
// between them is reported as such:
//
//	storetest.RunDifferential(t, map[string]storetest.Factory{
//		"memstore": memFactory, "sqlite": sqliteFactory,
//	})
//
// Calls of [store.RoleStore] and [store.ResourceStore] run on the stores
// that implement them.
func RunDifferential(t *testing.T, factories map[string]Factory) {
	t.Helper()
	if len(factories) == 0 {
		t.Fatal("storetest: RunDifferential needs at least one factory")
	}
	names := make([]string, 0, len(factories))
	for name := range factories {
		names = append(names, name)
	}
	slices.Sort(names)
	t.Logf("storetest: the stores compared: %s", strings.Join(names, ", "))
	subjects := make([]*subject, len(names))
	for i, name := range names {
		e := newEnv(t, factories[name])
		subjects[i] = &subject{name: name, e: e, fx: setUpFixture(t, e)}
	}
	for _, c := range differentialCases() {
		t.Run(c.name, func(t *testing.T) {
			var first *outcome
			var firstName string
			ran := 0
			for _, sub := range subjects {
				if c.needs != "" && !has(sub.e.raw, c.needs) {
					continue
				}
				ran++
				sub.e.tb = t
				err := c.call(t.Context(), sub.e, sub.fx)
				switch want := c.want(sub.fx); w := want.(type) {
				case wantFields:
					if got := fieldsOf(err); !slices.Equal(got, []string(w)) {
						t.Errorf("%s: got %v (fields %v); want invalid input naming exactly %v", sub.name, err, got, []string(w))
					}
				default:
					wantErr, _ := w.(error)
					if d := sameError(err, wantErr); d != "" {
						t.Errorf("%s: %s", sub.name, d)
					}
				}
				o := sub.outcome(err)
				if first == nil {
					first, firstName = &o, sub.name
					continue
				}
				if d := o.diff(first); d != "" {
					t.Errorf("%s and %s differ: %s", firstName, sub.name, d)
				}
			}
			if ran == 0 {
				t.Skipf("no store implements %s", c.needs)
			}
		})
	}
}

// subject is one store of a differential run.
type subject struct {
	name string
	e    *env
	fx   *fixture
}

// fixture is what every store of a differential run holds, by the IDs
// that store gave it.
type fixture struct {
	// bound is user 1's binding on space 1 with fixture role 1; onProject
	// is user 2's on project 1; gone was deleted; custom is a custom role
	// that onCustom (user 3 on space 2) binds; spare is a custom role
	// that nothing binds.
	bound, onProject, onCustom, gone rbac.Binding
	custom, spare                    rbac.Role
	// roleCursor is a cursor of a role list, foreign to the other lists;
	// bindingCursor is one of a binding list of SPACE bindings.
	roleCursor, bindingCursor string
}

// setUpFixture writes the fixture into e's store.
func setUpFixture(t *testing.T, e *env) *fixture {
	t.Helper()
	ctx := t.Context()
	fx := &fixture{}
	fx.bound = mustCreate(t, ctx, e, nb(1, space(1), 1))
	fx.onProject = mustCreate(t, ctx, e, nb(2, project(1), 2))
	fx.gone = mustCreate(t, ctx, e, nb(4, space(3), 1))
	if err := e.s.Delete(ctx, fx.gone.ID); err != nil {
		t.Fatalf("fixture: delete: %v", err)
	}
	mustCreate(t, ctx, e, nb(6, space(2), 2)) // so that a SPACE list has a second page
	p, err := e.s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("fixture: list SPACE bindings with limit 1: %v, cursor %q; want a next page", err, p.NextCursor)
	}
	fx.bindingCursor = p.NextCursor
	if has(e.raw, capRoles) {
		rs := e.roles()
		if fx.custom, err = rs.CreateRole(ctx, rbac.NewRole{Name: "Custom", Permissions: []string{"PROJECT_READ"}}); err != nil {
			t.Fatalf("fixture: create role: %v", err)
		}
		if fx.spare, err = rs.CreateRole(ctx, rbac.NewRole{Name: "Spare", Permissions: []string{"PROJECT_READ"}}); err != nil {
			t.Fatalf("fixture: create role: %v", err)
		}
		in := nb(3, space(2), 1)
		in.RoleID = fx.custom.ID
		fx.onCustom = mustCreate(t, ctx, e, in)
		rp, err := rs.ListRoles(ctx, rbac.RoleQuery{Limit: 1})
		if err != nil || rp.NextCursor == "" {
			t.Fatalf("fixture: list roles with limit 1: %v, cursor %q; want a next page", err, rp.NextCursor)
		}
		fx.roleCursor = rp.NextCursor
	}
	if has(e.raw, capResources) {
		rs := e.resources()
		if err := rs.SetProjectSpace(ctx, projectID(1), spaceID(1)); err != nil {
			t.Fatalf("fixture: set project space: %v", err)
		}
		if err := rs.RestrictProject(ctx, projectID(1)); err != nil {
			t.Fatalf("fixture: restrict project: %v", err)
		}
	}
	return fx
}

// outcome is an error as compared between stores: with the IDs the store
// made replaced by the part they play in the fixture.
type outcome struct {
	cat    category
	text   string
	fields []rbac.FieldError
}

func (sub *subject) outcome(err error) outcome {
	cat, _ := categorize(err)
	o := outcome{cat: cat}
	if err == nil || cat == catInternal {
		// An internal error's text is the store's own business.
		return o
	}
	fx := sub.fx
	r := strings.NewReplacer(
		fx.bound.ID, "{bound}", fx.onProject.ID, "{onProject}", fx.onCustom.ID, "{onCustom}", fx.gone.ID, "{gone}",
		fx.custom.ID, "{custom}", fx.spare.ID, "{spare}",
	)
	if fx.custom.ID == "" {
		r = strings.NewReplacer(fx.bound.ID, "{bound}", fx.onProject.ID, "{onProject}", fx.gone.ID, "{gone}")
	}
	o.text = r.Replace(err.Error())
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			fe.Message = r.Replace(fe.Message)
			o.fields = append(o.fields, fe)
		}
	}
	return o
}

func (o outcome) diff(ref *outcome) string {
	switch {
	case o.cat != ref.cat:
		return fmt.Sprintf("%s against %s", o.cat, ref.cat)
	case o.text != ref.text:
		return fmt.Sprintf("message %q against %q", o.text, ref.text)
	case !slices.Equal(o.fields, ref.fields):
		return fmt.Sprintf("field errors %+v against %+v", o.fields, ref.fields)
	}
	return ""
}

// wantFields is a case's answer when only the fields of an invalid-input
// error are written down: the messages of cursor errors are each store's
// codec's, compared between stores but not with the contract.
type wantFields []string

// differentialCase is one call of the table, and the error it must give.
type differentialCase struct {
	name  string
	needs capability
	call  func(ctx context.Context, e *env, fx *fixture) error
	// want returns the error the contract asks for (compared whole, see
	// sameError), or a wantFields.
	want func(fx *fixture) any
}

// exactly returns a want that does not depend on the fixture.
func exactly(want any) func(*fixture) any { return func(*fixture) any { return want } }

// bad is one kind of bad value for an argument.
type bad[T any] struct {
	why string
	v   T
}

func badIDsOf(typ, other string) []bad[string] {
	var out []bad[string]
	for _, b := range badIDs(typ, other) {
		out = append(out, bad[string]{b.why, b.id})
	}
	return out
}

var (
	badResourceTypes = []bad[rbac.ResourceType]{{"empty", ""}, {"lower case", "space"}, {"unknown", "DATASET"}}
	badLimits        = []bad[int]{{"negative", -1}, {"over the maximum", rbac.MaxLimit + 1}}
	badCursors       = []bad[string]{{"garbage", "not a cursor"}, {"one character", "A"}}
	badRoleNames     = []bad[string]{{"blank", " "}, {"too long", strings.Repeat("n", 1000)}}
	badPermissions   = []bad[[]string]{{"none", []string{}}, {"unknown", []string{"NOT_A_PERMISSION"}}}
)

// pick returns the i-th bad value of list, cycling, so that the "every
// argument bad at once" cases go through every kind of each.
func nth[T any](list []bad[T], i int) bad[T] { return list[i%len(list)] }

// differentialCases generates the table.
func differentialCases() []differentialCase {
	v := validate.Default()
	vocab := perm.DefaultVocabulary()
	var cs []differentialCase
	add := func(name string, needs capability, call func(ctx context.Context, e *env, fx *fixture) error, want func(fx *fixture) any) {
		cs = append(cs, differentialCase{name: name, needs: needs, call: call, want: want})
	}
	bindingIDs, roleIDs, userIDs := badIDsOf("RoleBinding", "Role"), badIDsOf("Role", "User"), badIDsOf("User", "Role")
	spaceIDs, projectIDs := badIDsOf("Space", "Model"), badIDsOf("Model", "Space")
	missingRole := missingRoleID(1)
	stale := clockStart.Add(-time.Hour)

	// Create: each field bad alone, then all four bad at once.
	good := nb(5, space(1), 1)
	createBad := func(name string, in rbac.NewBinding) {
		add("Create/"+name, "", func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.s.Create(ctx, in)
			return err
		}, func(*fixture) any { _, err := v.NewBinding(in); return err })
	}
	for _, b := range roleIDs {
		in := good
		in.RoleID = b.v
		createBad("role_id "+b.why, in)
	}
	for _, b := range userIDs {
		in := good
		in.UserID = b.v
		createBad("user_id "+b.why, in)
	}
	for _, b := range badResourceTypes {
		in := good
		in.ResourceType = b.v
		createBad("resource_type "+b.why, in)
	}
	for _, b := range spaceIDs {
		in := good
		in.ResourceID = b.v
		createBad("resource_id "+b.why, in)
	}
	for i := range len(roleIDs) {
		in := rbac.NewBinding{RoleID: nth(roleIDs, i).v, UserID: nth(userIDs, i+1).v, ResourceType: nth(badResourceTypes, i).v, ResourceID: nth(projectIDs, i+2).v}
		createBad(fmt.Sprintf("every field bad %d", i), in)
	}
	createCase := func(name string, needs capability, in func(fx *fixture) rbac.NewBinding, want func(fx *fixture) any) {
		add("Create/"+name, needs, func(ctx context.Context, e *env, fx *fixture) error {
			_, err := e.s.Create(ctx, in(fx))
			return err
		}, want)
	}
	createCase("a taken slot", "", func(*fixture) rbac.NewBinding { return nb(1, space(1), 2) },
		exactly(conflict(msgSlotTaken(userID(1), rbac.Space, spaceID(1)))))
	createCase("a taken slot named by the Project alias", "", func(*fixture) rbac.NewBinding {
		return rbac.NewBinding{RoleID: roleID(1), UserID: userID(2), ResourceType: rbac.Project, ResourceID: projectAlias(1)}
	}, exactly(conflict(msgSlotTaken(userID(2), rbac.Project, projectID(1)))))
	createCase("a role that does not exist", capRoles, func(*fixture) rbac.NewBinding {
		in := nb(5, space(1), 1)
		in.RoleID = missingRole
		return in
	}, exactly(notFound(msgRoleNotFound(missingRole))))
	createCase("a taken slot and a role that does not exist", capRoles, func(*fixture) rbac.NewBinding {
		in := nb(1, space(1), 1)
		in.RoleID = missingRole
		return in
	}, exactly(notFound(msgRoleNotFound(missingRole))))

	// Get, Delete: bad IDs, then IDs that name nothing.
	byID := map[string]func(ctx context.Context, e *env, id string) error{
		"Get":    func(ctx context.Context, e *env, id string) error { _, err := e.s.Get(ctx, id); return err },
		"Delete": func(ctx context.Context, e *env, id string) error { return e.s.Delete(ctx, id) },
	}
	for _, op := range []string{"Get", "Delete"} {
		call := byID[op]
		for _, b := range bindingIDs {
			add(op+"/id "+b.why, "", func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, b.v) },
				func(*fixture) any { _, err := v.BindingID(b.v); return err })
		}
		add(op+"/an ID never handed out", "", func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, missingBindingID(1)) },
			exactly(notFound(msgBindingNotFound(missingBindingID(1)))))
		add(op+"/a deleted binding", "", func(ctx context.Context, e *env, fx *fixture) error { return call(ctx, e, fx.gone.ID) },
			func(fx *fixture) any { return notFound(msgBindingNotFound(fx.gone.ID)) })
	}

	// ChangeRole.
	changeBad := func(name string, id string, rc rbac.RoleChange) {
		add("ChangeRole/"+name, "", func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.s.ChangeRole(ctx, id, rc)
			return err
		}, func(*fixture) any {
			_, idErr := v.BindingID(id)
			_, rcErr := v.RoleChange(rc)
			return rbac.JoinInvalid(idErr, rcErr)
		})
	}
	for _, b := range bindingIDs {
		changeBad("id "+b.why, b.v, rbac.RoleChange{RoleID: roleID(2)})
	}
	for _, b := range roleIDs {
		changeBad("role_id "+b.why, missingBindingID(1), rbac.RoleChange{RoleID: b.v})
	}
	for i := range len(bindingIDs) {
		changeBad(fmt.Sprintf("id and role_id bad %d", i), nth(bindingIDs, i).v, rbac.RoleChange{RoleID: nth(roleIDs, i+3).v})
	}
	changeCase := func(name string, needs capability, id func(fx *fixture) string, rc func(fx *fixture) rbac.RoleChange, want func(fx *fixture) any) {
		add("ChangeRole/"+name, needs, func(ctx context.Context, e *env, fx *fixture) error {
			_, err := e.s.ChangeRole(ctx, id(fx), rc(fx))
			return err
		}, want)
	}
	boundID := func(fx *fixture) string { return fx.bound.ID }
	changeCase("a binding never handed out", "", func(*fixture) string { return missingBindingID(1) },
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: roleID(2)} },
		exactly(notFound(msgBindingNotFound(missingBindingID(1)))))
	changeCase("a deleted binding and a role that does not exist", capRoles, func(fx *fixture) string { return fx.gone.ID },
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: missingRole} },
		func(fx *fixture) any { return notFound(msgBindingNotFound(fx.gone.ID)) })
	changeCase("a role that does not exist", capRoles, boundID,
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: missingRole} },
		exactly(notFound(msgRoleNotFound(missingRole))))
	changeCase("a stale precondition", "", boundID,
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: roleID(2), IfUpdatedAt: stale} },
		func(fx *fixture) any { return conflict(msgBindingChanged(fx.bound.ID, fx.bound.UpdatedAt, stale)) })
	changeCase("a stale precondition and the role it has", "", boundID,
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: roleID(1), IfUpdatedAt: stale} },
		func(fx *fixture) any { return conflict(msgBindingChanged(fx.bound.ID, fx.bound.UpdatedAt, stale)) })
	changeCase("a stale precondition and a role that does not exist", capRoles, boundID,
		func(*fixture) rbac.RoleChange { return rbac.RoleChange{RoleID: missingRole, IfUpdatedAt: stale} },
		exactly(notFound(msgRoleNotFound(missingRole))))

	// List: each filter bad alone, the limit, the cursor, and together.
	listCase := func(name string, q func(fx *fixture) rbac.ListQuery, want func(fx *fixture) any) {
		add("List/"+name, "", func(ctx context.Context, e *env, fx *fixture) error {
			_, err := e.s.List(ctx, q(fx))
			return err
		}, want)
	}
	listBad := func(name string, q rbac.ListQuery) {
		listCase(name, func(*fixture) rbac.ListQuery { return q }, func(*fixture) any { _, err := v.ListQuery(q); return err })
	}
	for _, b := range userIDs[1:] { // an empty user_id is no filter
		listBad("user_id "+b.why, rbac.ListQuery{ResourceType: rbac.Space, UserID: b.v})
	}
	for _, b := range roleIDs[1:] {
		listBad("role_id "+b.why, rbac.ListQuery{RoleID: b.v})
	}
	for _, b := range badResourceTypes[1:] {
		listBad("resource_type "+b.why, rbac.ListQuery{ResourceType: b.v})
	}
	for _, b := range projectIDs[1:] {
		listBad("resource_id "+b.why, rbac.ListQuery{ResourceType: rbac.Project, ResourceID: b.v})
	}
	listBad("resource_id without resource_type", rbac.ListQuery{ResourceID: spaceID(1)})
	for _, b := range badLimits {
		listBad("limit "+b.why, rbac.ListQuery{ResourceType: rbac.Space, Limit: b.v})
	}
	for i := range len(userIDs) - 1 {
		listBad(fmt.Sprintf("every filter and the limit bad %d", i), rbac.ListQuery{
			UserID: nth(userIDs, i+1).v, RoleID: nth(roleIDs, i+2).v, ResourceType: nth(badResourceTypes, i+1).v,
			ResourceID: nth(spaceIDs, i+1).v, Limit: nth(badLimits, i).v,
		})
	}
	for _, b := range badCursors {
		listCase("cursor "+b.why, func(*fixture) rbac.ListQuery { return rbac.ListQuery{ResourceType: rbac.Space, Cursor: b.v} },
			exactly(wantFields{"cursor"}))
		for _, l := range badLimits {
			listCase("limit "+l.why+" and cursor "+b.why, func(*fixture) rbac.ListQuery {
				return rbac.ListQuery{ResourceType: rbac.Space, Limit: l.v, Cursor: b.v}
			}, exactly(wantFields{"limit", "cursor"}))
		}
		listCase("a bad filter and cursor "+b.why, func(*fixture) rbac.ListQuery {
			return rbac.ListQuery{ResourceType: "DATASET", Cursor: b.v}
		}, exactly(wantFields{"resource_type"}))
	}
	listCase("a cursor of other filters", func(fx *fixture) rbac.ListQuery {
		return rbac.ListQuery{ResourceType: rbac.Project, Cursor: fx.bindingCursor}
	}, exactly(wantFields{"cursor"}))
	listCase("a bad limit and a cursor of other filters", func(fx *fixture) rbac.ListQuery {
		return rbac.ListQuery{UserID: userID(1), Limit: -1, Cursor: fx.bindingCursor}
	}, exactly(wantFields{"limit", "cursor"}))

	// The cascades.
	for _, b := range userIDs {
		add("DeleteUserBindings/user_id "+b.why, "", func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.s.DeleteUserBindings(ctx, b.v)
			return err
		}, func(*fixture) any { _, err := v.UserID(b.v); return err })
	}
	resourceBad := func(name string, rt rbac.ResourceType, id string) {
		add("DeleteResourceBindings/"+name, "", func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.s.DeleteResourceBindings(ctx, rt, id)
			return err
		}, func(*fixture) any { _, err := v.Resource(rt, id); return err })
	}
	for _, b := range badResourceTypes {
		resourceBad("resource_type "+b.why, b.v, spaceID(9))
	}
	for _, b := range projectIDs {
		resourceBad("resource_id "+b.why, rbac.Project, b.v)
	}
	for i := range len(spaceIDs) {
		resourceBad(fmt.Sprintf("both bad %d", i), nth(badResourceTypes, i).v, nth(spaceIDs, i).v)
	}

	// Roles.
	roleIDCall := map[string]func(ctx context.Context, e *env, id string) error{
		"GetRole":    func(ctx context.Context, e *env, id string) error { _, err := e.roles().GetRole(ctx, id); return err },
		"DeleteRole": func(ctx context.Context, e *env, id string) error { return e.roles().DeleteRole(ctx, id) },
		"UpdateRole": func(ctx context.Context, e *env, id string) error {
			name := "Renamed"
			_, err := e.roles().UpdateRole(ctx, id, rbac.RoleUpdate{Name: &name})
			return err
		},
	}
	for _, op := range []string{"GetRole", "UpdateRole", "DeleteRole"} {
		call := roleIDCall[op]
		for _, b := range roleIDs {
			add(op+"/id "+b.why, capRoles, func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, b.v) },
				func(*fixture) any { _, err := v.ID("id", ids.Role, b.v); return err })
		}
		add(op+"/a role that does not exist", capRoles, func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, missingRole) },
			exactly(notFound(msgRoleNotFound(missingRole))))
		if op != "GetRole" {
			add(op+"/a predefined role", capRoles, func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, roleID(1)) },
				exactly(predefinedRole))
		}
	}
	add("DeleteRole/a role with bindings", capRoles, func(ctx context.Context, e *env, fx *fixture) error {
		return e.roles().DeleteRole(ctx, fx.custom.ID)
	}, func(fx *fixture) any { return conflict(msgRoleBound(fx.custom.ID)) })

	roleCreateBad := func(name string, nr rbac.NewRole) {
		add("CreateRole/"+name, capRoles, func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.roles().CreateRole(ctx, nr)
			return err
		}, func(*fixture) any { _, err := v.NewRole(vocab, nr); return err })
	}
	for _, b := range badRoleNames {
		roleCreateBad("name "+b.why, rbac.NewRole{Name: b.v, Permissions: []string{"PROJECT_READ"}})
	}
	for _, b := range badPermissions {
		roleCreateBad("permissions "+b.why, rbac.NewRole{Name: "New", Permissions: b.v})
	}
	for i := range len(badRoleNames) {
		roleCreateBad(fmt.Sprintf("every field bad %d", i), rbac.NewRole{Name: nth(badRoleNames, i).v, Permissions: nth(badPermissions, i+1).v})
	}
	for _, name := range []string{"Custom", "Admin"} {
		add("CreateRole/the name of another role, "+name, capRoles, func(ctx context.Context, e *env, _ *fixture) error {
			_, err := e.roles().CreateRole(ctx, rbac.NewRole{Name: name, Permissions: []string{"PROJECT_READ"}})
			return err
		}, exactly(conflict(msgNameTaken(name))))
	}

	updateCase := func(name string, id func(fx *fixture) string, u rbac.RoleUpdate, want func(fx *fixture) any) {
		add("UpdateRole/"+name, capRoles, func(ctx context.Context, e *env, fx *fixture) error {
			_, err := e.roles().UpdateRole(ctx, id(fx), u)
			return err
		}, want)
	}
	str := func(s string) *string { return &s }
	spare := func(fx *fixture) string { return fx.spare.ID }
	for _, b := range badRoleNames {
		u := rbac.RoleUpdate{Name: str(b.v)}
		updateCase("name "+b.why, spare, u, func(*fixture) any { _, err := v.RoleUpdate(vocab, u); return err })
	}
	for _, b := range badPermissions {
		u := rbac.RoleUpdate{Permissions: b.v}
		updateCase("permissions "+b.why, spare, u, func(*fixture) any { _, err := v.RoleUpdate(vocab, u); return err })
	}
	for i, b := range roleIDs {
		u := rbac.RoleUpdate{Name: str(nth(badRoleNames, i).v), Permissions: nth(badPermissions, i).v}
		updateCase(fmt.Sprintf("id and update bad %d", i), func(*fixture) string { return b.v }, u, func(*fixture) any {
			_, idErr := v.ID("id", ids.Role, b.v)
			_, uErr := v.RoleUpdate(vocab, u)
			return rbac.JoinInvalid(idErr, uErr)
		})
	}
	updateCase("the name of another role", spare, rbac.RoleUpdate{Name: str("Custom")}, exactly(conflict(msgNameTaken("Custom"))))
	updateCase("a stale precondition", spare, rbac.RoleUpdate{Name: str("Other"), IfUpdatedAt: stale},
		func(fx *fixture) any { return conflict(msgRoleChanged(fx.spare.ID, fx.spare.UpdatedAt, stale)) })
	updateCase("a stale precondition and the name of another role", spare, rbac.RoleUpdate{Name: str("Custom"), IfUpdatedAt: stale},
		func(fx *fixture) any { return conflict(msgRoleChanged(fx.spare.ID, fx.spare.UpdatedAt, stale)) })
	updateCase("a stale precondition and no change", spare, rbac.RoleUpdate{Name: str("Spare"), IfUpdatedAt: stale},
		func(fx *fixture) any { return conflict(msgRoleChanged(fx.spare.ID, fx.spare.UpdatedAt, stale)) })
	updateCase("a predefined role and a stale precondition", func(*fixture) string { return roleID(1) },
		rbac.RoleUpdate{Name: str("Other"), IfUpdatedAt: stale}, exactly(predefinedRole))
	updateCase("a role that does not exist and a stale precondition", func(*fixture) string { return missingRole },
		rbac.RoleUpdate{Name: str("Other"), IfUpdatedAt: stale}, exactly(notFound(msgRoleNotFound(missingRole))))

	// The paged lists without filters.
	type pagedList struct {
		name  string
		needs capability
		call  func(ctx context.Context, e *env, limit int, cursor string) error
		// limitErr is what validation says of a limit.
		limitErr func(limit int) error
	}
	for _, l := range []pagedList{
		{"ListRoles", capRoles, func(ctx context.Context, e *env, limit int, cursor string) error {
			_, err := e.roles().ListRoles(ctx, rbac.RoleQuery{Limit: limit, Cursor: cursor})
			return err
		}, func(limit int) error { _, err := v.RoleQuery(rbac.RoleQuery{Limit: limit}); return err }},
		{"ListRestricted", capResources, func(ctx context.Context, e *env, limit int, cursor string) error {
			_, err := e.resources().ListRestricted(ctx, rbac.RestrictedQuery{Limit: limit, Cursor: cursor})
			return err
		}, func(limit int) error { _, err := v.RestrictedQuery(rbac.RestrictedQuery{Limit: limit}); return err }},
	} {
		for _, b := range badLimits {
			add(l.name+"/limit "+b.why, l.needs, func(ctx context.Context, e *env, _ *fixture) error { return l.call(ctx, e, b.v, "") },
				func(*fixture) any { return l.limitErr(b.v) })
			for _, c := range badCursors {
				add(l.name+"/limit "+b.why+" and cursor "+c.why, l.needs, func(ctx context.Context, e *env, _ *fixture) error { return l.call(ctx, e, b.v, c.v) },
					exactly(wantFields{"limit", "cursor"}))
			}
		}
		for _, c := range badCursors {
			add(l.name+"/cursor "+c.why, l.needs, func(ctx context.Context, e *env, _ *fixture) error { return l.call(ctx, e, 0, c.v) },
				exactly(wantFields{"cursor"}))
		}
		add(l.name+"/a cursor of a binding list", l.needs, func(ctx context.Context, e *env, fx *fixture) error { return l.call(ctx, e, 0, fx.bindingCursor) },
			exactly(wantFields{"cursor"}))
	}
	add("ListRestricted/a cursor of the role list", capResources, func(ctx context.Context, e *env, fx *fixture) error {
		cursor := fx.roleCursor
		if cursor == "" { // a store without roles
			cursor = fx.bindingCursor
		}
		_, err := e.resources().ListRestricted(ctx, rbac.RestrictedQuery{Cursor: cursor})
		return err
	}, exactly(wantFields{"cursor"}))
	add("List/a cursor of the role list", capRoles, func(ctx context.Context, e *env, fx *fixture) error {
		_, err := e.s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, Cursor: fx.roleCursor})
		return err
	}, exactly(wantFields{"cursor"}))

	// Resources.
	projectCall := map[string]func(ctx context.Context, e *env, id string) error{
		"ProjectSpace": func(ctx context.Context, e *env, id string) error {
			_, err := e.resources().ProjectSpace(ctx, id)
			return err
		},
		"RestrictProject":   func(ctx context.Context, e *env, id string) error { return e.resources().RestrictProject(ctx, id) },
		"UnrestrictProject": func(ctx context.Context, e *env, id string) error { return e.resources().UnrestrictProject(ctx, id) },
	}
	for _, op := range []string{"ProjectSpace", "RestrictProject", "UnrestrictProject"} {
		call := projectCall[op]
		for _, b := range projectIDs {
			add(op+"/project_id "+b.why, capResources, func(ctx context.Context, e *env, _ *fixture) error { return call(ctx, e, b.v) },
				func(*fixture) any { _, err := v.ID("project_id", ids.Project, b.v); return err })
		}
	}
	add("ProjectSpace/a project without a space, by its alias", capResources, func(ctx context.Context, e *env, _ *fixture) error {
		_, err := e.resources().ProjectSpace(ctx, projectAlias(2))
		return err
	}, exactly(notFound(msgNoProjectSpace(projectID(2)))))
	add("UnrestrictProject/a project that is not restricted, by its alias", capResources, func(ctx context.Context, e *env, _ *fixture) error {
		return e.resources().UnrestrictProject(ctx, projectAlias(2))
	}, exactly(notFound(msgNotRestricted(projectID(2)))))
	setSpaceBad := func(name, project, space string) {
		add("SetProjectSpace/"+name, capResources, func(ctx context.Context, e *env, _ *fixture) error {
			return e.resources().SetProjectSpace(ctx, project, space)
		}, func(*fixture) any {
			_, pErr := v.ID("project_id", ids.Project, project)
			_, sErr := v.ID("space_id", ids.Space, space)
			return rbac.JoinInvalid(pErr, sErr)
		})
	}
	for _, b := range projectIDs {
		setSpaceBad("project_id "+b.why, b.v, spaceID(1))
	}
	for _, b := range spaceIDs {
		setSpaceBad("space_id "+b.why, projectID(2), b.v)
	}
	for i := range len(projectIDs) {
		setSpaceBad(fmt.Sprintf("both bad %d", i), nth(projectIDs, i).v, nth(spaceIDs, i+1).v)
	}
	return cs
}
