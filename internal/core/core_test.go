package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

func fields(err error) []rbac.FieldError {
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	return ve.Fields
}

func names(err error) []string {
	var out []string
	for _, fe := range fields(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestCheckListReportsEveryProblem(t *testing.T) {
	v := validate.Default()
	c := store.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	spaceQ := rbac.ListQuery{ResourceType: rbac.Space}
	good := c.Encode(spaceQ, 7)
	tests := []struct {
		name string
		q    rbac.ListQuery
		want []string
	}{
		{"a bad limit and a garbled cursor", rbac.ListQuery{ResourceType: rbac.Space, Limit: 500, Cursor: "garbage"}, []string{"limit", "cursor"}},
		{"a bad limit and a cursor of other filters", rbac.ListQuery{Limit: -1, Cursor: good}, []string{"limit", "cursor"}},
		{"a bad filter: the cursor is not judged", rbac.ListQuery{ResourceType: "DATASET", Cursor: "garbage"}, []string{"resource_type"}},
		{"a bad filter and a bad limit", rbac.ListQuery{UserID: "x", Limit: 101}, []string{"user_id", "limit"}},
		{"a garbled cursor alone", rbac.ListQuery{Cursor: "garbage"}, []string{"cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, _, err := core.CheckList(v, c, tt.q)
			is.True(errors.Is(err, rbac.ErrInvalid))
			is.Equal(names(err), tt.want)
		})
	}
	is := is.New(t)
	q, after, err := core.CheckList(v, c, rbac.ListQuery{ResourceType: rbac.Space, Cursor: good})
	is.NoErr(err)
	is.Equal(after, uint64(7))
	is.Equal(q.Limit, rbac.DefaultLimit) // the default filled in
}

func TestCheckPagingQueries(t *testing.T) {
	is := is.New(t)
	v := validate.Default()
	c := store.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	_, _, err := core.CheckRoleQuery(v, c, rbac.RoleQuery{Limit: 101, Cursor: "garbage"})
	is.Equal(names(err), []string{"limit", "cursor"}) // both at once
	_, _, err = core.CheckRestrictedQuery(v, c, rbac.RestrictedQuery{Limit: -3, Cursor: c.Encode(store.RoleCursorQuery(), 1)})
	is.Equal(names(err), []string{"limit", "cursor"}) // a role cursor is foreign here
	_, after, err := core.CheckRoleQuery(v, c, rbac.RoleQuery{Cursor: c.Encode(store.RoleCursorQuery(), 3)})
	is.NoErr(err)
	is.Equal(after, uint64(3))
}

func TestMergeRole(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	old := rbac.Role{ID: "r", Name: "Ops", Description: "d", Permissions: []string{"A", "B"}, CreatedAt: at, UpdatedAt: at}
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		u       rbac.RoleUpdate
		changed bool
	}{
		{"nothing set", rbac.RoleUpdate{}, false},
		{"every field as stored", rbac.RoleUpdate{Name: str("Ops"), Description: str("d"), Permissions: []string{"A", "B"}}, false},
		{"a new name", rbac.RoleUpdate{Name: str("Dev")}, true},
		{"an empty description", rbac.RoleUpdate{Description: str("")}, true},
		{"fewer permissions", rbac.RoleUpdate{Permissions: []string{"A"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			next, changed := core.MergeRole(old, tt.u)
			is.Equal(changed, tt.changed)
			is.Equal(next.UpdatedAt, old.UpdatedAt) // left to the caller
			if tt.u.Permissions != nil {
				tt.u.Permissions[0] = "Z"
				is.True(next.Permissions[0] != "Z") // shares nothing with the update
			}
			next.Permissions[0] = "Y"
			is.Equal(old.Permissions[0], "A") // shares nothing with the old role
		})
	}
}

func TestNextUpdate(t *testing.T) {
	is := is.New(t)
	prev := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	later := prev.Add(time.Second + 789)
	is.Equal(core.NextUpdate(later, prev), rbac.StoreTime(later))                     // the clock, at store precision
	is.Equal(core.NextUpdate(prev, prev), prev.Add(time.Microsecond))                 // never equal
	is.Equal(core.NextUpdate(prev.Add(-time.Hour), prev), prev.Add(time.Microsecond)) // the clock stepped back
	is.Equal(core.NextUpdate(later, prev).Location(), time.UTC)
}

func TestErrorsAreClientSafe(t *testing.T) {
	is := is.New(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, err := range []error{
		core.BindingNotFound("B"), core.RoleNotFound("R"), core.NoProjectSpace("P"), core.NotRestricted("P"),
		core.SlotTaken("U", rbac.Space, "S"),
		core.BindingChanged("B", at, at), core.RoleChanged("R", at, at), core.NameTaken("n"), core.RoleBound("R"),
	} {
		var ce *rbac.Error
		is.True(errors.As(err, &ce))      // a client message
		is.Equal(err.Error(), ce.Message) // and nothing else
		is.Equal(rbac.ProblemFor(err).Detail, ce.Message)
	}
	is.Equal(core.SlotTaken("U", rbac.Space, "S").Error(),
		"user U already has a role binding on SPACE S")
	is.True(errors.Is(core.PredefinedRole(), rbac.ErrInvalid))
}
