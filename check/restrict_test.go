package check_test

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

var remy = userID(16) // restricter on project 2, which is restricted

// restrictWorld is guardWorld with remy holding PROJECT_RESTRICT on the
// restricted project 2 and on project 1 (not restricted), and ann
// administering nothing in space 2.
func restrictWorld(t *testing.T) *world {
	w, _ := guardWorld(t, false)
	w.role(restricter, "Restricter", "PROJECT_READ", "PROJECT_RESTRICT")
	w.bind(remy, restricter, rbac.Project, p2)
	w.bind(remy, restricter, rbac.Project, p1)
	w.link(p3, s2)
	return w
}

func TestRestrictionGuard(t *testing.T) {
	const restrict, unrestrict = "restrict", "unrestrict"
	missing := outcome{deny: check.MissingPermission, missing: []string{perm.ProjectRestrict}}
	cases := []struct {
		name    string
		op      string
		actor   string
		project string
		want    outcome
	}{
		{"a space admin may restrict a project of the space", restrict, ann, p1, outcome{}},
		{"a space member may not restrict: Member lacks PROJECT_RESTRICT", restrict, mo, p1, missing},
		{"PROJECT_RESTRICT on the project alone does not restrict it: that takes the space", restrict, remy, p1, missing},
		{"a space admin may not restrict a project of another space", restrict, ann, p3, missing},
		{"a space admin may restrict a restricted project again: the space binding reaches in", restrict, ann, p2, outcome{}},
		{"PROJECT_RESTRICT on a restricted project lets its holder restrict it again", restrict, remy, p2, outcome{}},
		{"a space member cut off by the restriction may not restrict it again", restrict, mo, p2, missing},
		{"nobody may restrict a project that belongs to no space", restrict, ann, p9, outcome{deny: check.NoSpace}},
		{"a project spelled with the alias type name is the same project", restrict, ann, alias, outcome{}},
		{"a space ID as the project is invalid", restrict, ann, s1, outcome{err: rbac.ErrInvalid}},
		{"a malformed actor is invalid", restrict, "nope", p1, outcome{err: rbac.ErrInvalid}},
		{"a space admin may unrestrict: the space binding reaches in", unrestrict, ann, p2, outcome{}},
		{"PROJECT_RESTRICT on the project itself lets its holder unrestrict it", unrestrict, remy, p2, outcome{}},
		{"a space member cut off by the restriction may not unrestrict", unrestrict, mo, p2, missing},
		{"a project granter without PROJECT_RESTRICT may not unrestrict", unrestrict, pat, p2, missing},
		{"unrestricting a project that is not restricted asks the permission all the same", unrestrict, pat, p1, missing},
		{"unrestricting a malformed project is invalid", unrestrict, ann, "p2", outcome{err: rbac.ErrInvalid}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := restrictWorld(t)
			ask := w.c.CanRestrictProject
			if tc.op == unrestrict {
				ask = w.c.CanUnrestrictProject
			}
			assertOutcome(t, ask(tc.actor, tc.project), tc.want)
		})
	}
}

func TestARestrictionDenialSaysWhereThePermissionIsMissing(t *testing.T) {
	is := is.New(t)
	w := restrictWorld(t)
	var d *check.Denied
	is.True(errors.As(w.c.CanRestrictProject(mo, p1), &d)) // refused
	is.Equal(d.Op, "restrict")
	is.Equal(d.ProjectID, p1)                                // the project
	is.Equal(d.ResourceType, rbac.Space)                     // needs the permission on its space
	is.Equal(d.ResourceID, s1)                               // which is space 1
	is.True(errors.As(w.c.CanUnrestrictProject(mo, p2), &d)) // refused
	is.Equal(d.Op, "unrestrict")
	is.Equal(d.ResourceType, rbac.Project) // needs it on the project
	is.Equal(d.ResourceID, p2)
}
