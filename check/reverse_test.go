package check_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

func TestWhoCanExplainsEachGrant(t *testing.T) {
	is := is.New(t)
	w := scenarioWorld(t)
	sb := w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1)
	pb := w.bind(bob, reader, rbac.Project, p1)
	w.bind(userID(3), perm.AnnotatorRoleID, rbac.Project, p1) // cannot read
	w.bind(userID(4), perm.MemberRoleID, rbac.Space, s1)      // cut off from p2

	p, err := w.c.WhoCan("PROJECT_READ", rbac.Project, p1, "", 0)
	is.NoErr(err)
	is.True(!p.HasMore)
	is.Equal(p.Revision, w.rev)
	got := map[string]check.Grant{}
	for _, g := range p.Grants {
		got[g.UserID] = g
	}
	is.Equal(len(got), 3) // alice through the space, bob directly, user 4 through the space
	is.Equal(got[alice].BindingID, sb.ID)
	is.True(got[alice].Inherited)
	is.Equal(got[bob].BindingID, pb.ID)
	is.Equal(got[bob].RoleID, reader)
	is.True(!got[bob].Inherited)

	p, err = w.c.WhoCan("PROJECT_READ", rbac.Project, p2, "", 0)
	is.NoErr(err)
	is.Equal(len(p.Grants), 0) // restricted: neither space binding reaches in
	is.True(p.Grants != nil)   // an empty list, not null

	p, err = w.c.ResourcesFor(alice, "PROJECT_READ", rbac.Project, "", 0)
	is.NoErr(err)
	var res []string
	for _, g := range p.Grants {
		res = append(res, g.ResourceID)
		is.True(g.Inherited)
	}
	is.Equal(res, []string{p1}) // p2 is restricted, p3 is in another space
}

func TestReversePagingNeverCutsOff(t *testing.T) {
	is := is.New(t)
	w := scenarioWorld(t)
	var want []string
	for i := range 23 {
		u := userID(100 + i)
		w.bind(u, perm.ReadOnlyRoleID, rbac.Space, s1)
		want = append(want, u)
	}
	slices.Sort(want)
	for _, limit := range []int{1, 5, 22, 23, 100} {
		got := pageAll(t, func(cursor string) (check.GrantPage, error) {
			return w.c.WhoCan("SPACE_READ", rbac.Space, s1, cursor, limit)
		}, func(g check.Grant) string { return g.UserID })
		is.Equal(got, want) // every user, once, in ID order
	}

	var projects []string
	for i := range 7 {
		p := projectID(200 + i)
		w.link(p, s1)
		projects = append(projects, p)
	}
	projects = append(projects, p1)
	slices.Sort(projects)
	got := pageAll(t, func(cursor string) (check.GrantPage, error) {
		return w.c.ResourcesFor(want[0], "PROJECT_READ", rbac.Project, cursor, 3)
	}, func(g check.Grant) string { return g.ResourceID })
	is.Equal(got, projects) // every project of the space but the restricted one
}

func TestReversePagingWhileWriting(t *testing.T) {
	is := is.New(t)
	w := scenarioWorld(t)
	var stay []string
	for i := range 30 {
		u := userID(100 + i)
		w.bind(u, perm.ReadOnlyRoleID, rbac.Space, s1)
		if i%3 != 0 {
			stay = append(stay, u)
		}
	}
	seen := map[string]int{}
	cursor, gone := "", 0
	for page := 0; ; page++ {
		p, err := w.c.WhoCan("SPACE_READ", rbac.Space, s1, cursor, 4)
		is.NoErr(err)
		for _, g := range p.Grants {
			seen[g.UserID]++
		}
		// Between pages, one of the leaving users goes and a newcomer
		// arrives.
		if gone < 10 {
			w.unbind(userID(100+gone*3), s1)
			gone++
		}
		w.bind(userID(500+page), perm.ReadOnlyRoleID, rbac.Space, s1)
		if !p.HasMore {
			break
		}
		cursor = p.NextCursor
	}
	for _, u := range stay {
		is.Equal(seen[u], 1) // a user who can for the whole paging appears exactly once
	}
	for _, n := range seen {
		is.Equal(n, 1) // nobody appears twice
	}
}

func TestReverseQuestionsRejectBadInput(t *testing.T) {
	w := scenarioWorld(t)
	for i := range 5 {
		w.bind(userID(100+i), perm.ReadOnlyRoleID, rbac.Space, s1)
	}
	first, err := w.c.WhoCan("SPACE_READ", rbac.Space, s1, "", 2)
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	other, err := check.New(check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	garbled := []byte(first.NextCursor)
	garbled[len(garbled)/2] ^= 1
	cases := []struct {
		name  string
		call  func() (check.GrantPage, error)
		field string
	}{
		{"an unknown permission is invalid", func() (check.GrantPage, error) { return w.c.WhoCan("SPACE_FLY", rbac.Space, s1, "", 0) }, "permission"},
		{"a space ID asked as a project is invalid", func() (check.GrantPage, error) { return w.c.WhoCan("SPACE_READ", rbac.Project, s1, "", 0) }, "resource_id"},
		{"a limit over 100 is out of range", func() (check.GrantPage, error) { return w.c.WhoCan("SPACE_READ", rbac.Space, s1, "", 101) }, "limit"},
		{"a negative limit is out of range", func() (check.GrantPage, error) { return w.c.ResourcesFor(alice, "SPACE_READ", rbac.Space, "", -1) }, "limit"},
		{"a garbled cursor is invalid", func() (check.GrantPage, error) { return w.c.WhoCan("SPACE_READ", rbac.Space, s1, string(garbled), 2) }, "cursor"},
		{"a cursor of another question is invalid", func() (check.GrantPage, error) {
			return w.c.WhoCan("SPACE_UPDATE", rbac.Space, s1, first.NextCursor, 2)
		}, "cursor"},
		{"a cursor of another checker's key is invalid", func() (check.GrantPage, error) {
			return other.WhoCan("SPACE_READ", rbac.Space, s1, first.NextCursor, 2)
		}, "cursor"},
		{"a cursor of a who-can question is invalid for resources-for", func() (check.GrantPage, error) {
			return w.c.ResourcesFor(alice, "SPACE_READ", rbac.Space, first.NextCursor, 2)
		}, "cursor"},
		{"a malformed user is invalid", func() (check.GrantPage, error) { return w.c.ResourcesFor("x", "SPACE_READ", rbac.Space, "", 0) }, "user_id"},
		{"a bad resource type is invalid", func() (check.GrantPage, error) { return w.c.ResourcesFor(alice, "SPACE_READ", "ORG", "", 0) }, "resource_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, err := tc.call()
			var ve *rbac.ValidationError
			is.True(errors.As(err, &ve)) // invalid input
			is.True(ve.Has(tc.field))    // names the field
		})
	}
}

func TestCursorsSurviveAcrossCheckersWithOneKey(t *testing.T) {
	is := is.New(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	a := newWorld(t, check.Options{CursorKey: key})
	b := newWorld(t, check.Options{CursorKey: key})
	for i := range 4 {
		a.bind(userID(100+i), perm.ReadOnlyRoleID, rbac.Space, s1)
		b.bind(userID(100+i), perm.ReadOnlyRoleID, rbac.Space, s1)
	}
	first, err := a.c.WhoCan("SPACE_READ", rbac.Space, s1, "", 2)
	is.NoErr(err)
	second, err := b.c.WhoCan("SPACE_READ", rbac.Space, s1, first.NextCursor, 2)
	is.NoErr(err) // processes behind one load balancer share the key
	is.Equal(len(second.Grants), 2)
	is.True(second.Grants[0].UserID > first.Grants[1].UserID)
}
