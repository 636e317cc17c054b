package check_test

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

var (
	ann, mo, pat, rob, newbie = userID(11), userID(12), userID(13), userID(14), userID(15)
	granter                   = roleID(5) // ROLE_BINDING_CREATE, ROLE_BINDING_DELETE, PROJECT_READ
	creatorOnly               = roleID(6) // ROLE_BINDING_CREATE, PROJECT_READ
)

// guardWorld: ann administers space 1, mo is a member there, pat may grant
// and revoke on project 1 only, rob may only create bindings on project 1.
func guardWorld(t *testing.T, protect bool) (*world, map[string]rbac.Binding) {
	w := newWorld(t, check.Options{ProtectLastAdmin: protect})
	w.role(reader, "Project reader", "PROJECT_READ")
	w.role(granter, "Granter", "ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE", "PROJECT_READ")
	w.role(creatorOnly, "Creator", "ROLE_BINDING_CREATE", "PROJECT_READ")
	w.link(p1, s1)
	w.link(p2, s1)
	w.restrict(p2)
	b := map[string]rbac.Binding{
		"ann":     w.bind(ann, perm.AdminRoleID, rbac.Space, s1),
		"mo":      w.bind(mo, perm.MemberRoleID, rbac.Space, s1),
		"pat":     w.bind(pat, granter, rbac.Project, p1),
		"rob":     w.bind(rob, creatorOnly, rbac.Project, p1),
		"newbie1": w.bind(newbie, reader, rbac.Project, p1),
	}
	return w, b
}

// outcome is what a guard call should give: nil, a denial with a reason
// and missing permissions, or an error category.
type outcome struct {
	deny    check.DenyReason
	missing []string
	err     error
}

func assertOutcome(t *testing.T, err error, want outcome) {
	t.Helper()
	is := is.NewRelaxed(t)
	switch {
	case want.deny != "":
		var d *check.Denied
		is.True(errors.As(err, &d)) // a *check.Denied
		if d == nil {
			t.Fatalf("got %v, want a denial", err)
		}
		is.True(errors.Is(err, rbac.ErrForbidden)) // matches the root package's ErrForbidden, so hosts need no special case
		is.Equal(rbac.HTTPStatus(err), 403)        // and maps to 403 Forbidden
		is.True(!errors.Is(err, rbac.ErrInvalid) && !errors.Is(err, rbac.ErrNotFound) && !errors.Is(err, rbac.ErrConflict))
		is.Equal(d.Reason, want.deny)
		if want.missing != nil {
			is.Equal(d.Missing, want.missing)
		}
		is.True(d.Error() != "")
	case want.err != nil:
		is.True(errors.Is(err, want.err)) // error category
		is.True(!errors.Is(err, rbac.ErrForbidden))
	default:
		is.NoErr(err) // allowed
	}
}

func TestCanCreateBinding(t *testing.T) {
	cases := []struct {
		name  string
		actor string
		nb    rbac.NewBinding
		want  outcome
	}{
		{"a space admin may grant any role on the space", ann,
			rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: newbie, ResourceType: rbac.Space, ResourceID: s1}, outcome{}},
		{"a space admin may grant on the space's projects through inheritance", ann,
			rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: newbie, ResourceType: rbac.Project, ResourceID: projectID(1)}, outcome{}},
		{"a space admin may grant on a restricted project of the space", ann,
			rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: newbie, ResourceType: rbac.Project, ResourceID: p2}, outcome{}},
		{"a member may not grant: Member lacks ROLE_BINDING_CREATE", mo,
			rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: newbie, ResourceType: rbac.Space, ResourceID: s1},
			outcome{deny: check.MissingPermission, missing: []string{"ROLE_BINDING_CREATE"}}},
		{"a project granter may grant a role within what they hold", pat,
			rbac.NewBinding{RoleID: reader, UserID: mo, ResourceType: rbac.Project, ResourceID: p1}, outcome{}},
		{"a project granter may grant their own role", pat,
			rbac.NewBinding{RoleID: granter, UserID: mo, ResourceType: rbac.Project, ResourceID: p1}, outcome{}},
		{"a project granter may not grant a role holding more than they hold", pat,
			rbac.NewBinding{RoleID: perm.AnnotatorRoleID, UserID: mo, ResourceType: rbac.Project, ResourceID: p1},
			outcome{deny: check.Escalation, missing: []string{"QUEUE_READ", "QUEUE_RECORD_ANNOTATE", "QUEUE_RECORD_READ"}}},
		{"a project granter may not grant on a sibling project", pat,
			rbac.NewBinding{RoleID: reader, UserID: mo, ResourceType: rbac.Project, ResourceID: p3},
			outcome{deny: check.MissingPermission, missing: []string{"ROLE_BINDING_CREATE"}}},
		{"a project granter may not grant on the space above", pat,
			rbac.NewBinding{RoleID: reader, UserID: mo, ResourceType: rbac.Space, ResourceID: s1},
			outcome{deny: check.MissingPermission}},
		{"a space member cut off by a restriction may not grant there", mo,
			rbac.NewBinding{RoleID: reader, UserID: newbie, ResourceType: rbac.Project, ResourceID: p2},
			outcome{deny: check.MissingPermission}},
		{"granting a role that does not exist is not found", ann,
			rbac.NewBinding{RoleID: roleID(99), UserID: newbie, ResourceType: rbac.Space, ResourceID: s1}, outcome{err: rbac.ErrNotFound}},
		{"a malformed actor is invalid", "nope",
			rbac.NewBinding{RoleID: reader, UserID: newbie, ResourceType: rbac.Space, ResourceID: s1}, outcome{err: rbac.ErrInvalid}},
		{"a binding with a space ID as a project is invalid", ann,
			rbac.NewBinding{RoleID: reader, UserID: newbie, ResourceType: rbac.Project, ResourceID: s1}, outcome{err: rbac.ErrInvalid}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := guardWorld(t, false)
			assertOutcome(t, w.c.CanCreateBinding(tc.actor, tc.nb), tc.want)
		})
	}
}

func TestCanChangeRole(t *testing.T) {
	cases := []struct {
		name    string
		protect bool
		actor   string
		binding string
		role    string
		want    outcome
	}{
		{"a space admin may change a member to read-only", false, ann, "mo", perm.ReadOnlyRoleID, outcome{}},
		{"changing a role needs ROLE_BINDING_DELETE too", false, rob, "newbie1", reader,
			outcome{deny: check.MissingPermission, missing: []string{"ROLE_BINDING_DELETE"}}},
		{"a member may change nothing: both permissions are missing", false, mo, "newbie1", reader,
			outcome{deny: check.MissingPermission, missing: []string{"ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE"}}},
		{"a project granter may not promote someone past themselves", false, pat, "newbie1", perm.AdminRoleID,
			outcome{deny: check.Escalation}},
		{"a project granter may demote within the project", false, pat, "rob", reader, outcome{}},
		{"changing to a role that does not exist is not found", false, ann, "mo", roleID(99), outcome{err: rbac.ErrNotFound}},
		{"the last space admin may not demote themselves when protected", true, ann, "ann", perm.MemberRoleID,
			outcome{deny: check.LastAdministrator}},
		{"the last space admin may move to another admin-capable role when protected", true, ann, "ann", perm.AdminRoleID, outcome{}},
		{"the last space admin may demote themselves when not protected", false, ann, "ann", perm.MemberRoleID, outcome{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, b := guardWorld(t, tc.protect)
			assertOutcome(t, w.c.CanChangeRole(tc.actor, b[tc.binding], tc.role), tc.want)
		})
	}
}

func TestCanDeleteBinding(t *testing.T) {
	cases := []struct {
		name    string
		protect bool
		actor   string
		binding string
		want    outcome
	}{
		{"a space admin may delete a member's binding", true, ann, "mo", outcome{}},
		{"a member may not delete bindings", false, mo, "newbie1",
			outcome{deny: check.MissingPermission, missing: []string{"ROLE_BINDING_DELETE"}}},
		{"a project granter may delete a binding on the project", false, pat, "newbie1", outcome{}},
		{"a project granter may not delete a binding on the space", false, pat, "mo", outcome{deny: check.MissingPermission}},
		{"the last space admin's binding cannot be deleted when protected", true, ann, "ann", outcome{deny: check.LastAdministrator}},
		{"the last space admin's binding can be deleted when not protected", false, ann, "ann", outcome{}},
		{"protection is per space: project granters are not space admins", true, pat, "pat", outcome{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, b := guardWorld(t, tc.protect)
			assertOutcome(t, w.c.CanDeleteBinding(tc.actor, b[tc.binding]), tc.want)
		})
	}
}

func TestLastAdminProtectionCountsOtherAdmins(t *testing.T) {
	w, b := guardWorld(t, true)
	second := w.bind(newbie, perm.AdminRoleID, rbac.Space, s1)
	assertOutcome(t, w.c.CanDeleteBinding(ann, b["ann"]), outcome{})                 // another admin remains
	assertOutcome(t, w.c.CanChangeRole(ann, second, perm.ReadOnlyRoleID), outcome{}) // either may be demoted
	w.unbind(newbie, s1)
	assertOutcome(t, w.c.CanDeleteBinding(ann, b["ann"]), outcome{deny: check.LastAdministrator}) // alone again
	// A custom role holding ROLE_BINDING_CREATE counts as an admin role.
	w.bind(mo, granter, rbac.Space, s1)
	assertOutcome(t, w.c.CanDeleteBinding(ann, b["ann"]), outcome{})
}
