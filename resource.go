package rbac

import (
	"encoding/json"
	"time"
)

// Resources form two levels: a project belongs to exactly one space, and a
// check on a project also counts the user's binding on that space, unless
// the project is restricted. The library keeps both facts (the link and the
// restriction flag) beside the bindings, so that a check never calls out to
// a slow source.

// Restriction records that a project is restricted: inheritance from its
// space is cut off, except for space bindings whose role holds
// PROJECT_RESTRICT.
type Restriction struct {
	// ProjectID is the restricted project, in canonical (Model) form.
	ProjectID string
	// RestrictedAt is when the project was restricted. Restricting it again
	// does not move it.
	RestrictedAt time.Time
}

// MarshalJSON writes project_id and restricted_at, the time in
// [TimeLayout].
func (r Restriction) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ProjectID    string `json:"project_id"`
		RestrictedAt string `json:"restricted_at"`
	}{r.ProjectID, FormatTime(r.RestrictedAt)})
}

// RestrictedQuery selects a page of restricted projects, listed in the
// order they were restricted.
type RestrictedQuery struct {
	// Limit is the page size, 1 to [MaxLimit]; 0 means [DefaultLimit].
	Limit int
	// Cursor is the NextCursor of the previous page, or empty for the
	// first page.
	Cursor string
}

// RestrictedPage is one page of restricted projects.
type RestrictedPage struct {
	Projects []Restriction `json:"restricted_projects"`
	// NextCursor fetches the next page; empty when HasMore is false.
	NextCursor string `json:"next_cursor,omitempty"`
	HasMore    bool   `json:"has_more"`
}
