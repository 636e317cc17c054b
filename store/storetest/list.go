package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

// filterSet is a small store with bindings across users, resources and
// roles, created in a known order, for the filter tests.
func filterSet(t *testing.T, e *env) []rbac.Binding {
	t.Helper()
	var made []rbac.Binding
	resources := []resource{space(1), project(1), space(2), project(2)}
	for u := 1; u <= 3; u++ {
		for i, r := range resources {
			if (u+i)%4 == 0 {
				continue // not every user on every resource
			}
			// Step the clock back now and then: order is creation order,
			// not timestamp order.
			if i == 2 {
				e.clock.Advance(-time.Minute)
			}
			made = append(made, mustCreate(t, t.Context(), e, nb(u, r, 1+(u+i)%2)))
		}
	}
	return made
}

// matches reports whether b is selected by q's filters, in the plainest
// terms, for tests to compute what a list must return.
func matches(b rbac.Binding, q rbac.ListQuery) bool {
	resourceID := q.ResourceID
	if q.ResourceType == rbac.Project && resourceID != "" {
		resourceID = canonicalProject(resourceID)
	}
	return (q.ResourceType == "" || b.ResourceType == q.ResourceType) &&
		(q.UserID == "" || b.UserID == q.UserID) &&
		(resourceID == "" || b.ResourceID == resourceID) &&
		(q.RoleID == "" || b.RoleID == q.RoleID)
}

// canonicalProject maps the test's Project alias spellings to Model.
func canonicalProject(id string) string {
	for i := range 1000 {
		if id == projectAlias(i) {
			return projectID(i)
		}
	}
	return id
}

func filterName(q rbac.ListQuery) string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+"="+v)
		}
	}
	add("resource_type", string(q.ResourceType))
	add("user_id", q.UserID)
	add("resource_id", q.ResourceID)
	add("role_id", q.RoleID)
	if len(parts) == 0 {
		return "no filter"
	}
	return strings.Join(parts, " ")
}

// filterQueries returns every combination of the filters the filter set
// can be listed with.
func filterQueries() []rbac.ListQuery {
	resources := []struct {
		rt rbac.ResourceType
		id string
	}{
		{"", ""},
		{rbac.Space, ""},
		{rbac.Project, ""},
		{rbac.Space, spaceID(1)},
		{rbac.Project, projectID(2)},
		{rbac.Project, projectAlias(2)},
		{rbac.Space, spaceID(9)}, // no bindings
	}
	var qs []rbac.ListQuery
	for _, r := range resources {
		for _, u := range []string{"", userID(1), userID(3)} {
			for _, role := range []string{"", roleID(2)} {
				qs = append(qs, rbac.ListQuery{ResourceType: r.rt, ResourceID: r.id, UserID: u, RoleID: role})
			}
		}
	}
	return qs
}

func testList(t *testing.T, f Factory) {
	run(t, "an empty store lists nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		p, err := e.s.List(t.Context(), rbac.ListQuery{})
		is.NoErr(err)                // list an empty store
		is.Equal(len(p.Bindings), 0) // no bindings
		is.Equal(p.HasMore, false)   // nothing more
		is.Equal(p.NextCursor, "")   // no cursor when there is nothing more
	})

	run(t, "every filter alone and combined", f, func(t *testing.T, e *env) {
		all := filterSet(t, e)
		for _, q := range filterQueries() {
			var want []rbac.Binding
			for _, b := range all {
				if matches(b, q) {
					want = append(want, b)
				}
			}
			for _, limit := range []int{2, 100} {
				q.Limit = limit
				got := listAll(t, t.Context(), e, q)
				if !slices.Equal(got, want) {
					t.Fatalf("List with %s, limit %d, returned\n%v\nwant, in creation order,\n%v", filterName(q), limit, idsOf(got), idsOf(want))
				}
			}
		}
	})

	run(t, "creation order, not timestamp order", f, func(t *testing.T, e *env) {
		is := is.New(t)
		var want []string
		for i := range 12 {
			e.clock.Advance(time.Duration(7-i) * time.Hour) // forward, then backward
			want = append(want, mustCreate(t, t.Context(), e, nb(i%4, space(i/4), 1)).ID)
		}
		is.Equal(idsOf(listAll(t, t.Context(), e, rbac.ListQuery{Limit: 5})), want) // the list follows creation order
	})

	run(t, "limit", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		var made []rbac.Binding
		for i := range 120 {
			made = append(made, mustCreate(t, ctx, e, nb(i, space(1), 1)))
		}
		for _, c := range []struct {
			limit, want int
		}{{0, 50}, {1, 1}, {2, 2}, {50, 50}, {99, 99}, {100, 100}} {
			p, err := e.s.List(ctx, rbac.ListQuery{Limit: c.limit})
			if err != nil {
				t.Fatalf("List with limit %d: %v; want success", c.limit, err)
			}
			if len(p.Bindings) != c.want || !p.HasMore {
				t.Fatalf("List with limit %d of 120 bindings: %d bindings, has_more %v; want %d and has_more", c.limit, len(p.Bindings), p.HasMore, c.want)
			}
			is.Equal(p.Bindings, made[:c.want]) // the first page holds the first bindings created
		}
		for _, limit := range []int{-1, 101, -100, 1000} {
			_, err := e.s.List(ctx, rbac.ListQuery{Limit: limit})
			wantInvalid(t, err, fmt.Sprintf("List with limit %d", limit), "limit")
		}
		p, err := e.s.List(ctx, rbac.ListQuery{Limit: 100})
		is.NoErr(err) // first page of 100
		p, err = e.s.List(ctx, rbac.ListQuery{Limit: 100, Cursor: p.NextCursor})
		is.NoErr(err)                    // second page of 100
		is.Equal(p.Bindings, made[100:]) // the second page holds the rest
		is.Equal(p.HasMore, false)       // nothing more after the last page
		is.Equal(p.NextCursor, "")       // no cursor after the last page
	})

	run(t, "has_more and next_cursor when the last page is exactly full", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		var made []rbac.Binding
		for i := range 10 {
			made = append(made, mustCreate(t, ctx, e, nb(i, project(1), 1)))
		}
		p, err := e.s.List(ctx, rbac.ListQuery{Limit: 10})
		is.NoErr(err)              // one exactly full page
		is.Equal(p.Bindings, made) // every binding
		is.Equal(p.HasMore, false) // has_more is false when the only page is exactly full
		is.Equal(p.NextCursor, "") // no next_cursor when has_more is false
		p, err = e.s.List(ctx, rbac.ListQuery{Limit: 5})
		is.NoErr(err)                  // first of two full pages
		is.Equal(p.Bindings, made[:5]) // the first five
		is.True(p.HasMore)             // more to come
		p, err = e.s.List(ctx, rbac.ListQuery{Limit: 5, Cursor: p.NextCursor})
		is.NoErr(err)                  // second of two full pages
		is.Equal(p.Bindings, made[5:]) // the last five
		is.Equal(p.HasMore, false)     // has_more is false when the last page is exactly full
		is.Equal(p.NextCursor, "")     // no next_cursor when has_more is false
	})

	run(t, "bad filters are invalid", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustCreate(t, ctx, e, nb(1, space(1), 1))
		for _, bad := range badIDs("User", "Role") {
			if bad.id == "" {
				continue // an empty filter is no filter
			}
			_, err := e.s.List(ctx, rbac.ListQuery{UserID: bad.id})
			wantInvalid(t, err, "List with user_id filter "+bad.why, "user_id")
		}
		for _, bad := range badIDs("Role", "User") {
			if bad.id == "" {
				continue
			}
			_, err := e.s.List(ctx, rbac.ListQuery{RoleID: bad.id})
			wantInvalid(t, err, "List with role_id filter "+bad.why, "role_id")
		}
		for _, bad := range badIDs("Space", "Model") {
			if bad.id == "" {
				continue
			}
			_, err := e.s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: bad.id})
			wantInvalid(t, err, "List with SPACE resource_id filter "+bad.why, "resource_id")
		}
		for _, rt := range []rbac.ResourceType{"space", "Project", "DATASET"} {
			_, err := e.s.List(ctx, rbac.ListQuery{ResourceType: rt})
			wantInvalid(t, err, "List with resource_type filter "+string(rt), "resource_type")
		}
		_, err := e.s.List(ctx, rbac.ListQuery{ResourceID: spaceID(1)})
		wantInvalid(t, err, "List with a resource_id filter but no resource_type", "resource_type")
		_, err = e.s.List(ctx, rbac.ListQuery{UserID: roleID(1), RoleID: userID(1), Limit: 500})
		wantInvalid(t, err, "List with three bad filters reports them all", "user_id", "role_id", "limit")
	})

	run(t, "cursors", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		var made []rbac.Binding
		for i := range 6 {
			made = append(made, mustCreate(t, ctx, e, nb(1+i%2, project(1+i/2), 1)))
		}
		q := rbac.ListQuery{ResourceType: rbac.Project, UserID: userID(1), Limit: 1}
		p, err := e.s.List(ctx, q)
		is.NoErr(err)      // first page
		is.True(p.HasMore) // more to come
		cursor := p.NextCursor

		for _, g := range garble(cursor) {
			_, err := e.s.List(ctx, rbac.ListQuery{ResourceType: rbac.Project, UserID: userID(1), Limit: 1, Cursor: g.cursor})
			wantInvalid(t, err, "List with a cursor "+g.why, "cursor")
		}
		for _, other := range []rbac.ListQuery{
			{},
			{ResourceType: rbac.Project},
			{ResourceType: rbac.Space, UserID: userID(1)},
			{ResourceType: rbac.Project, UserID: userID(2)},
			{ResourceType: rbac.Project, UserID: userID(1), RoleID: roleID(1)},
			{ResourceType: rbac.Project, UserID: userID(1), ResourceID: projectID(1)},
		} {
			other.Cursor, other.Limit = cursor, 1
			_, err := e.s.List(ctx, other)
			wantInvalid(t, err, "List with "+filterName(other)+" and a cursor made for "+filterName(q), "cursor")
		}

		q.Cursor, q.Limit = cursor, 10
		p, err = e.s.List(ctx, q)
		is.NoErr(err)                                          // a cursor works with another limit
		is.Equal(p.Bindings, []rbac.Binding{made[2], made[4]}) // the rest of user 1's bindings

		// Two spellings of one project filter are one filter.
		q = rbac.ListQuery{ResourceType: rbac.Project, ResourceID: projectID(1), Limit: 1}
		p, err = e.s.List(ctx, q)
		is.NoErr(err) // first page filtered by the Model spelling
		q.ResourceID, q.Cursor = projectAlias(1), p.NextCursor
		p, err = e.s.List(ctx, q)
		is.NoErr(err)                                 // the cursor continues with the Project spelling of the same filter
		is.Equal(p.Bindings, []rbac.Binding{made[1]}) // the second binding on project 1
	})
}

// garble returns spellings of a cursor that a tamper-evident cursor
// rejects.
func garble(cursor string) []struct{ why, cursor string } {
	mid := len(cursor) / 2
	flip := func(i int) string {
		b := []byte(cursor)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	return []struct{ why, cursor string }{
		{"with its first character changed", flip(0)},
		{"with a middle character changed", flip(mid)},
		{"with its last character changed", flip(len(cursor) - 1)},
		{"cut short", cursor[:len(cursor)-1]},
		{"with a character added", cursor + "A"},
		{"doubled", cursor + cursor},
		{"that is not a cursor at all", "not a cursor"},
		{"of one character", "A"},
	}
}

func testPaging(t *testing.T, f Factory) {
	run(t, "every page size returns every binding exactly once", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		var want []string
		for i := range 237 {
			r := space(i % 3)
			if i%2 == 1 {
				r = project(i % 5)
			}
			want = append(want, mustCreate(t, ctx, e, nb(i, r, 1+i%4)).ID)
		}
		for _, size := range []int{1, 2, 5, 53, 100} {
			got := idsOf(listAll(t, ctx, e, rbac.ListQuery{Limit: size}))
			if len(got) != len(want) {
				t.Fatalf("paging at size %d returned %d bindings; want all %d", size, len(got), len(want))
			}
			is.Equal(got, want) // every binding once, in creation order
		}
	})
}
