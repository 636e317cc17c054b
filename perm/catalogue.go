package perm

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
// A host vocabulary without them still works: without ProjectRestrict no
// space binding reaches into a restricted project, and without the
// RoleBinding ones the guard allows no change of access.
const (
	ProjectRestrict   = "PROJECT_RESTRICT"
	RoleBindingCreate = "ROLE_BINDING_CREATE"
	RoleBindingDelete = "ROLE_BINDING_DELETE"
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
// permissions before opening a store with them.
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
	case strings.HasPrefix(p, "ROLE_BINDING_"), p == ProjectRestrict,
		strings.HasPrefix(p, "USER_"), strings.HasPrefix(p, "SERVICE_KEY_"):
		return false
	case strings.HasPrefix(p, "ORGANIZATION_"), strings.HasPrefix(p, "SPACE_"):
		return strings.HasSuffix(p, "_READ")
	}
	return true
}

// CheckCatalogue checks a catalogue of predefined roles, as a store is
// opened with it, and returns its roles as stored: IDs canonical, the
// permissions sorted without repeats, Predefined set, timestamps zero (the
// store sets them). It is the one statement of what a catalogue must be,
// which every store applies.
//
// Each role needs a canonical ID of kind Role in table t, and must pass
// the rules of a custom role ([CheckRole]), with one more: its name must
// be given trimmed, since a catalogue is the program's own configuration
// and should say exactly what it means. No two roles may share an ID or a
// name. An empty catalogue is valid. The error, a plain one, names the
// first role at fault: a bad catalogue is a programming error, not input.
func CheckCatalogue(roles []rbac.Role, v *Vocabulary, t *ids.Table) ([]rbac.Role, error) {
	out := make([]rbac.Role, 0, len(roles))
	seenID := make(map[string]bool, len(roles))
	seenName := make(map[string]bool, len(roles))
	for _, r := range roles {
		if c, err := t.Canonical(ids.Role, r.ID); err != nil || c != r.ID {
			return nil, fmt.Errorf("perm: catalogue role %q: id %q is not a canonical role id", r.Name, r.ID)
		}
		var errs rbac.FieldErrors
		name := RoleName(&errs, r.Name)
		RoleDescription(&errs, r.Description)
		perms := v.RolePermissions(&errs, r.Permissions)
		if err := errs.Err(); err != nil {
			return nil, fmt.Errorf("perm: catalogue role %q: %s", r.Name, fieldList(err.(*rbac.ValidationError)))
		}
		switch {
		case name != r.Name:
			return nil, fmt.Errorf("perm: catalogue role %q: name has surrounding white space", r.Name)
		case seenID[r.ID]:
			return nil, fmt.Errorf("perm: catalogue role %q: id %q appears twice", r.Name, r.ID)
		case seenName[name]:
			return nil, fmt.Errorf("perm: catalogue role name %q appears twice", name)
		}
		seenID[r.ID], seenName[name] = true, true
		out = append(out, rbac.Role{ID: r.ID, Name: name, Description: r.Description, Permissions: perms, Predefined: true})
	}
	return out, nil
}

func fieldList(ve *rbac.ValidationError) string {
	parts := make([]string, len(ve.Fields))
	for i, fe := range ve.Fields {
		parts[i] = fe.String()
	}
	return strings.Join(parts, "; ")
}
