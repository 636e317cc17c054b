package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
)

// listAllRestricted pages through every restricted project at page size
// limit.
func listAllRestricted(t *testing.T, e *env, limit int) []rbac.Restriction {
	t.Helper()
	var all []rbac.Restriction
	q := rbac.RestrictedQuery{Limit: limit}
	for page := 0; ; page++ {
		p, err := e.resources().ListRestricted(t.Context(), q)
		if err != nil {
			t.Fatalf("ListRestricted(%+v), page %d: %v; want success", q, page, err)
		}
		all = append(all, p.Projects...)
		if !p.HasMore {
			return all
		}
		if page > 10000 {
			t.Fatalf("ListRestricted: more than 10000 pages; want paging to end")
		}
		q.Cursor = p.NextCursor
	}
}

func restrictedIDs(rs []rbac.Restriction) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ProjectID
	}
	return out
}

func testResources(t *testing.T, f Factory) {
	run(t, "a project's space is set, read and moved, under either project spelling", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		rs := e.resources()
		is.NoErr(rs.SetProjectSpace(ctx, projectAlias(1), spaceID(1))) // link, spelled with the Project alias
		got, err := rs.ProjectSpace(ctx, projectID(1))
		is.NoErr(err)             // read under the Model spelling
		is.Equal(got, spaceID(1)) // the space it was given
		before := e.revision(t)
		is.NoErr(rs.SetProjectSpace(ctx, projectID(1), spaceID(1))) // the same link again
		unchangedRevision(t, e, before, "setting the link a project already has")
		is.NoErr(rs.SetProjectSpace(ctx, projectID(1), spaceID(2))) // move it
		got, err = rs.ProjectSpace(ctx, projectAlias(1))
		is.NoErr(err)                                               // read under the alias
		is.Equal(got, spaceID(2))                                   // the new space
		is.NoErr(rs.SetProjectSpace(ctx, projectID(2), spaceID(2))) // a second project in the space
		got, err = rs.ProjectSpace(ctx, projectID(2))
		is.NoErr(err)
		is.Equal(got, spaceID(2)) // each project has its own link
	})

	run(t, "a project without a link has no space", f, func(t *testing.T, e *env) {
		_, err := e.resources().ProjectSpace(t.Context(), projectID(9))
		wantCategory(t, err, catNotFound, "ProjectSpace of a project never linked")
	})

	run(t, "malformed IDs are invalid on project_id and space_id and write nothing", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		rs := e.resources()
		before := e.revision(t)
		for _, bad := range badIDs("Model", "Space") {
			wantInvalid(t, rs.SetProjectSpace(ctx, bad.id, spaceID(1)), "SetProjectSpace with a project ID: "+bad.why, "project_id")
			_, err := rs.ProjectSpace(ctx, bad.id)
			wantInvalid(t, err, "ProjectSpace with "+bad.why, "project_id")
			wantInvalid(t, rs.RestrictProject(ctx, bad.id), "RestrictProject with "+bad.why, "project_id")
			wantInvalid(t, rs.UnrestrictProject(ctx, bad.id), "UnrestrictProject with "+bad.why, "project_id")
		}
		for _, bad := range badIDs("Space", "Model") {
			wantInvalid(t, rs.SetProjectSpace(ctx, projectID(1), bad.id), "SetProjectSpace with a space ID: "+bad.why, "space_id")
		}
		wantInvalid(t, rs.SetProjectSpace(ctx, spaceID(1), projectID(1)), "SetProjectSpace with the IDs swapped", "project_id", "space_id")
		unchangedRevision(t, e, before, "invalid resource writes")
		_, err := rs.ProjectSpace(ctx, projectID(1))
		wantCategory(t, err, catNotFound, "ProjectSpace after invalid links")
		if got := listAllRestricted(t, e, 0); len(got) != 0 {
			t.Fatalf("after invalid restrictions the store lists %v; want none", got)
		}
	})

	run(t, "restricting twice is not an error and keeps the first restricted_at", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		rs := e.resources()
		before := e.revision(t)
		is.NoErr(rs.RestrictProject(ctx, projectAlias(1))) // restrict, spelled with the alias
		at := rbac.StoreTime(e.clock.Now())
		e.clock.Advance(time.Minute)
		is.NoErr(rs.RestrictProject(ctx, projectID(1))) // restrict again
		if has(e.raw, capFeed) {
			is.Equal(e.revision(t), before+1) // one change for the two calls
		}
		is.Equal(listAllRestricted(t, e, 0), []rbac.Restriction{{ProjectID: projectID(1), RestrictedAt: at}}) // one restriction, in Model form, from the first call
	})

	run(t, "unrestricting a project that is not restricted is not found", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		rs := e.resources()
		wantCategory(t, rs.UnrestrictProject(ctx, projectID(1)), catNotFound, "UnrestrictProject of a project never restricted")
		is.NoErr(rs.RestrictProject(ctx, projectID(1)))      // restrict
		is.NoErr(rs.UnrestrictProject(ctx, projectAlias(1))) // lift it, spelled with the alias
		wantCategory(t, rs.UnrestrictProject(ctx, projectID(1)), catNotFound, "UnrestrictProject of a project no longer restricted")
		is.Equal(len(listAllRestricted(t, e, 0)), 0) // nothing restricted
	})

	run(t, "restricted projects are listed in the order they were restricted, page by page", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		rs := e.resources()
		order := []int{3, 1, 7, 5, 2, 8, 4}
		var want []string
		for _, p := range order {
			is.NoErr(rs.RestrictProject(ctx, projectID(p)))
			want = append(want, projectID(p))
			e.clock.Advance(time.Second)
		}
		is.NoErr(rs.UnrestrictProject(ctx, projectID(1)))
		is.NoErr(rs.RestrictProject(ctx, projectID(1))) // restricted again: now the newest
		want = append(slices.DeleteFunc(want, func(id string) bool { return id == projectID(1) }), projectID(1))
		for _, limit := range []int{1, 3, 7, 0} {
			if got := restrictedIDs(listAllRestricted(t, e, limit)); !slices.Equal(got, want) {
				t.Fatalf("ListRestricted at page size %d lists %v; want %v", limit, got, want)
			}
		}
		all := listAllRestricted(t, e, 0)
		for i := 1; i < len(all); i++ {
			is.True(all[i].RestrictedAt.After(all[i-1].RestrictedAt)) // restricted_at is each project's own time
		}
	})

	run(t, "a garbled or foreign cursor and a bad limit are invalid", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		rs := e.resources()
		for p := range 3 {
			if err := rs.RestrictProject(ctx, projectID(p+1)); err != nil {
				t.Fatalf("RestrictProject: %v; want success", err)
			}
		}
		p, err := rs.ListRestricted(ctx, rbac.RestrictedQuery{Limit: 1})
		if err != nil || !p.HasMore {
			t.Fatalf("ListRestricted with limit 1: %+v, %v; want a page with more", p, err)
		}
		for _, g := range garble(p.NextCursor) {
			_, err := rs.ListRestricted(ctx, rbac.RestrictedQuery{Cursor: g.cursor})
			wantInvalid(t, err, "ListRestricted with a cursor "+g.why, "cursor")
		}
		for i := range 3 {
			mustCreate(t, ctx, e, nb(i, space(1), 1))
		}
		bp, err := e.s.List(ctx, rbac.ListQuery{Limit: 1})
		if err != nil || !bp.HasMore {
			t.Fatalf("List with limit 1: %+v, %v; want a page with more", bp, err)
		}
		_, err = rs.ListRestricted(ctx, rbac.RestrictedQuery{Cursor: bp.NextCursor})
		wantInvalid(t, err, "ListRestricted with a cursor of a binding list", "cursor")
		_, err = e.s.List(ctx, rbac.ListQuery{Cursor: p.NextCursor})
		wantInvalid(t, err, "List with a cursor of the restricted list", "cursor")
		if has(e.raw, capRoles) {
			_, err = e.roles().ListRoles(ctx, rbac.RoleQuery{Cursor: p.NextCursor})
			wantInvalid(t, err, "ListRoles with a cursor of the restricted list", "cursor")
		}
		for _, limit := range []int{-1, rbac.MaxLimit + 1} {
			_, err := rs.ListRestricted(ctx, rbac.RestrictedQuery{Limit: limit})
			wantInvalid(t, err, "ListRestricted with a limit out of range", "limit")
		}
	})
}
