package check_test

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
)

// The places of the scenarios: space 1 holds projects 1 and 2 (2 is
// restricted), space 2 holds project 3, project 9 belongs to no space.
var (
	s1, s2         = spaceID(1), spaceID(2)
	p1, p2, p3, p9 = projectID(1), projectID(2), projectID(3), projectID(9)
	alice, bob     = userID(1), userID(2)
	reader         = roleID(1) // PROJECT_READ
	restricter     = roleID(2) // PROJECT_READ, PROJECT_RESTRICT
	spanWriter     = roleID(3) // PROJECT_SPAN_CREATE
)

func scenarioWorld(t testing.TB) *world {
	w := newWorld(t, check.Options{})
	w.role(reader, "Project reader", "PROJECT_READ")
	w.role(restricter, "Restricter", "PROJECT_READ", "PROJECT_RESTRICT")
	w.role(spanWriter, "Span writer", "PROJECT_SPAN_CREATE")
	w.link(p1, s1)
	w.link(p2, s1)
	w.link(p3, s2)
	w.restrict(p2)
	return w
}

type question struct {
	user string
	perm string
	rt   rbac.ResourceType
	res  string
}

func TestCheckScenarios(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(w *world)
		ask    question
		want   bool
		reason check.Reason
	}{
		{
			name:  "a space binding grants its role's permissions on the space",
			setup: func(w *world) { w.bind(alice, perm.MemberRoleID, rbac.Space, s1) },
			ask:   question{alice, "SPACE_READ", rbac.Space, s1}, want: true, reason: check.Granted,
		},
		{
			name:  "a space binding whose role lacks the permission denies on the space",
			setup: func(w *world) { w.bind(alice, perm.MemberRoleID, rbac.Space, s1) },
			ask:   question{alice, "SPACE_UPDATE", rbac.Space, s1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "a binding on one space grants nothing on another space",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "SPACE_READ", rbac.Space, s2}, want: false, reason: check.NoBinding,
		},
		{
			name:  "a user with no binding at all is denied",
			setup: func(w *world) { w.bind(bob, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "SPACE_READ", rbac.Space, s1}, want: false, reason: check.NoBinding,
		},
		{
			name:  "a project binding grants on the project",
			setup: func(w *world) { w.bind(alice, reader, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p1}, want: true, reason: check.Granted,
		},
		{
			name:  "a project binding grants nothing on its space",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Project, p1) },
			ask:   question{alice, "SPACE_READ", rbac.Space, s1}, want: false, reason: check.NoBinding,
		},
		{
			name:  "a project binding grants nothing on a sibling project",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p3}, want: false, reason: check.NoBinding,
		},
		{
			name:  "a space binding grants on the space's projects",
			setup: func(w *world) { w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p1}, want: true, reason: check.Inherited,
		},
		{
			name:  "a space binding grants nothing on another space's projects",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p3}, want: false, reason: check.NoBinding,
		},
		{
			name: "on a project the project role's permissions count",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p1)
				w.bind(alice, spanWriter, rbac.Space, s1)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: true, reason: check.Granted,
		},
		{
			name: "on a project the space role's permissions count too: the union",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p1)
				w.bind(alice, spanWriter, rbac.Space, s1)
			},
			ask: question{alice, "PROJECT_SPAN_CREATE", rbac.Project, p1}, want: true, reason: check.Inherited,
		},
		{
			name: "a permission neither the project role nor the space role holds is denied",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p1)
				w.bind(alice, spanWriter, rbac.Space, s1)
			},
			ask: question{alice, "PROJECT_DELETE", rbac.Project, p1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name: "a weaker project role does not take away what the space role grants",
			setup: func(w *world) {
				w.bind(alice, perm.AnnotatorRoleID, rbac.Project, p1)
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
			},
			ask: question{alice, "PROJECT_DELETE", rbac.Project, p1}, want: true, reason: check.Inherited,
		},
		{
			name:  "a restricted project cuts off a space member's binding",
			setup: func(w *world) { w.bind(alice, perm.MemberRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p2}, want: false, reason: check.Restricted,
		},
		{
			name:  "a restricted project cuts off even a space role that lacks the permission anyway",
			setup: func(w *world) { w.bind(alice, perm.AnnotatorRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p2}, want: false, reason: check.Restricted,
		},
		{
			name: "a restricted project still counts a binding on the project itself",
			setup: func(w *world) {
				w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
				w.bind(alice, reader, rbac.Project, p2)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p2}, want: true, reason: check.Granted,
		},
		{
			name: "on a restricted project a cut-off space grant is named over a weaker project role",
			setup: func(w *world) {
				w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
				w.bind(alice, reader, rbac.Project, p2)
			},
			ask: question{alice, "PROJECT_UPDATE", rbac.Project, p2}, want: false, reason: check.Restricted,
		},
		{
			name: "on a restricted project a project role without the permission denies",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p2)
			},
			ask: question{alice, "PROJECT_UPDATE", rbac.Project, p2}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "a space administrator reaches into a restricted project",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_UPDATE", rbac.Project, p2}, want: true, reason: check.Inherited,
		},
		{
			name:  "any space role holding PROJECT_RESTRICT reaches in, with only its own permissions",
			setup: func(w *world) { w.bind(alice, restricter, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p2}, want: true, reason: check.Inherited,
		},
		{
			name:  "a space role holding PROJECT_RESTRICT grants no more than it holds",
			setup: func(w *world) { w.bind(alice, restricter, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_UPDATE", rbac.Project, p2}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name: "unrestricting a project lets the space binding reach in again",
			setup: func(w *world) {
				w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
				w.unrestrict(p2)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p2}, want: true, reason: check.Inherited,
		},
		{
			name: "restricting twice is still one restriction",
			setup: func(w *world) {
				w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
				w.restrict(p2)
				w.unrestrict(p2)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p2}, want: true, reason: check.Inherited,
		},
		{
			name:  "a project that belongs to no space inherits nothing",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p9}, want: false, reason: check.NoBinding,
		},
		{
			name: "a project moved to another space inherits from the new space",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s2)
				w.link(p1, s2)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: true, reason: check.Inherited,
		},
		{
			name: "a project moved to another space no longer inherits from the old one",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
				w.link(p1, s2)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.NoBinding,
		},
		{
			name: "changing a binding's role changes the answer",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
				w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1)
			},
			ask: question{alice, "SPACE_UPDATE", rbac.Space, s1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name: "deleting a binding takes its permissions away",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
				w.unbind(alice, s1)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.NoBinding,
		},
		{
			name: "deleting a user's bindings takes everything away",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
				w.bind(alice, perm.AdminRoleID, rbac.Project, p1)
				w.deleteUser(alice)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.NoBinding,
		},
		{
			name: "deleting a space's bindings takes away what it passed to its projects",
			setup: func(w *world) {
				w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
				w.bind(bob, perm.AdminRoleID, rbac.Space, s1)
				w.deleteResource(rbac.Space, s1)
			},
			ask: question{bob, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.NoBinding,
		},
		{
			name: "deleting a project's bindings leaves the space's",
			setup: func(w *world) {
				w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1)
				w.bind(alice, perm.AdminRoleID, rbac.Project, p1)
				w.deleteResource(rbac.Project, p1)
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: true, reason: check.Inherited,
		},
		{
			name: "a role's new permission set applies to every binding to it",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p1)
				w.role(reader, "Project reader", "PROJECT_UPDATE")
			},
			ask: question{alice, "PROJECT_UPDATE", rbac.Project, p1}, want: true, reason: check.Granted,
		},
		{
			name: "a role's new permission set drops what it no longer holds",
			setup: func(w *world) {
				w.bind(alice, reader, rbac.Project, p1)
				w.role(reader, "Project reader", "PROJECT_UPDATE")
			},
			ask: question{alice, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "Admin holds every permission",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "USER_PERMISSION_UPDATE", rbac.Space, s1}, want: true, reason: check.Granted,
		},
		{
			name:  "Member cannot create role bindings",
			setup: func(w *world) { w.bind(alice, perm.MemberRoleID, rbac.Space, s1) },
			ask:   question{alice, "ROLE_BINDING_CREATE", rbac.Space, s1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "Member can create datasets",
			setup: func(w *world) { w.bind(alice, perm.MemberRoleID, rbac.Space, s1) },
			ask:   question{alice, "DATASET_CREATE", rbac.Space, s1}, want: true, reason: check.Granted,
		},
		{
			name:  "Read-only can read",
			setup: func(w *world) { w.bind(alice, perm.ReadOnlyRoleID, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_SPAN_READ", rbac.Project, p1}, want: true, reason: check.Granted,
		},
		{
			name:  "Read-only cannot update",
			setup: func(w *world) { w.bind(alice, perm.ReadOnlyRoleID, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_UPDATE", rbac.Project, p1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "Annotator can annotate queue records",
			setup: func(w *world) { w.bind(alice, perm.AnnotatorRoleID, rbac.Project, p1) },
			ask:   question{alice, "QUEUE_RECORD_ANNOTATE", rbac.Project, p1}, want: true, reason: check.Granted,
		},
		{
			name:  "Annotator cannot read the project",
			setup: func(w *world) { w.bind(alice, perm.AnnotatorRoleID, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.RoleLacksPermission,
		},
		{
			name:  "an unknown user is denied, not an error",
			setup: func(w *world) {},
			ask:   question{userID(777), "PROJECT_READ", rbac.Project, p1}, want: false, reason: check.NoBinding,
		},
		{
			name:  "an unknown resource is denied, not an error",
			setup: func(w *world) { w.bind(alice, perm.AdminRoleID, rbac.Space, s1) },
			ask:   question{alice, "SPACE_READ", rbac.Space, spaceID(777)}, want: false, reason: check.NoBinding,
		},
		{
			name:  "a project spelled with the Project alias is the same project",
			setup: func(w *world) { w.bind(alice, reader, rbac.Project, p1) },
			ask:   question{alice, "PROJECT_READ", rbac.Project, ids.Encode("Project", "1", "")}, want: true, reason: check.Granted,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			w := scenarioWorld(t)
			tc.setup(w)
			q := tc.ask
			got, err := w.c.Check(q.user, q.perm, q.rt, q.res)
			is.NoErr(err)
			is.Equal(got, tc.want) // check
			d, err := w.c.Explain(q.user, q.perm, q.rt, q.res)
			is.NoErr(err)
			is.Equal(d.Allowed, tc.want)                              // explain agrees with check
			is.Equal(d.Reason, tc.reason)                             // reason
			is.Equal(d.Revision, w.rev)                               // decision made at the latest revision
			is.Equal(d.BindingID == "", tc.reason == check.NoBinding) // a binding is named unless there is none
		})
	}
}

func TestExplainNamesTheBindingAndRole(t *testing.T) {
	is := is.New(t)
	w := scenarioWorld(t)
	sb := w.bind(alice, perm.ReadOnlyRoleID, rbac.Space, s1)
	pb := w.bind(alice, reader, rbac.Project, p1)

	d, err := w.c.Explain(alice, "PROJECT_READ", rbac.Project, p1)
	is.NoErr(err)
	is.Equal(d.BindingID, pb.ID) // the project's own binding is preferred
	is.Equal(d.RoleID, reader)
	is.Equal(d.RoleName, "Project reader")
	is.Equal(d.ViaType, rbac.Project)
	is.Equal(d.ViaID, p1)

	d, err = w.c.Explain(alice, "PROJECT_SPAN_READ", rbac.Project, p1)
	is.NoErr(err)
	is.Equal(d.Reason, check.Inherited)
	is.Equal(d.BindingID, sb.ID) // granted through the space
	is.Equal(d.RoleName, "Read-only")
	is.Equal(d.ViaType, rbac.Space)
	is.Equal(d.ViaID, s1)
	is.True(d.String() != "") // printable for an audit log

	d, err = w.c.Explain(alice, "PROJECT_READ", rbac.Project, p2)
	is.NoErr(err)
	is.Equal(d.Reason, check.Restricted)
	is.Equal(d.BindingID, sb.ID) // the cut-off space binding is named
}

func TestCheckInvalidInput(t *testing.T) {
	w := scenarioWorld(t)
	w.bind(alice, perm.AdminRoleID, rbac.Space, s1)
	w.bind(alice, perm.AdminRoleID, rbac.Project, p1)
	cases := []struct {
		name  string
		ask   question
		field string
	}{
		{"an unknown permission is invalid, not a deny", question{alice, "PROJECT_FLY", rbac.Project, p1}, "permission"},
		{"a lower-case permission is invalid", question{alice, "project_read", rbac.Project, p1}, "permission"},
		{"an empty permission is invalid", question{alice, "", rbac.Project, p1}, "permission"},
		{"a malformed user ID is invalid", question{"not-an-id", "PROJECT_READ", rbac.Project, p1}, "user_id"},
		{"an empty user ID is invalid", question{"", "PROJECT_READ", rbac.Project, p1}, "user_id"},
		{"a space ID as the user is invalid", question{s1, "PROJECT_READ", rbac.Project, p1}, "user_id"},
		{"a non-canonical user ID is invalid", question{"VXNlcjoxOmxQZzJ=", "PROJECT_READ", rbac.Project, p1}, "user_id"},
		{"a space ID checked as a project is invalid", question{alice, "PROJECT_READ", rbac.Project, s1}, "resource_id"},
		{"a project ID checked as a space is invalid", question{alice, "SPACE_READ", rbac.Space, p1}, "resource_id"},
		{"an unknown resource type is invalid", question{alice, "SPACE_READ", "ORG", s1}, "resource_type"},
		{"a lower-case resource type is invalid", question{alice, "SPACE_READ", "space", s1}, "resource_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			q := tc.ask
			ok, err := w.c.Check(q.user, q.perm, q.rt, q.res)
			is.True(!ok)
			is.True(errors.Is(err, rbac.ErrInvalid)) // invalid input
			var ve *rbac.ValidationError
			is.True(errors.As(err, &ve))
			is.True(ve.Has(tc.field)) // names the field
			_, err = w.c.Explain(q.user, q.perm, q.rt, q.res)
			is.True(errors.Is(err, rbac.ErrInvalid)) // explain agrees
		})
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	is := is.New(t)
	w := scenarioWorld(t)
	w.bind(alice, perm.MemberRoleID, rbac.Space, s1)
	w.bind(alice, reader, rbac.Project, p2)
	for _, q := range []question{
		{alice, "PROJECT_READ", rbac.Project, p1},   // inherited allow
		{alice, "PROJECT_UPDATE", rbac.Project, p2}, // restricted deny
		{alice, "SPACE_UPDATE", rbac.Space, s1},     // deny
		{bob, "SPACE_READ", rbac.Space, s1},         // unknown user
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := w.c.Check(q.user, q.perm, q.rt, q.res); err != nil {
				t.Fatal(err)
			}
		})
		is.Equal(allocs, 0.0) // no allocation per check
	}
}
