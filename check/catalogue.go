package check

import (
	"fmt"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
)

// The fixed IDs of the default catalogue's roles, in the default ID table
// (type name Role). Their numbers are small, so they can never collide
// with the IDs that stores mint for custom roles, whose numbers are
// 128-bit UUIDs. A host with other type names, or other IDs, builds its own
// catalogue.
var (
	AdminRoleID     = ids.Encode("Role", "1", "Admin")
	MemberRoleID    = ids.Encode("Role", "2", "Member")
	ReadOnlyRoleID  = ids.Encode("Role", "3", "ReadOnly")
	AnnotatorRoleID = ids.Encode("Role", "4", "Annotator")
)

// The permissions the checker and the escalation guard give a meaning to.
// A host vocabulary without them still works: without PROJECT_RESTRICT no
// space binding reaches into a restricted project, and without the
// ROLE_BINDING ones the guard allows no change of access.
const (
	PermProjectRestrict   = "PROJECT_RESTRICT"
	PermRoleBindingCreate = "ROLE_BINDING_CREATE"
	PermRoleBindingDelete = "ROLE_BINDING_DELETE"
)

// DefaultCatalogue returns the predefined roles of CHECKS.md over
// vocabulary v, in this order:
//
//   - Admin: every permission.
//   - Member: every permission except access management: ROLE_BINDING_*,
//     PROJECT_RESTRICT, USER_*, SERVICE_KEY_*, and ORGANIZATION_* and
//     SPACE_* other than their _READ.
//   - Read-only: every *_READ permission.
//   - Annotator: QUEUE_READ, QUEUE_RECORD_READ, QUEUE_RECORD_ANNOTATE.
//
// The rules are applied to the names in v, so a host vocabulary gets the
// same four roles over its own permissions; a role left with no
// permission at all (Annotator over a vocabulary without queues) is left
// out. The roles are new copies: a host may change their IDs, names or
// permissions before passing them to [New].
func DefaultCatalogue(v *Vocabulary) []rbac.Role {
	var admin, member, readOnly, annotator []string
	for _, p := range v.names {
		admin = append(admin, p)
		if memberHas(p) {
			member = append(member, p)
		}
		if strings.HasSuffix(p, "_READ") {
			readOnly = append(readOnly, p)
		}
		switch p {
		case "QUEUE_READ", "QUEUE_RECORD_READ", "QUEUE_RECORD_ANNOTATE":
			annotator = append(annotator, p)
		}
	}
	var out []rbac.Role
	for _, r := range []rbac.Role{
		{ID: AdminRoleID, Name: "Admin", Description: "Every permission.", Permissions: admin},
		{ID: MemberRoleID, Name: "Member", Description: "Every permission except managing access, users, service keys, spaces and the organization.", Permissions: member},
		{ID: ReadOnlyRoleID, Name: "Read-only", Description: "Every read permission.", Permissions: readOnly},
		{ID: AnnotatorRoleID, Name: "Annotator", Description: "Reads annotation queues and annotates their records.", Permissions: annotator},
	} {
		if len(r.Permissions) > 0 {
			r.Predefined = true
			out = append(out, r)
		}
	}
	return out
}

// memberHas says whether the Member role holds p.
func memberHas(p string) bool {
	switch {
	case strings.HasPrefix(p, "ROLE_BINDING_"), p == PermProjectRestrict,
		strings.HasPrefix(p, "USER_"), strings.HasPrefix(p, "SERVICE_KEY_"):
		return false
	case strings.HasPrefix(p, "ORGANIZATION_"), strings.HasPrefix(p, "SPACE_"):
		return strings.HasSuffix(p, "_READ")
	}
	return true
}

// checkCatalogue checks a host catalogue: canonical Role IDs, unique IDs
// and names, at least one permission each, every permission in v.
func checkCatalogue(roles []rbac.Role, v *Vocabulary, t *ids.Table) error {
	seenID := map[string]bool{}
	seenName := map[string]bool{}
	for _, r := range roles {
		c, err := t.Canonical(ids.Role, r.ID)
		if err != nil || c != r.ID {
			return fmt.Errorf("check: catalogue role %q: id %q is not a canonical role id", r.Name, r.ID)
		}
		name := strings.TrimSpace(r.Name)
		switch {
		case name == "" || name != r.Name:
			return fmt.Errorf("check: catalogue role %q: name is blank or not trimmed", r.Name)
		case seenID[r.ID]:
			return fmt.Errorf("check: catalogue role %q: id %q appears twice", r.Name, r.ID)
		case seenName[r.Name]:
			return fmt.Errorf("check: catalogue role name %q appears twice", r.Name)
		case len(r.Permissions) == 0:
			return fmt.Errorf("check: catalogue role %q has no permission", r.Name)
		}
		if _, unknown := v.Set(r.Permissions); len(unknown) > 0 {
			return fmt.Errorf("check: catalogue role %q: permissions not in the vocabulary: %s", r.Name, strings.Join(unknown, ", "))
		}
		seenID[r.ID], seenName[r.Name] = true, true
	}
	return nil
}
