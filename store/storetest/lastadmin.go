package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// The last-administrator rule (package store, "The last administrator"),
// on a store made with [Options].ProtectLastAdmin. A store whose factory
// drops the option fails these tests: the rule is part of the contract.

// msgLastAdmin is the rule's conflict message.
func msgLastAdmin(space string) string {
	return "space " + space + " would be left without an administrator"
}

// adminSpaces is how many spaces the races run on.
const adminSpaces = 200

// newProtectedEnv makes a fresh store with the rule on.
func newProtectedEnv(t *testing.T, f Factory) *env {
	t.Helper()
	c := NewClock(clockStart)
	s := f(t, Options{Now: c.Now, Catalogue: Catalogue(), ProtectLastAdmin: true})
	if s == nil {
		t.Fatal("storetest: the factory returned a nil store")
	}
	return &env{tb: t, s: &checked{tb: t, s: s}, raw: s, clock: c}
}

// runProtected runs test as a parallel subtest on a store with the rule
// on.
func runProtected(t *testing.T, name string, f Factory, test func(t *testing.T, e *env)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		test(t, newProtectedEnv(t, f))
	})
}

// adminBinding is a binding on space i with the Admin role.
func adminBinding(user, i int) rbac.NewBinding {
	return rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(user), ResourceType: rbac.Space, ResourceID: spaceID(i)}
}

// spaceAdmins counts the administrators of a space: its bindings whose
// role, as the store holds it now, has ROLE_BINDING_CREATE.
func spaceAdmins(t *testing.T, e *env, space string) int {
	t.Helper()
	n := 0
	for _, b := range listAll(t, t.Context(), e, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: space, Limit: 100}) {
		r, err := e.roles().GetRole(t.Context(), b.RoleID)
		if err != nil {
			t.Fatalf("GetRole(%s): %v", b.RoleID, err)
		}
		if slices.Contains(r.Permissions, perm.RoleBindingCreate) {
			n++
		}
	}
	return n
}

// wantAdminsLeft fails t unless every one of the first n spaces has an
// administrator.
func wantAdminsLeft(t *testing.T, e *env, n int) {
	t.Helper()
	var without []string
	for i := range n {
		if spaceAdmins(t, e, spaceID(i)) == 0 {
			without = append(without, spaceID(i))
		}
	}
	if len(without) > 0 {
		t.Fatalf("%d of %d spaces were left without an administrator (%s ...); want every one to keep one", len(without), n, without[0])
	}
}

// wantLastAdmin fails t unless err is the rule's conflict for space.
func wantLastAdmin(t testing.TB, err error, space, what string) {
	t.Helper()
	wantError(t, err, conflict(msgLastAdmin(space)), what)
}

// adminRolePerms is a custom role that makes its holders administrators,
// and the same without ROLE_BINDING_CREATE.
var (
	adminRolePerms   = []string{perm.RoleBindingCreate, perm.RoleBindingDelete, "SPACE_READ"}
	droppedRolePerms = []string{perm.RoleBindingDelete, "SPACE_READ"}
)

func testLastAdmin(t *testing.T, f Factory) {
	run(t, "without the option, the last administrator can go", f, func(t *testing.T, e *env) {
		is := is.New(t)
		a := mustCreate(t, t.Context(), e, adminBinding(1, 1))
		is.NoErr(e.s.Delete(t.Context(), a.ID)) // the option is off by default
	})

	runProtected(t, "binding deletes and role changes", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		s1 := spaceID(1)
		a := mustCreate(t, ctx, e, adminBinding(1, 1))
		m := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: s1})
		before := e.revision(t)

		wantLastAdmin(t, e.s.Delete(ctx, a.ID), s1, "delete the last administrator")
		_, err := e.s.ChangeRole(ctx, a.ID, rbac.RoleChange{RoleID: perm.MemberRoleID})
		wantLastAdmin(t, err, s1, "change the last administrator to Member")
		unchangedRevision(t, e, before, "refused writes")
		got, err := e.s.Get(ctx, a.ID)
		is.NoErr(err)
		is.Equal(got, a) // refused writes change nothing

		// The order of checks: a missing role (404) and a failed
		// precondition (409) come first; no change is no refusal.
		_, err = e.s.ChangeRole(ctx, a.ID, rbac.RoleChange{RoleID: missingRoleID(1)})
		wantError(t, err, notFound(msgRoleNotFound(missingRoleID(1))), "change the last administrator to a missing role")
		stale := a.UpdatedAt.Add(-1e3)
		_, err = e.s.ChangeRole(ctx, a.ID, rbac.RoleChange{RoleID: perm.MemberRoleID, IfUpdatedAt: stale})
		wantError(t, err, conflict(msgBindingChanged(a.ID, a.UpdatedAt, stale)), "change the last administrator with a stale precondition")
		_, err = e.s.ChangeRole(ctx, a.ID, rbac.RoleChange{RoleID: perm.AdminRoleID})
		is.NoErr(err) // its own role: no change

		// Another role that holds ROLE_BINDING_CREATE keeps it an
		// administrator.
		keeper := mustCreateRole(t, e, "Space keeper", adminRolePerms...)
		e.clock.Advance(1e6)
		_, err = e.s.ChangeRole(ctx, a.ID, rbac.RoleChange{RoleID: keeper.ID})
		is.NoErr(err) // from one administrator's role to another

		// Bindings that are not an administrator's go freely, and so
		// do those of spaces that never had one and of projects.
		is.NoErr(e.s.Delete(ctx, m.ID))
		never := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: userID(3), ResourceType: rbac.Space, ResourceID: spaceID(2)})
		is.NoErr(e.s.Delete(ctx, never.ID)) // a space that never had an administrator
		p := mustCreate(t, ctx, e, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(3), ResourceType: rbac.Project, ResourceID: projectID(1)})
		is.NoErr(e.s.Delete(ctx, p.ID)) // projects are not protected

		// With a second administrator, either can go, not both.
		b := mustCreate(t, ctx, e, adminBinding(4, 1))
		is.NoErr(e.s.Delete(ctx, a.ID))
		wantLastAdmin(t, e.s.Delete(ctx, b.ID), s1, "delete the second administrator too")
		is.Equal(spaceAdmins(t, e, s1), 1)
	})

	runProtected(t, "role updates", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		keeper := mustCreateRole(t, e, "Space keeper", adminRolePerms...)
		mustCreateRole(t, e, "Taken", "SPACE_READ")
		// Spaces 3 and 5 have no other administrator; space 4 has one.
		for _, i := range []int{5, 3, 4} {
			mustCreate(t, ctx, e, rbac.NewBinding{RoleID: keeper.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(i)})
		}
		mustCreate(t, ctx, e, adminBinding(2, 4))
		before := e.revision(t)

		first := min(spaceID(3), spaceID(5)) // by byte order, as the contract says
		_, err := e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: droppedRolePerms})
		wantLastAdmin(t, err, first, "take ROLE_BINDING_CREATE from the role of two spaces' last administrators")
		name := "Taken"
		_, err = e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Name: &name, Permissions: droppedRolePerms})
		wantError(t, err, conflict(msgNameTaken(name)), "a taken name comes before the last administrator")
		unchangedRevision(t, e, before, "refused role updates")
		r, err := e.roles().GetRole(ctx, keeper.ID)
		is.NoErr(err)
		is.Equal(r.Permissions, keeper.Permissions) // unchanged

		// Updates that keep ROLE_BINDING_CREATE are not judged.
		name = "Space warden"
		_, err = e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Name: &name, Permissions: append([]string{"PROJECT_READ"}, adminRolePerms...)})
		is.NoErr(err)

		// Once every space has another administrator, it may go.
		mustCreate(t, ctx, e, adminBinding(2, 3))
		_, err = e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: droppedRolePerms})
		wantLastAdmin(t, err, spaceID(5), "space 5 still relies on the role")
		mustCreate(t, ctx, e, adminBinding(2, 5))
		_, err = e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: droppedRolePerms})
		is.NoErr(err)
		for _, i := range []int{3, 4, 5} {
			is.Equal(spaceAdmins(t, e, spaceID(i)), 1)
		}
	})

	runProtected(t, "cascades are the host deleting a space or a user", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		mustCreate(t, ctx, e, adminBinding(1, 1))
		n, err := e.s.DeleteResourceBindings(ctx, rbac.Space, spaceID(1))
		is.NoErr(err) // the space is gone
		is.Equal(n, 1)
		mustCreate(t, ctx, e, adminBinding(2, 2))
		n, err = e.s.DeleteUserBindings(ctx, userID(2))
		is.NoErr(err) // the user is gone; an account administrator gives the space a new one
		is.Equal(n, 1)
		is.Equal(spaceAdmins(t, e, spaceID(2)), 0)
	})

	// The races: adminSpaces spaces, each with two administrators, and
	// one goroutine per write, released at once.
	runProtected(t, "two administrators removing each other", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		pairs := seedAdmins(t, e, func(i int) [2]rbac.NewBinding {
			return [2]rbac.NewBinding{adminBinding(1, i), adminBinding(2, i)}
		})
		raceSpaces(t, "delete", func(i, side int) error { return e.s.Delete(ctx, pairs[i][side].ID) })
		wantAdminsLeft(t, e, adminSpaces)
	})

	runProtected(t, "a role change racing a delete", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		pairs := seedAdmins(t, e, func(i int) [2]rbac.NewBinding {
			return [2]rbac.NewBinding{adminBinding(1, i), adminBinding(2, i)}
		})
		raceSpaces(t, "change role or delete", func(i, side int) error {
			if side == 0 {
				_, err := e.s.ChangeRole(ctx, pairs[i][0].ID, rbac.RoleChange{RoleID: perm.MemberRoleID})
				return err
			}
			return e.s.Delete(ctx, pairs[i][1].ID)
		})
		wantAdminsLeft(t, e, adminSpaces)
	})

	runProtected(t, "a role update racing deletes and role changes", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		keeper := mustCreateRole(t, e, "Space keeper", adminRolePerms...)
		pairs := seedAdmins(t, e, func(i int) [2]rbac.NewBinding {
			return [2]rbac.NewBinding{
				{RoleID: keeper.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(i)},
				adminBinding(2, i),
			}
		})
		spaces := map[string]bool{}
		for i := range adminSpaces {
			spaces[spaceID(i)] = true
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		// Each space's Admin binding is deleted (even spaces) or changed
		// to Member (odd ones), while goroutines take ROLE_BINDING_CREATE
		// from the custom role and give it back, again and again.
		for i := range adminSpaces {
			wg.Go(func() {
				<-start
				var err error
				if i%2 == 0 {
					err = e.s.Delete(ctx, pairs[i][1].ID)
				} else {
					_, err = e.s.ChangeRole(ctx, pairs[i][1].ID, rbac.RoleChange{RoleID: perm.MemberRoleID})
				}
				if err != nil {
					wantLastAdmin(t, err, spaceID(i), fmt.Sprintf("space %d: remove the Admin binding", i))
				}
			})
		}
		for g := range 4 {
			wg.Go(func() {
				<-start
				for round := range 5 {
					for _, perms := range [][]string{droppedRolePerms, adminRolePerms} {
						_, err := e.roles().UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: perms})
						if err == nil {
							continue
						}
						c, _ := categorize(err)
						space, ok := spaceOf(err)
						if c != catConflict || !ok || !spaces[space] {
							t.Errorf("updater %d, round %d: UpdateRole(%q): %v; want success or %q for one of the spaces", g, round, perms, err, msgLastAdmin("<space>"))
						}
					}
				}
			})
		}
		close(start)
		wg.Wait()
		wantAdminsLeft(t, e, adminSpaces)
	})
}

// spaceOf returns the space a message of the rule names.
func spaceOf(err error) (string, bool) {
	var space string
	if _, scanErr := fmt.Sscanf(err.Error(), "space %s would be left without an administrator", &space); scanErr != nil {
		return "", false
	}
	return space, err.Error() == msgLastAdmin(space)
}

// seedAdmins creates the two bindings of each of the adminSpaces spaces.
func seedAdmins(t *testing.T, e *env, pair func(i int) [2]rbac.NewBinding) [][2]rbac.Binding {
	t.Helper()
	out := make([][2]rbac.Binding, adminSpaces)
	for i := range adminSpaces {
		in := pair(i)
		for side := range 2 {
			out[i][side] = mustCreate(t, t.Context(), e, in[side])
		}
	}
	return out
}

// raceSpaces runs write(i, side) for both sides of every one of the
// adminSpaces spaces, each in a goroutine, released at once, and fails t
// unless, on every space, exactly one succeeded and the other got the
// rule's conflict for that space.
func raceSpaces(t *testing.T, what string, write func(i, side int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([][2]error, adminSpaces)
	)
	for i := range adminSpaces {
		for side := range 2 {
			wg.Go(func() {
				<-start
				errs[i][side] = write(i, side)
			})
		}
	}
	close(start)
	wg.Wait()
	bad := 0
	for i, pair := range errs {
		refused := 0
		for side, err := range pair {
			if err == nil {
				continue
			}
			refused++
			wantLastAdmin(t, err, spaceID(i), fmt.Sprintf("space %d, %s %d", i, what, side))
		}
		if refused != 1 {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: on %d of %d spaces, not exactly one of the two writes was refused", what, bad, adminSpaces)
	}
}
