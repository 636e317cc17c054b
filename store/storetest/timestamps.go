package storetest

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

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
