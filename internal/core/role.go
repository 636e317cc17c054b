package core

import (
	"slices"

	"github.com/rolebind/rbac"
)

// MergeRole applies the partial update u, validated, to the role old and
// returns the role it makes, and whether anything changed. A field of u
// left nil keeps old's value; a permission set replaces the old one
// whole. An update changes nothing when every field it sets equals the
// stored value (permission sets compare as the sorted lists validation
// makes of them): the store then writes nothing and returns old as is.
// UpdatedAt is left to the caller (see [NextUpdate]); next shares nothing
// mutable with old or u.
func MergeRole(old rbac.Role, u rbac.RoleUpdate) (next rbac.Role, changed bool) {
	next = old
	if u.Name != nil {
		next.Name = *u.Name
	}
	if u.Description != nil {
		next.Description = *u.Description
	}
	if u.Permissions != nil {
		next.Permissions = u.Permissions
	}
	changed = next.Name != old.Name || next.Description != old.Description || !slices.Equal(next.Permissions, old.Permissions)
	next.Permissions = slices.Clone(next.Permissions)
	return next, changed
}
