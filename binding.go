package rbac

import (
	"encoding/json"
	"time"
)

// ResourceType names the kind of resource a binding grants a role on.
type ResourceType string

// The resource types. The wire spelling is exactly these upper-case words.
const (
	// Space is a space: a set of projects.
	Space ResourceType = "SPACE"
	// Project is a project; its IDs use the type name Model.
	Project ResourceType = "PROJECT"
)

// Valid reports whether rt is one of the known resource types.
func (rt ResourceType) Valid() bool { return rt == Space || rt == Project }

// TimeLayout is how timestamps are written: UTC, RFC 3339, always six
// fractional digits. Stores keep microseconds, so a fixed width makes every
// store print the same bytes for the same instant.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Binding grants one role to one user on one resource. At most one binding
// exists per (user, resource); to change a user's role, change the binding.
//
// Stores return copies: changing a returned Binding changes nothing stored.
type Binding struct {
	// ID is set by the store: a global ID of type RoleBinding, never reused.
	ID string
	// RoleID is the granted role: a global ID of type Role.
	RoleID string
	// UserID is the grantee: a global ID of type User.
	UserID string
	// ResourceType is Space or Project.
	ResourceType ResourceType
	// ResourceID is the resource, a global ID whose type matches
	// ResourceType. Projects are stored in their canonical Model form.
	ResourceID string
	// CreatedAt is set by the store on create and never changes.
	CreatedAt time.Time
	// UpdatedAt is set by the store; it moves forward when the role changes.
	UpdatedAt time.Time
}

// bindingJSON fixes the wire names and their order.
type bindingJSON struct {
	ID           string       `json:"id"`
	RoleID       string       `json:"role_id"`
	UserID       string       `json:"user_id"`
	ResourceType ResourceType `json:"resource_type"`
	ResourceID   string       `json:"resource_id"`
	CreatedAt    string       `json:"created_at"`
	UpdatedAt    string       `json:"updated_at"`
}

// MarshalJSON writes the binding with the wire names of the public API, in
// their documented order, all present, timestamps in [TimeLayout].
func (b Binding) MarshalJSON() ([]byte, error) {
	return json.Marshal(bindingJSON{
		ID:           b.ID,
		RoleID:       b.RoleID,
		UserID:       b.UserID,
		ResourceType: b.ResourceType,
		ResourceID:   b.ResourceID,
		CreatedAt:    FormatTime(b.CreatedAt),
		UpdatedAt:    FormatTime(b.UpdatedAt),
	})
}

// UnmarshalJSON reads what MarshalJSON writes, for clients of a host's API.
// It does not validate: input from outside goes through package validate.
func (b *Binding) UnmarshalJSON(data []byte) error {
	var w struct {
		bindingJSON
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = Binding{
		ID:           w.ID,
		RoleID:       w.RoleID,
		UserID:       w.UserID,
		ResourceType: w.ResourceType,
		ResourceID:   w.ResourceID,
		CreatedAt:    w.CreatedAt.UTC(),
		UpdatedAt:    w.UpdatedAt.UTC(),
	}
	return nil
}

// FormatTime writes t in UTC with [TimeLayout].
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// StoreTime is the form in which every store keeps a timestamp: UTC,
// truncated to the microsecond, with no monotonic clock reading. Stores call
// it on every time they write so that a value read back from any store is
// equal, under ==, to the one returned by the write.
func StoreTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond).Round(0) }

// NewBinding is the input to create a binding: the four fields a caller sets.
type NewBinding struct {
	RoleID       string
	UserID       string
	ResourceType ResourceType
	ResourceID   string
}

// RoleChange is the input to change a binding's role.
type RoleChange struct {
	// RoleID is the new role, required.
	RoleID string
	// IfUpdatedAt, when not zero, is the UpdatedAt the caller last saw. If
	// the binding has changed since, the change fails with [ErrConflict]
	// and nothing is written, so that two administrators editing one
	// binding cannot silently overwrite each other. Compared at microsecond
	// precision.
	IfUpdatedAt time.Time
}

// ListQuery selects bindings to list, in creation order. Every filter is
// optional: the HTTP API requires resource_type, and a host serving that
// API enforces it there; without it the library lists both types. A
// ResourceID filter needs a ResourceType, which says what kind of ID it is.
type ListQuery struct {
	ResourceType ResourceType
	UserID       string
	ResourceID   string
	RoleID       string
	// Limit is the page size, 1 to 100; 0 means the default, 50.
	Limit int
	// Cursor is the NextCursor of the previous page, or empty for the first
	// page. A cursor only works with the filters that produced it.
	Cursor string
}

// The page-size bounds of [ListQuery.Limit].
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Page is one page of a list.
type Page struct {
	Bindings []Binding `json:"role_bindings"`
	// NextCursor fetches the next page; empty when HasMore is false.
	NextCursor string `json:"next_cursor,omitempty"`
	HasMore    bool   `json:"has_more"`
}
