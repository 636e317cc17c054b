package rbac

import (
	"encoding/json"
	"time"
)

// Role is a named set of permissions that a binding grants. Predefined
// roles come from a catalogue (package check holds the default one: Admin,
// Member, Read-only, Annotator) and never change; custom roles are created,
// updated and deleted through a role store.
//
// Stores return copies: changing a returned Role changes nothing stored.
type Role struct {
	// ID is a global ID of type Role. Stores set it for custom roles;
	// predefined roles carry the fixed ID of their catalogue.
	ID string
	// Name is unique among all roles, predefined ones included. It is
	// trimmed of surrounding white space and compared byte for byte.
	Name string
	// Description is optional free text.
	Description string
	// Permissions is the role's permission set: at least one permission of
	// the vocabulary, sorted and without duplicates, so that two equal sets
	// compare equal element by element.
	Permissions []string
	// Predefined is true for the roles of the catalogue, which cannot be
	// changed or deleted.
	Predefined bool
	// CreatedAt is set by the store on create and never changes.
	CreatedAt time.Time
	// UpdatedAt is set by the store; it moves forward on every update that
	// changes something.
	UpdatedAt time.Time
}

// roleJSON fixes the wire names and their order.
type roleJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	Predefined  bool     `json:"is_predefined"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// MarshalJSON writes the role with the wire names id, name, description,
// permissions, is_predefined, created_at and updated_at, in that order, all
// present (permissions as [] rather than null when empty), timestamps in
// [TimeLayout].
func (r Role) MarshalJSON() ([]byte, error) {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return json.Marshal(roleJSON{
		ID:          r.ID,
		Name:        r.Name,
		Description: r.Description,
		Permissions: perms,
		Predefined:  r.Predefined,
		CreatedAt:   FormatTime(r.CreatedAt),
		UpdatedAt:   FormatTime(r.UpdatedAt),
	})
}

// UnmarshalJSON reads what MarshalJSON writes, for clients of a host's API.
// It does not validate: input from outside goes through package validate.
func (r *Role) UnmarshalJSON(data []byte) error {
	var w struct {
		roleJSON
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Role{
		ID:          w.ID,
		Name:        w.Name,
		Description: w.Description,
		Permissions: w.Permissions,
		Predefined:  w.Predefined,
		CreatedAt:   w.CreatedAt.UTC(),
		UpdatedAt:   w.UpdatedAt.UTC(),
	}
	return nil
}

// HasPermission reports whether the role's permission set holds p. It
// relies on Permissions being sorted, as every store returns them.
func (r Role) HasPermission(p string) bool {
	lo, hi := 0, len(r.Permissions)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.Permissions[m] < p {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(r.Permissions) && r.Permissions[lo] == p
}

// NewRole is the input to create a custom role: the fields a caller sets.
// The store sets the ID and the timestamps; a created role is never
// predefined.
type NewRole struct {
	Name        string
	Description string
	// Permissions may come in any order and with repeats; validation
	// returns them sorted and deduplicated.
	Permissions []string
}

// RoleUpdate is the input to update a custom role. It is a partial update:
// a field left nil keeps its value, so a caller that renames a role does
// not have to resend its permissions (and cannot accidentally drop one it
// did not know about).
type RoleUpdate struct {
	// Name, when not nil, is the new name.
	Name *string
	// Description, when not nil, is the new description; point at "" to
	// clear it.
	Description *string
	// Permissions, when not nil, is the new permission set. It replaces
	// the old set as a whole: permissions missing from it are removed. A
	// non-nil empty slice is invalid (a role has at least one permission).
	Permissions []string
	// IfUpdatedAt, when not zero, is the UpdatedAt the caller last saw; if
	// the role has changed since, the update fails with [ErrConflict] and
	// nothing is written. Compared at microsecond precision.
	IfUpdatedAt time.Time
}

// Empty reports whether the update changes no field. An empty update is
// valid and changes nothing, as setting a binding's role to the role it has
// changes nothing.
func (u RoleUpdate) Empty() bool {
	return u.Name == nil && u.Description == nil && u.Permissions == nil
}

// RoleQuery selects a page of roles. Roles are listed in creation order,
// the predefined catalogue first.
type RoleQuery struct {
	// Limit is the page size, 1 to [MaxLimit]; 0 means [DefaultLimit].
	Limit int
	// Cursor is the NextCursor of the previous page, or empty for the
	// first page.
	Cursor string
}

// RolePage is one page of roles.
type RolePage struct {
	Roles []Role `json:"roles"`
	// NextCursor fetches the next page; empty when HasMore is false.
	NextCursor string `json:"next_cursor,omitempty"`
	HasMore    bool   `json:"has_more"`
}
