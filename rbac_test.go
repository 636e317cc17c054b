package rbac_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
)

func TestBindingJSONHasEveryFieldInOrder(t *testing.T) {
	is := is.New(t)
	b := rbac.Binding{
		ID: "Um9sZUJpbmRpbmc6MTphQmNE", RoleID: "Um9sZToxOlY0S2E=", UserID: "VXNlcjoxOmxQZzI=",
		ResourceType: rbac.Project, ResourceID: "TW9kZWw6MTpGdmxM",
		CreatedAt: time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 7200)),
		UpdatedAt: time.Date(2024, 6, 1, 10, 0, 0, 123456789, time.UTC),
	}
	got, err := json.Marshal(b)
	is.NoErr(err)
	is.Equal(string(got), `{"id":"Um9sZUJpbmRpbmc6MTphQmNE","role_id":"Um9sZToxOlY0S2E=","user_id":"VXNlcjoxOmxQZzI=","resource_type":"PROJECT","resource_id":"TW9kZWw6MTpGdmxM","created_at":"2024-06-01T10:00:00.000000Z","updated_at":"2024-06-01T10:00:00.123456Z"}`)

	var back rbac.Binding
	is.NoErr(json.Unmarshal(got, &back))
	is.Equal(back.CreatedAt, time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC))
	is.Equal(back.UpdatedAt, rbac.StoreTime(b.UpdatedAt)) // microseconds survive
	is.Equal(back.ID, b.ID)

	empty, err := json.Marshal(rbac.Binding{})
	is.NoErr(err)
	var m map[string]any
	is.NoErr(json.Unmarshal(empty, &m))
	is.Equal(len(m), 7) // all present even when empty
}

func TestStoreTimeIsUTCMicroseconds(t *testing.T) {
	is := is.New(t)
	in := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.FixedZone("x", -3600))
	got := rbac.StoreTime(in)
	is.Equal(got, time.Date(2026, 3, 4, 6, 6, 7, 891011000, time.UTC))
	is.Equal(rbac.StoreTime(time.Now()).Location(), time.UTC)
	now := time.Now()
	stored, later := rbac.StoreTime(now), rbac.StoreTime(now.Round(0))
	is.True(stored == later) // no monotonic reading left to break ==
}

func TestErrorCategories(t *testing.T) {
	inv := rbac.Invalid("role_id", rbac.ReasonRequired, "is required")
	nf := fmt.Errorf("memstore: %w: role binding x", rbac.ErrNotFound)
	conf := fmt.Errorf("wrapped: %w", fmt.Errorf("%w: duplicate", rbac.ErrConflict))
	internal := errors.New("disk on fire")
	tests := []struct {
		name    string
		err     error
		status  int
		title   string
		matches error
	}{
		{"no error", nil, 200, "", nil},
		{"validation error", inv, 400, "Bad Request", rbac.ErrInvalid},
		{"not found", nf, 404, "Not Found", rbac.ErrNotFound},
		{"wrapped conflict", conf, 409, "Conflict", rbac.ErrConflict},
		{"internal error", internal, 500, "Internal Server Error", nil},
		{"guard refusal", fmt.Errorf("check: %w: lacks ROLE_BINDING_CREATE", rbac.ErrForbidden), 403, "Forbidden", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(rbac.HTTPStatus(tt.err), tt.status)
			n := 0
			for _, c := range []error{rbac.ErrInvalid, rbac.ErrNotFound, rbac.ErrConflict} {
				if errors.Is(tt.err, c) {
					n++
					is.Equal(c, tt.matches) // the right category
				}
			}
			if tt.matches != nil {
				is.Equal(n, 1) // exactly one category
			} else {
				is.Equal(n, 0) // none
			}
			if tt.err != nil {
				p := rbac.ProblemFor(tt.err)
				is.Equal(p.Status, tt.status)
				is.Equal(p.Title, tt.title)
			}
		})
	}
	is := is.New(t)
	p := rbac.ProblemFor(internal)
	is.Equal(p.Detail, "internal error") // internal text does not leak to clients
	p = rbac.ProblemFor(inv)
	is.Equal(p.Errors, []rbac.FieldError{{Field: "role_id", Reason: rbac.ReasonRequired, Message: "is required"}})
	is.Equal(p.Detail, "invalid input: role_id: is required") // no package prefix
	p = rbac.ProblemFor(fmt.Errorf("memstore: %w", inv))
	is.Equal(p.Detail, "invalid input: role_id: is required") // the wrapper's prefix stays out
	p = rbac.ProblemFor(nf)
	is.Equal(p.Detail, "not found") // untyped text may name anything: only the category
}

func TestClientErrors(t *testing.T) {
	is := is.New(t)
	nf := rbac.NotFound("role binding %s not found", "Um9sZUJpbmRpbmc6MTphQmNE")
	is.True(errors.Is(nf, rbac.ErrNotFound))
	is.True(!errors.Is(nf, rbac.ErrConflict))
	is.Equal(nf.Error(), "role binding Um9sZUJpbmRpbmc6MTphQmNE not found") // the message alone
	var ce *rbac.Error
	is.True(errors.As(fmt.Errorf("sqlstore: %w", nf), &ce))
	is.Equal(ce.Category, rbac.ErrNotFound)

	conf := rbac.Conflict("a role named %q already exists", "Admin")
	is.True(errors.Is(conf, rbac.ErrConflict))
	is.Equal(rbac.HTTPStatus(conf), 409)
	p := rbac.ProblemFor(fmt.Errorf("sqlstore: update role: %w", conf))
	is.Equal(p.Detail, `a role named "Admin" already exists`) // the message, without the wrapper's text
	is.Equal(p.Title, "Conflict")
}

func TestFieldErrorsErrIsTrueNil(t *testing.T) {
	is := is.New(t)
	var l rbac.FieldErrors
	is.True(l.Err() == nil) // an empty list is a true nil error
	l.Add("user_id", rbac.ReasonInvalid, "is bad")
	l.Add("", rbac.ReasonInvalid, "malformed JSON")
	err := l.Err()
	is.Equal(err.Error(), "invalid input: user_id: is bad; malformed JSON") // no package prefix: a client may see it
	var ve *rbac.ValidationError
	is.True(errors.As(err, &ve))
	is.True(ve.Has("user_id"))
	is.True(!ve.Has("role_id"))
}

func TestResourceTypeValid(t *testing.T) {
	is := is.New(t)
	is.True(rbac.Space.Valid())
	is.True(rbac.Project.Valid())
	is.True(!rbac.ResourceType("project").Valid()) // upper case only
	is.True(!rbac.ResourceType("").Valid())
}

func TestJoinInvalid(t *testing.T) {
	is := is.New(t)
	is.NoErr(rbac.JoinInvalid(nil, nil)) // nothing wrong is a true nil
	a := rbac.Invalid("id", rbac.ReasonInvalid, "is bad")
	b := rbac.Invalid("limit", rbac.ReasonOutOfRange, "too big")
	err := rbac.JoinInvalid(a, nil, b)
	var ve *rbac.ValidationError
	is.True(errors.As(err, &ve))
	is.Equal(len(ve.Fields), 2) // both problems, in order
	is.True(ve.Has("id") && ve.Has("limit"))
	internal := errors.New("disk on fire")
	is.Equal(rbac.JoinInvalid(a, internal), internal) // an internal error is not about the input
}
