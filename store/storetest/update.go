package storetest

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

func testChangeRole(t *testing.T, f Factory) {
	run(t, "changes only the role and sets updated_at to the clock", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		e.clock.Advance(90*time.Minute + 1500*time.Nanosecond)
		after, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(2)})
		is.NoErr(err) // change the role
		want := b
		want.RoleID = roleID(2)
		want.UpdatedAt = rbac.StoreTime(e.clock.Now())
		is.Equal(after, want) // only role_id changes, and updated_at becomes the store's clock
		unchanged(t, e, after)
	})

	run(t, "setting the role it has changes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		e.clock.Advance(time.Hour)
		after, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(1)})
		is.NoErr(err)      // set the same role
		is.Equal(after, b) // the binding is returned as is, updated_at unchanged
		unchanged(t, e, b)
	})

	run(t, "updated_at never goes backward when the clock steps back", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		prev := b.UpdatedAt
		role := 1
		change := func(what string) rbac.Binding {
			t.Helper()
			role = 3 - role // alternate roles 1 and 2
			after, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(role)})
			if err != nil {
				t.Fatalf("%s: ChangeRole: %v; want success", what, err)
			}
			if !after.UpdatedAt.After(prev) {
				t.Fatalf("%s: updated_at went from %v to %v; want it strictly later after a change of role", what, prev, after.UpdatedAt)
			}
			if after.CreatedAt != b.CreatedAt {
				t.Fatalf("%s: created_at went from %v to %v; want it never to change", what, b.CreatedAt, after.CreatedAt)
			}
			unchanged(t, e, after)
			prev = after.UpdatedAt
			return after
		}
		change("clock standing still")
		change("clock standing still, again")
		e.clock.Advance(-time.Hour)
		change("clock stepped back an hour")
		change("clock stepped back, again")
		e.clock.Advance(-24 * time.Hour)
		change("clock stepped back a day more")
		e.clock.Set(clockStart.Add(time.Hour))
		after := change("clock ahead again")
		is.Equal(after.UpdatedAt, rbac.StoreTime(e.clock.Now())) // once the clock is ahead again, updated_at is the clock
	})

	run(t, "precondition on updated_at", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, project(1), 1))
		e.clock.Advance(time.Minute)
		first, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(2), IfUpdatedAt: b.UpdatedAt})
		is.NoErr(err)                           // a precondition with the current updated_at passes
		is.Equal(first.RoleID, roleID(2))       // the role changed
		is.True(first.UpdatedAt != b.UpdatedAt) // updated_at moved

		e.clock.Advance(time.Minute)
		for _, stale := range []struct {
			what string
			at   time.Time
		}{
			{"updated_at before the last change", b.UpdatedAt},
			{"a microsecond before the current updated_at", first.UpdatedAt.Add(-time.Microsecond)},
			{"a microsecond after the current updated_at", first.UpdatedAt.Add(time.Microsecond)},
		} {
			for _, role := range []int{3, 2} { // a new role, and the role it has
				_, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(role), IfUpdatedAt: stale.at})
				wantCategory(t, err, catConflict, "ChangeRole with a stale precondition ("+stale.what+")")
				unchanged(t, e, first)
			}
		}

		// The precondition is an instant at microsecond precision: another
		// zone or a sub-microsecond remainder names the same updated_at.
		same := first.UpdatedAt.In(time.FixedZone("UTC+5", 5*60*60)).Add(999 * time.Nanosecond)
		kept, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(2), IfUpdatedAt: same})
		is.NoErr(err)         // the current updated_at in another zone with extra nanoseconds passes
		is.Equal(kept, first) // setting the role it has changes nothing
		second, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(3), IfUpdatedAt: same})
		is.NoErr(err)                                             // the current updated_at passes
		is.Equal(second.UpdatedAt, rbac.StoreTime(e.clock.Now())) // updated_at is the clock
		unchanged(t, e, second)
	})

	run(t, "unknown, deleted and malformed bindings", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		gone := mustCreate(t, ctx, e, nb(2, space(1), 1))
		if err := e.s.Delete(ctx, gone.ID); err != nil {
			t.Fatalf("Delete: %v; want success", err)
		}
		_, err := e.s.ChangeRole(ctx, missingBindingID(1), rbac.RoleChange{RoleID: roleID(2)})
		wantCategory(t, err, catNotFound, "ChangeRole of a RoleBinding ID that names nothing")
		_, err = e.s.ChangeRole(ctx, gone.ID, rbac.RoleChange{RoleID: roleID(2), IfUpdatedAt: gone.UpdatedAt})
		wantCategory(t, err, catNotFound, "ChangeRole with a precondition of a deleted binding")
		for _, bad := range badIDs("RoleBinding", "Role") {
			_, err := e.s.ChangeRole(ctx, bad.id, rbac.RoleChange{RoleID: roleID(2)})
			wantInvalid(t, err, "ChangeRole with id "+bad.why, "id")
		}
		for _, bad := range badIDs("Role", "User") {
			_, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: bad.id})
			wantInvalid(t, err, "ChangeRole to role_id "+bad.why, "role_id")
			// Input is checked before the binding is looked up.
			_, err = e.s.ChangeRole(ctx, gone.ID, rbac.RoleChange{RoleID: bad.id})
			wantInvalid(t, err, "ChangeRole of a deleted binding to role_id "+bad.why, "role_id")
		}
		_, err = e.s.ChangeRole(ctx, "", rbac.RoleChange{})
		wantInvalid(t, err, "ChangeRole with neither id nor role_id reports both", "id", "role_id")
		unchanged(t, e, b)
	})
}
