package perm

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rolebind/rbac"
)

// The limits on a role's fields. Names are for people to read in a list,
// so a short cap; descriptions a paragraph.
const (
	MaxRoleName        = 100  // characters, after trimming
	MaxRoleDescription = 1000 // characters
	// MaxRolePermissions bounds the permissions list of one input,
	// repeats included, so that a hostile caller cannot make a validator
	// report a million errors.
	MaxRolePermissions = 1024
)

// The rules of a role's fields live here, once, and package validate (for
// custom roles) and [CheckCatalogue] (for predefined ones) both apply
// them, so a predefined role can never be one a caller could not create.
// Each adds its problems to errs under the field's wire name.

// RoleName checks a role name and returns it trimmed of surrounding white
// space. Rules: valid UTF-8 (the bytes as given: a decoder must not have
// replaced bad sequences by U+FFFD), not blank, no control characters (NUL
// included), at most [MaxRoleName] characters.
func RoleName(errs *rbac.FieldErrors, name string) string {
	if !utf8.ValidString(name) {
		errs.Add("name", rbac.ReasonInvalid, "is not valid UTF-8")
		return name
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs.Add("name", rbac.ReasonRequired, "is required")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs.Add("name", rbac.ReasonInvalid, "must not contain control characters")
	case utf8.RuneCountInString(name) > MaxRoleName:
		errs.Add("name", rbac.ReasonTooLong, fmt.Sprintf("is longer than %d characters", MaxRoleName))
	}
	return name
}

// RoleDescription checks a role description. Rules: valid UTF-8, no NUL
// character (PostgreSQL text cannot hold one, and no store may accept
// what another refuses), at most [MaxRoleDescription] characters. Line
// breaks and tabs are allowed: a description is a paragraph.
func RoleDescription(errs *rbac.FieldErrors, d string) {
	switch {
	case !utf8.ValidString(d):
		errs.Add("description", rbac.ReasonInvalid, "is not valid UTF-8")
	case strings.IndexByte(d, 0) >= 0:
		errs.Add("description", rbac.ReasonInvalid, "must not contain NUL characters")
	case utf8.RuneCountInString(d) > MaxRoleDescription:
		errs.Add("description", rbac.ReasonTooLong, fmt.Sprintf("is longer than %d characters", MaxRoleDescription))
	}
}

// RolePermissions checks a role's permission list against v and returns
// a sorted copy without repeats (repeats are harmless in a set, so they
// are merged rather than rejected); the caller's slice is left alone.
// Rules: at least one permission, at most [MaxRolePermissions] items,
// each in v. Each unknown permission is one problem on field
// "permissions", naming its index in the input.
func (v *Vocabulary) RolePermissions(errs *rbac.FieldErrors, perms []string) []string {
	switch {
	case len(perms) == 0:
		errs.Add("permissions", rbac.ReasonRequired, "must hold at least one permission")
		return perms
	case len(perms) > MaxRolePermissions:
		errs.Add("permissions", rbac.ReasonTooLong, fmt.Sprintf("has more than %d items", MaxRolePermissions))
		return perms
	}
	for i, p := range perms {
		if !v.Has(p) {
			errs.Add("permissions", rbac.ReasonNotSupported, fmt.Sprintf("item %d (%q) is not a known permission", i, p))
		}
	}
	out := slices.Clone(perms)
	slices.Sort(out)
	return slices.Compact(out)
}
