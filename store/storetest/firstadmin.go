package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// A space's first administrator ([store.FirstAdminCreator]): the check
// that the space has none and the create are one atomic step, on a store
// with the last-administrator rule on or off.

// msgSpaceHasAdmin is the conflict of a first-administrator create on a
// space that has an administrator.
func msgSpaceHasAdmin(space string) string {
	return "space " + space + " already has an administrator"
}

// notAdminRole is the error of a first-administrator create whose role
// lacks ROLE_BINDING_CREATE.
var notAdminRole = rbac.Invalid("role_id", rbac.ReasonInvalid, "the role lacks ROLE_BINDING_CREATE, so it would not make an administrator")

// firstAdmins returns the store's CreateFirstAdmin; the caller has made
// sure the store has it (requireCaps).
func (e *env) firstAdmins() store.FirstAdminCreator { return e.raw.(store.FirstAdminCreator) }

func testFirstAdmin(t *testing.T, f Factory) {
	for _, protect := range []bool{false, true} {
		name := "rule off"
		if protect {
			name = "rule on"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testFirstAdminOn(t, f, protect)
		})
	}
}

func testFirstAdminOn(t *testing.T, f Factory, protect bool) {
	runOn := func(name string, test func(t *testing.T, e *env)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, f)
			if protect {
				e = newProtectedEnv(t, f)
			}
			test(t, e)
		})
	}

	runOn("creates the first and refuses the second", func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		member := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		b, err := e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(1, 1))
		is.NoErr(err) // a space with only a member has no administrator
		got, err := e.s.Get(ctx, b.ID)
		is.NoErr(err)
		is.Equal(got, b) // what CreateFirstAdmin returned is stored
		is.Equal(b.RoleID, perm.AdminRoleID)
		is.Equal(b.UserID, userID(1))
		is.Equal(b.ResourceID, spaceID(1))

		_, err = e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(2, 1))
		wantError(t, err, conflict(msgSpaceHasAdmin(spaceID(1))), "a second first administrator")
		all := listAll(t, ctx, e, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID(1), Limit: 10})
		is.Equal(all, []rbac.Binding{member, b}) // the refused call wrote nothing

		// Once the administrator is gone (with the user: the rule, when
		// on, refuses a delete), the space can have a first one again.
		n, err := e.s.DeleteUserBindings(ctx, userID(1))
		is.NoErr(err)
		is.Equal(n, 1)
		_, err = e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(2, 1))
		is.NoErr(err)
	})

	runOn("a custom administrator role counts", func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		keeper := mustCreateRole(t, e, "Space keeper", adminRolePerms...)
		_, err := e.firstAdmins().CreateFirstAdmin(ctx, rbac.NewBinding{RoleID: keeper.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		is.NoErr(err) // a custom role with ROLE_BINDING_CREATE makes an administrator
		_, err = e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(2, 1))
		wantError(t, err, conflict(msgSpaceHasAdmin(spaceID(1))), "after a custom administrator")
		// Without ROLE_BINDING_CREATE the custom role's holders are no
		// administrators, and the space can have a first one.
		if _, err := e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: droppedRolePerms}); err != nil && !protect {
			t.Fatalf("UpdateRole: %v", err)
		} else if err != nil {
			wantLastAdmin(t, err, spaceID(1), "dropping the only administrator's permission")
			return
		}
		_, err = e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(2, 1))
		is.NoErr(err)
	})

	runOn("refuses in the order of the contract", func(t *testing.T, e *env) {
		ctx := t.Context()
		mustCreate(t, ctx, e, adminBinding(1, 1))
		mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(2)})
		fa := e.firstAdmins()
		// createErr is what Create answers for nb.
		createErr := func(nb rbac.NewBinding) func() error {
			return func() error { _, err := e.raw.Create(ctx, nb); return err }
		}
		for _, c := range []struct {
			what string
			in   rbac.NewBinding
			want func() error
		}{
			{"a project", rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(2), ResourceType: rbac.Project, ResourceID: projectID(1)},
				func() error {
					return rbac.Invalid("resource_type", rbac.ReasonInvalid, "a first administrator is bound to a space, not to a PROJECT")
				}},
			// Every input error at once, in argument order.
			{"a project of another kind of ID, by a malformed user", rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: "nope", ResourceType: rbac.Project, ResourceID: spaceID(1)},
				func() error {
					return rbac.FieldErrors{
						{Field: "user_id", Reason: rbac.ReasonInvalid, Message: fieldMessage(t, e, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: "nope", ResourceType: rbac.Space, ResourceID: spaceID(1)}, "user_id")},
						{Field: "resource_type", Reason: rbac.ReasonInvalid, Message: "a first administrator is bound to a space, not to a PROJECT"},
						{Field: "resource_id", Reason: rbac.ReasonInvalid, Message: fieldMessage(t, e, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(2), ResourceType: rbac.Project, ResourceID: spaceID(1)}, "resource_id")},
					}.Err()
				}},
			// What Create refuses, CreateFirstAdmin refuses with the same
			// error, before anything else.
			{"a malformed user", rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: "nope", ResourceType: rbac.Space, ResourceID: spaceID(1)},
				createErr(rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: "nope", ResourceType: rbac.Space, ResourceID: spaceID(1)})},
			{"a role that does not exist, on a space with an administrator", rbac.NewBinding{RoleID: missingRoleID(1), UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)},
				createErr(rbac.NewBinding{RoleID: missingRoleID(1), UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)})},
			{"a role without ROLE_BINDING_CREATE, on a space with an administrator", rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(1)},
				func() error { return notAdminRole }},
			{"a user who has the space's administrator binding", adminBinding(1, 1),
				func() error { return conflict(msgSpaceHasAdmin(spaceID(1))) }},
			// The space has no administrator, but the user has a binding
			// on it: Create's conflict.
			{"a user who has a binding on a space without an administrator", rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(2)},
				createErr(rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(2)})},
		} {
			want := c.want()
			if cat, _ := categorize(want); cat == catOK || cat == catInternal {
				t.Fatalf("%s: the error to expect is %v", c.what, want)
			}
			_, err := fa.CreateFirstAdmin(ctx, c.in)
			wantError(t, err, want, c.what)
		}
		is.New(t).Equal(len(listAll(t, ctx, e, rbac.ListQuery{Limit: 10})), 2) // nothing refused was written
	})

	runOn("of racing first administrators exactly one wins", func(t *testing.T, e *env) {
		ctx := t.Context()
		// Two users on every space, at once; every space has a member,
		// so the store has the space's key before the race.
		for i := range adminSpaces {
			mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(9), ResourceType: rbac.Space, ResourceID: spaceID(i)})
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			won   [adminSpaces][2]bool
		)
		for i := range adminSpaces {
			for side := range 2 {
				wg.Go(func() {
					<-start
					_, err := e.firstAdmins().CreateFirstAdmin(ctx, adminBinding(1+side, i))
					if err == nil {
						won[i][side] = true
						return
					}
					wantError(t, err, conflict(msgSpaceHasAdmin(spaceID(i))), fmt.Sprintf("space %d, user %d", i, 1+side))
				})
			}
		}
		close(start)
		wg.Wait()
		for i := range adminSpaces {
			if won[i][0] == won[i][1] {
				t.Errorf("space %d: first-administrator creates won %v; want exactly one", i, won[i])
			}
			if n := spaceAdmins(t, e, spaceID(i)); n != 1 {
				t.Errorf("space %d has %d administrators; want 1", i, n)
			}
		}
	})
}

// fieldMessage is the message Create gives for field of nb, which must be
// invalid there.
func fieldMessage(t *testing.T, e *env, nb rbac.NewBinding, field string) string {
	t.Helper()
	_, err := e.raw.Create(t.Context(), nb)
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == field {
				return f.Message
			}
		}
	}
	t.Fatalf("Create(%+v): %v; want an invalid %s", nb, err, field)
	return ""
}
