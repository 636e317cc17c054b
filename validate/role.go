package validate

import (
	"fmt"
	"io"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// The keys of a role payload, and the keys the store sets.
var (
	roleKeys       = []string{"name", "description"}
	roleListKeys   = []string{"permissions"}
	roleSystemKeys = []string{"id", "created_at", "updated_at", "is_predefined"}
	// roleNullable are the keys that may be null: the public API clears
	// a role's description with "description": null, and its clients
	// send that.
	roleNullable = []string{"description"}
)

// NewRole checks a role create input against vocab and returns it
// normalised: the name trimmed, the permissions sorted and without
// repeats (repeats are harmless in a set, so they are merged rather than
// rejected).
//
// The rules are those of package perm, which holds them once for custom
// and predefined roles alike: [perm.RoleName], [perm.RoleDescription],
// [perm.Vocabulary.RolePermissions]. An unknown permission is reported on
// field "permissions" with its index in the input, one field error per
// bad item.
func (v *Validator) NewRole(vocab *perm.Vocabulary, nr rbac.NewRole) (rbac.NewRole, error) {
	var errs rbac.FieldErrors
	nr.Name = perm.RoleName(&errs, nr.Name)
	perm.RoleDescription(&errs, nr.Description)
	nr.Permissions = vocab.RolePermissions(&errs, nr.Permissions)
	return nr, errs.Err()
}

// RoleUpdate checks a role update input against vocab and returns it
// normalised, with the rules of [Validator.NewRole] applied to each field
// that is set. Fields left nil are not checked; an update that sets
// nothing is valid and changes nothing.
func (v *Validator) RoleUpdate(vocab *perm.Vocabulary, u rbac.RoleUpdate) (rbac.RoleUpdate, error) {
	var errs rbac.FieldErrors
	if u.Name != nil {
		name := perm.RoleName(&errs, *u.Name)
		u.Name = &name
	}
	if u.Description != nil {
		perm.RoleDescription(&errs, *u.Description)
		d := *u.Description
		u.Description = &d
	}
	if u.Permissions != nil {
		u.Permissions = vocab.RolePermissions(&errs, u.Permissions)
	}
	if !u.IfUpdatedAt.IsZero() {
		u.IfUpdatedAt = rbac.StoreTime(u.IfUpdatedAt)
	}
	return u, errs.Err()
}

// RoleQuery checks a role list query and fills in the default limit. The
// cursor is checked by the store, which alone can read it.
func (v *Validator) RoleQuery(q rbac.RoleQuery) (rbac.RoleQuery, error) {
	var errs rbac.FieldErrors
	q.Limit = limit(&errs, q.Limit)
	return q, errs.Err()
}

// RestrictedQuery checks a list query for restricted projects and fills in
// the default limit.
func (v *Validator) RestrictedQuery(q rbac.RestrictedQuery) (rbac.RestrictedQuery, error) {
	var errs rbac.FieldErrors
	q.Limit = limit(&errs, q.Limit)
	return q, errs.Err()
}

// DecodeNewRole decodes a role create payload strictly and checks it:
// exactly a JSON object with a string name, an optional string
// description (null, as the public API allows, means none) and an array
// of strings permissions. The system-managed keys id, created_at,
// updated_at and is_predefined are rejected as forbidden; unknown keys,
// duplicate keys, null for name or permissions, values of other JSON
// types, malformed JSON, trailing data and payloads over [MaxPayload] are
// rejected as for bindings, every problem reported at once.
func (v *Validator) DecodeNewRole(vocab *perm.Vocabulary, data []byte) (rbac.NewRole, error) {
	vals, lists, errs := decodeFields(data, roleKeys, roleListKeys, roleNullable, roleExtra)
	if vals == nil {
		return rbac.NewRole{}, errs.Err()
	}
	nr := rbac.NewRole{Name: vals["name"], Description: vals["description"], Permissions: lists["permissions"]}
	nr, err := v.NewRole(vocab, nr)
	return nr, merge(errs, err)
}

// DecodeRoleUpdate decodes a role update payload strictly: the keys of
// [Validator.DecodeNewRole], each optional; a key that is present is set,
// a key that is absent keeps its value. permissions, when present,
// replaces the whole set; "description": null clears the description, as
// in the public API.
func (v *Validator) DecodeRoleUpdate(vocab *perm.Vocabulary, data []byte) (rbac.RoleUpdate, error) {
	vals, lists, errs := decodeFields(data, roleKeys, roleListKeys, roleNullable, roleExtra)
	if vals == nil {
		return rbac.RoleUpdate{}, errs.Err()
	}
	var u rbac.RoleUpdate
	if s, ok := vals["name"]; ok {
		u.Name = &s
	}
	if s, ok := vals["description"]; ok {
		u.Description = &s
	}
	if l, ok := lists["permissions"]; ok {
		u.Permissions = l
	}
	u, err := v.RoleUpdate(vocab, u)
	return u, merge(errs, err)
}

// ReadNewRole reads a role create payload from r, at most [MaxPayload]
// bytes, and decodes it with [Validator.DecodeNewRole].
func (v *Validator) ReadNewRole(vocab *perm.Vocabulary, r io.Reader) (rbac.NewRole, error) {
	data, err := readCapped(r)
	if err != nil {
		return rbac.NewRole{}, err
	}
	return v.DecodeNewRole(vocab, data)
}

// ReadRoleUpdate reads a role update payload from r, at most [MaxPayload]
// bytes, and decodes it with [Validator.DecodeRoleUpdate].
func (v *Validator) ReadRoleUpdate(vocab *perm.Vocabulary, r io.Reader) (rbac.RoleUpdate, error) {
	data, err := readCapped(r)
	if err != nil {
		return rbac.RoleUpdate{}, err
	}
	return v.DecodeRoleUpdate(vocab, data)
}

func roleExtra(key string) (rbac.Reason, string, bool) {
	if contains(roleSystemKeys, key) {
		return rbac.ReasonForbidden, "is set by the store and must not be sent", true
	}
	return "", "", false
}

func limit(errs *rbac.FieldErrors, n int) int {
	switch {
	case n == 0:
		return rbac.DefaultLimit
	case n < 1 || n > rbac.MaxLimit:
		errs.Add("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d (0 means %d)", rbac.MaxLimit, rbac.DefaultLimit))
	}
	return n
}
