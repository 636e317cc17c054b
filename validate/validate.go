// Package validate holds the rules for role-binding input: the Go-level
// rules every store applies to [rbac.NewBinding], [rbac.RoleChange],
// [rbac.ListQuery] and IDs, and strict decoding of create and update
// payloads from JSON.
//
// Every function reports all problems at once, as a [*rbac.ValidationError]
// with one [rbac.FieldError] per problem, named by the field's wire name.
// Valid input comes back canonical: IDs in their canonical type spelling
// (a Project:N:K ID becomes Model:N:K), the list limit defaulted.
package validate

import (
	"fmt"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
)

// Validator applies the rules with one table of ID type names.
// It is immutable and safe for concurrent use.
type Validator struct {
	types ids.Table
}

// New returns a validator that accepts the type names of t.
func New(t ids.Table) (*Validator, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	return &Validator{types: t}, nil
}

var defaultValidator = &Validator{types: ids.DefaultTable()}

// Default returns the validator for the type names of [ids.DefaultTable].
func Default() *Validator { return defaultValidator }

// Types returns the table of type names the validator accepts.
func (v *Validator) Types() *ids.Table { return &v.types }

// NewBinding checks a create input and returns it in canonical form.
func (v *Validator) NewBinding(nb rbac.NewBinding) (rbac.NewBinding, error) {
	var errs rbac.FieldErrors
	nb.RoleID = v.id(&errs, "role_id", ids.Role, nb.RoleID)
	nb.UserID = v.id(&errs, "user_id", ids.User, nb.UserID)
	nb.ResourceType, nb.ResourceID = v.resource(&errs, nb.ResourceType, nb.ResourceID)
	return nb, errs.Err()
}

// RoleChange checks an update input and returns it in canonical form.
func (v *Validator) RoleChange(c rbac.RoleChange) (rbac.RoleChange, error) {
	var errs rbac.FieldErrors
	c.RoleID = v.id(&errs, "role_id", ids.Role, c.RoleID)
	if !c.IfUpdatedAt.IsZero() {
		c.IfUpdatedAt = rbac.StoreTime(c.IfUpdatedAt)
	}
	return c, errs.Err()
}

// ID checks one ID of kind k and returns its canonical form; problems are
// reported on the given field name. Methods that take an ID as their own
// argument name it as they do ("id", "project_id"), not by its field in a
// binding.
func (v *Validator) ID(field string, k ids.Kind, s string) (string, error) { return v.one(field, k, s) }

// BindingID checks a binding ID (field "id").
func (v *Validator) BindingID(id string) (string, error) { return v.one("id", ids.RoleBinding, id) }

// RoleID checks a role ID (field "role_id").
func (v *Validator) RoleID(id string) (string, error) { return v.one("role_id", ids.Role, id) }

// UserID checks a user ID (field "user_id").
func (v *Validator) UserID(id string) (string, error) { return v.one("user_id", ids.User, id) }

// Resource checks a resource type and ID (fields "resource_type" and
// "resource_id") and returns the ID in canonical form.
func (v *Validator) Resource(rt rbac.ResourceType, id string) (string, error) {
	var errs rbac.FieldErrors
	_, id = v.resource(&errs, rt, id)
	return id, errs.Err()
}

// ListQuery checks a list query and returns it with canonical IDs and the
// default limit filled in. The cursor is checked by the store, which alone
// can read it. A resource_id filter needs a resource_type to say which
// kind of ID it is.
func (v *Validator) ListQuery(q rbac.ListQuery) (rbac.ListQuery, error) {
	var errs rbac.FieldErrors
	if q.UserID != "" {
		q.UserID = v.id(&errs, "user_id", ids.User, q.UserID)
	}
	if q.RoleID != "" {
		q.RoleID = v.id(&errs, "role_id", ids.Role, q.RoleID)
	}
	switch {
	case q.ResourceID != "":
		q.ResourceType, q.ResourceID = v.resource(&errs, q.ResourceType, q.ResourceID)
	case q.ResourceType != "" && !q.ResourceType.Valid():
		errs.Add("resource_type", rbac.ReasonNotSupported, "must be SPACE or PROJECT")
	}
	switch {
	case q.Limit == 0:
		q.Limit = rbac.DefaultLimit
	case q.Limit < 1 || q.Limit > rbac.MaxLimit:
		errs.Add("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d (0 means %d)", rbac.MaxLimit, rbac.DefaultLimit))
	}
	return q, errs.Err()
}

func (v *Validator) one(field string, k ids.Kind, s string) (string, error) {
	var errs rbac.FieldErrors
	s = v.id(&errs, field, k, s)
	return s, errs.Err()
}

// id checks one ID field, records what is wrong with it, and returns its
// canonical form ("" when it is wrong).
func (v *Validator) id(errs *rbac.FieldErrors, field string, k ids.Kind, s string) string {
	if s == "" {
		errs.Add(field, rbac.ReasonRequired, "is required")
		return ""
	}
	c, err := v.types.Canonical(k, s)
	if err != nil {
		errs.Add(field, rbac.ReasonInvalid, idMessage(err))
		return ""
	}
	return c
}

func (v *Validator) resource(errs *rbac.FieldErrors, rt rbac.ResourceType, id string) (rbac.ResourceType, string) {
	switch rt {
	case rbac.Space:
		return rt, v.id(errs, "resource_id", ids.Space, id)
	case rbac.Project:
		return rt, v.id(errs, "resource_id", ids.Project, id)
	case "":
		errs.Add("resource_type", rbac.ReasonRequired, "is required")
	default:
		errs.Add("resource_type", rbac.ReasonNotSupported, "must be SPACE or PROJECT")
	}
	// Without a usable type the ID can still be checked for form.
	if id == "" {
		errs.Add("resource_id", rbac.ReasonRequired, "is required")
	} else if _, err := ids.Decode(id); err != nil {
		errs.Add("resource_id", rbac.ReasonInvalid, idMessage(err))
	}
	return rt, ""
}

func idMessage(err error) string {
	switch e := err.(type) {
	case *ids.Error:
		return "is not a canonical global ID: " + e.Reason
	case *ids.TypeError:
		return fmt.Sprintf("is a %s ID; want a %s ID", e.Got, joinOr(e.Want))
	}
	return err.Error()
}

func joinOr(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += " or "
		}
		s += n
	}
	return s
}
