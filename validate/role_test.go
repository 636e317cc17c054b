package validate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/validate"
)

// testVocab is a small vocabulary for the tests.
var testVocab = func() *perm.Vocabulary {
	v, err := perm.NewVocabulary([]string{"SPACE_READ", "PROJECT_READ", "PROJECT_UPDATE", "QUEUE_READ"})
	if err != nil {
		panic(err)
	}
	return v
}()

// fieldErrs returns the field errors of err, failing when it is not a
// validation error.
func fieldErrs(tb testing.TB, err error) []rbac.FieldError {
	tb.Helper()
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v is not a *rbac.ValidationError", err)
	}
	if !errors.Is(err, rbac.ErrInvalid) {
		tb.Fatalf("error %v does not match rbac.ErrInvalid", err)
	}
	return ve.Fields
}

// has reports whether errs holds a field error for field with reason.
func has(errs []rbac.FieldError, field string, reason rbac.Reason) bool {
	for _, fe := range errs {
		if fe.Field == field && fe.Reason == reason {
			return true
		}
	}
	return false
}

func TestNewRoleNormalises(t *testing.T) {
	is := is.New(t)
	in := []string{"PROJECT_READ", "SPACE_READ", "PROJECT_READ"}
	nr, err := validate.Default().NewRole(testVocab, rbac.NewRole{Name: "  Reviewer \t", Permissions: in})
	is.NoErr(err)                                                                        // valid role
	is.Equal(nr.Name, "Reviewer")                                                        // name trimmed
	is.Equal(nr.Permissions, []string{"PROJECT_READ", "SPACE_READ"})                     // sorted, repeats merged
	is.Equal(in, []string{"PROJECT_READ", "SPACE_READ", "PROJECT_READ"})                 // caller's slice untouched
	is.True(slices.IsSorted(nr.Permissions) && len(slices.Compact(nr.Permissions)) == 2) // a set
}

func TestNewRoleRules(t *testing.T) {
	long := strings.Repeat("é", perm.MaxRoleName+1)
	cases := []struct {
		name   string
		in     rbac.NewRole
		field  string
		reason rbac.Reason
	}{
		{"a missing name is required", rbac.NewRole{Permissions: []string{"SPACE_READ"}}, "name", rbac.ReasonRequired},
		{"a blank name is required", rbac.NewRole{Name: " \n ", Permissions: []string{"SPACE_READ"}}, "name", rbac.ReasonRequired},
		{"a name over the cap is too long", rbac.NewRole{Name: long, Permissions: []string{"SPACE_READ"}}, "name", rbac.ReasonTooLong},
		{"a name with a control character is invalid", rbac.NewRole{Name: "a\x00b", Permissions: []string{"SPACE_READ"}}, "name", rbac.ReasonInvalid},
		{"a name that is not UTF-8 is invalid", rbac.NewRole{Name: "a\xffb", Permissions: []string{"SPACE_READ"}}, "name", rbac.ReasonInvalid},
		{"a description over the cap is too long", rbac.NewRole{Name: "r", Description: strings.Repeat("x", perm.MaxRoleDescription+1), Permissions: []string{"SPACE_READ"}}, "description", rbac.ReasonTooLong},
		{"no permissions at all is required", rbac.NewRole{Name: "r"}, "permissions", rbac.ReasonRequired},
		{"an empty permission list is required", rbac.NewRole{Name: "r", Permissions: []string{}}, "permissions", rbac.ReasonRequired},
		{"an unknown permission is not supported", rbac.NewRole{Name: "r", Permissions: []string{"SPACE_READ", "SPACE_FLY"}}, "permissions", rbac.ReasonNotSupported},
		{"a lower-case permission is not supported", rbac.NewRole{Name: "r", Permissions: []string{"space_read"}}, "permissions", rbac.ReasonNotSupported},
		{"too many permissions is too long", rbac.NewRole{Name: "r", Permissions: make([]string, perm.MaxRolePermissions+1)}, "permissions", rbac.ReasonTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, err := validate.Default().NewRole(testVocab, tc.in)
			errs := fieldErrs(t, err)
			is.True(has(errs, tc.field, tc.reason)) // expected field error
		})
	}
}

func TestUnknownPermissionNamesItsIndex(t *testing.T) {
	is := is.New(t)
	_, err := validate.Default().NewRole(testVocab, rbac.NewRole{Name: "r", Permissions: []string{"SPACE_READ", "NOPE_ONE", "QUEUE_READ", "NOPE_TWO"}})
	errs := fieldErrs(t, err)
	is.Equal(len(errs), 2) // one error per bad item
	is.Equal(errs[0].Field, "permissions")
	is.True(strings.Contains(errs[0].Message, "item 1") && strings.Contains(errs[0].Message, "NOPE_ONE")) // index and value
	is.True(strings.Contains(errs[1].Message, "item 3") && strings.Contains(errs[1].Message, "NOPE_TWO")) // index and value
}

func TestNewRoleReportsEveryProblem(t *testing.T) {
	is := is.New(t)
	_, err := validate.Default().NewRole(testVocab, rbac.NewRole{Description: "a\xff"})
	errs := fieldErrs(t, err)
	is.Equal(len(errs), 3) // name, description, permissions
	is.True(has(errs, "name", rbac.ReasonRequired))
	is.True(has(errs, "description", rbac.ReasonInvalid))
	is.True(has(errs, "permissions", rbac.ReasonRequired))
}

func TestRoleUpdateChecksOnlyWhatIsSet(t *testing.T) {
	is := is.New(t)
	v := validate.Default()

	u, err := v.RoleUpdate(testVocab, rbac.RoleUpdate{})
	is.NoErr(err)      // an empty update is valid
	is.True(u.Empty()) // and changes nothing

	name := "  Editor "
	u, err = v.RoleUpdate(testVocab, rbac.RoleUpdate{Name: &name, IfUpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))})
	is.NoErr(err)                                                           // rename only
	is.Equal(*u.Name, "Editor")                                             // trimmed
	is.Equal(name, "  Editor ")                                             // caller's string untouched
	is.True(u.Permissions == nil)                                           // permissions untouched
	is.Equal(u.IfUpdatedAt, time.Date(2026, 1, 2, 2, 4, 5, 6000, time.UTC)) // store precision

	blank := ""
	_, err = v.RoleUpdate(testVocab, rbac.RoleUpdate{Name: &blank, Permissions: []string{}})
	errs := fieldErrs(t, err)
	is.True(has(errs, "name", rbac.ReasonRequired))        // a name cannot be cleared
	is.True(has(errs, "permissions", rbac.ReasonRequired)) // nor the permissions emptied

	u, err = v.RoleUpdate(testVocab, rbac.RoleUpdate{Permissions: []string{"QUEUE_READ", "PROJECT_READ"}})
	is.NoErr(err)
	is.Equal(u.Permissions, []string{"PROJECT_READ", "QUEUE_READ"}) // sorted replacement set
}

func TestDecodeNewRole(t *testing.T) {
	is := is.New(t)
	nr, err := validate.Default().DecodeNewRole(testVocab, []byte(`{"name":"Reviewer","description":"reads","permissions":["SPACE_READ","PROJECT_READ"]}`))
	is.NoErr(err)
	is.Equal(nr, rbac.NewRole{Name: "Reviewer", Description: "reads", Permissions: []string{"PROJECT_READ", "SPACE_READ"}})

	nr, err = validate.Default().ReadNewRole(testVocab, strings.NewReader(`{"permissions":["QUEUE_READ"],"name":"Q"}`))
	is.NoErr(err) // description is optional, order free
	is.Equal(nr.Name, "Q")

	nr, err = validate.Default().DecodeNewRole(testVocab, []byte(`{"name":"Q","description":null,"permissions":["QUEUE_READ"]}`))
	is.NoErr(err) // a null description is no description
	is.Equal(nr.Description, "")
}

func TestDecodeNewRoleRejects(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		field   string
		reason  rbac.Reason
	}{
		{"an id is forbidden", `{"id":"Um9sZToxOlY0S2E=","name":"r","permissions":["SPACE_READ"]}`, "id", rbac.ReasonForbidden},
		{"created_at is forbidden", `{"created_at":"2026-01-01T00:00:00Z","name":"r","permissions":["SPACE_READ"]}`, "created_at", rbac.ReasonForbidden},
		{"updated_at is forbidden", `{"updated_at":"2026-01-01T00:00:00Z","name":"r","permissions":["SPACE_READ"]}`, "updated_at", rbac.ReasonForbidden},
		{"is_predefined is forbidden", `{"is_predefined":false,"name":"r","permissions":["SPACE_READ"]}`, "is_predefined", rbac.ReasonForbidden},
		{"an unknown key is unknown", `{"colour":"red","name":"r","permissions":["SPACE_READ"]}`, "colour", rbac.ReasonUnknownField},
		{"a repeated key is a duplicate", `{"name":"r","name":"s","permissions":["SPACE_READ"]}`, "name", rbac.ReasonDuplicate},
		{"a null name is required", `{"name":null,"permissions":["SPACE_READ"]}`, "name", rbac.ReasonRequired},
		{"a numeric name is the wrong type", `{"name":7,"permissions":["SPACE_READ"]}`, "name", rbac.ReasonWrongType},
		{"a missing permissions key is required", `{"name":"r"}`, "permissions", rbac.ReasonRequired},
		{"null permissions is required", `{"name":"r","permissions":null}`, "permissions", rbac.ReasonRequired},
		{"permissions as one string is the wrong type", `{"name":"r","permissions":"SPACE_READ"}`, "permissions", rbac.ReasonWrongType},
		{"permissions as an object is the wrong type", `{"name":"r","permissions":{"SPACE_READ":true}}`, "permissions", rbac.ReasonWrongType},
		{"a number inside permissions is the wrong type", `{"name":"r","permissions":["SPACE_READ",7]}`, "permissions", rbac.ReasonWrongType},
		{"a null inside permissions is the wrong type", `{"name":"r","permissions":[null]}`, "permissions", rbac.ReasonWrongType},
		{"an unknown permission is not supported", `{"name":"r","permissions":["SPACE_READ","SPACE_FLY"]}`, "permissions", rbac.ReasonNotSupported},
		{"an empty permissions array is required", `{"name":"r","permissions":[]}`, "permissions", rbac.ReasonRequired},
		{"trailing data is invalid", `{"name":"r","permissions":["SPACE_READ"]} {}`, "", rbac.ReasonInvalid},
		{"an array payload is invalid", `[{"name":"r"}]`, "", rbac.ReasonInvalid},
		{"malformed JSON is invalid", `{"name":"r","permissions":["SPACE_READ"`, "", rbac.ReasonInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, err := validate.Default().DecodeNewRole(testVocab, []byte(tc.payload))
			errs := fieldErrs(t, err)
			is.True(has(errs, tc.field, tc.reason)) // expected field error
		})
	}
}

func TestDecodeNewRoleReportsOneErrorPerField(t *testing.T) {
	is := is.New(t)
	// A bad item inside permissions is reported once, by the JSON layer,
	// not again as "at least one permission" by the rules.
	_, err := validate.Default().DecodeNewRole(testVocab, []byte(`{"name":"r","permissions":[1]}`))
	errs := fieldErrs(t, err)
	is.Equal(len(errs), 1)
	is.True(has(errs, "permissions", rbac.ReasonWrongType))
}

func TestDecodeRoleUpdate(t *testing.T) {
	is := is.New(t)
	v := validate.Default()

	u, err := v.DecodeRoleUpdate(testVocab, []byte(`{"description":""}`))
	is.NoErr(err)                 // clearing the description
	is.True(u.Name == nil)        // name absent: unchanged
	is.True(u.Permissions == nil) // permissions absent: unchanged
	is.Equal(*u.Description, "")  // present and empty: cleared

	u, err = v.DecodeRoleUpdate(testVocab, []byte(`{"description":null}`))
	is.NoErr(err)                 // null clears too, as in the public API, whose clients send it
	is.True(u.Description != nil) // present: set
	is.Equal(*u.Description, "")  // to nothing

	_, err = v.DecodeRoleUpdate(testVocab, []byte(`{"name":null}`))
	is.True(has(fieldErrs(t, err), "name", rbac.ReasonRequired)) // a name cannot be cleared

	u, err = v.DecodeRoleUpdate(testVocab, []byte(`{"permissions":["QUEUE_READ"],"name":" New "}`))
	is.NoErr(err)
	is.Equal(*u.Name, "New")
	is.Equal(u.Permissions, []string{"QUEUE_READ"})

	u, err = v.ReadRoleUpdate(testVocab, strings.NewReader(`{}`))
	is.NoErr(err) // nothing to change is not an error
	is.True(u.Empty())

	_, err = v.DecodeRoleUpdate(testVocab, []byte(`{"id":"x","is_predefined":true,"permissions":[]}`))
	errs := fieldErrs(t, err)
	is.True(has(errs, "id", rbac.ReasonForbidden))
	is.True(has(errs, "is_predefined", rbac.ReasonForbidden))
	is.True(has(errs, "permissions", rbac.ReasonRequired)) // a set cannot be emptied
}

func TestBindingDecodingUnchanged(t *testing.T) {
	is := is.New(t)
	// The array support for role payloads must not leak into bindings: an
	// array is still the wrong type for a binding field.
	_, err := validate.Default().DecodeUpdate([]byte(`{"role_id":["Um9sZToxOlY0S2E="]}`))
	errs := fieldErrs(t, err)
	is.True(has(errs, "role_id", rbac.ReasonWrongType))
	c, err := validate.Default().DecodeUpdate([]byte(`{"role_id":"Um9sZToxOlY0S2E="}`))
	is.NoErr(err)
	is.Equal(c.RoleID, "Um9sZToxOlY0S2E=")
}

func TestRoleAndRestrictedQueryLimits(t *testing.T) {
	is := is.New(t)
	v := validate.Default()
	q, err := v.RoleQuery(rbac.RoleQuery{})
	is.NoErr(err)
	is.Equal(q.Limit, rbac.DefaultLimit) // 0 means the default
	_, err = v.RoleQuery(rbac.RoleQuery{Limit: rbac.MaxLimit + 1})
	is.True(has(fieldErrs(t, err), "limit", rbac.ReasonOutOfRange))
	r, err := v.RestrictedQuery(rbac.RestrictedQuery{Limit: 7})
	is.NoErr(err)
	is.Equal(r.Limit, 7)
	_, err = v.RestrictedQuery(rbac.RestrictedQuery{Limit: -1})
	is.True(has(fieldErrs(t, err), "limit", rbac.ReasonOutOfRange))
}

func FuzzDecodeNewRole(f *testing.F) {
	f.Add([]byte(`{"name":"r","permissions":["SPACE_READ"]}`))
	f.Add([]byte(`{"name":"r","permissions":["SPACE_READ",1,null,"X"]}`))
	f.Add([]byte(`{"permissions":[[]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nr, err := validate.Default().DecodeNewRole(testVocab, data)
		if err != nil {
			fieldErrs(t, err)
			return
		}
		if nr.Name == "" || len(nr.Permissions) == 0 || !slices.IsSorted(nr.Permissions) {
			t.Fatalf("accepted a role that breaks the rules: %+v", nr)
		}
		for _, p := range nr.Permissions {
			if !testVocab.Has(p) {
				t.Fatalf("accepted unknown permission %q", p)
			}
		}
	})
}

func FuzzDecodeRoleUpdate(f *testing.F) {
	f.Add([]byte(`{"name":"r"}`))
	f.Add([]byte(`{"description":"","permissions":["SPACE_READ","SPACE_READ"]}`))
	f.Add([]byte(`{"permissions":[],"id":"x","is_predefined":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := validate.Default().DecodeRoleUpdate(testVocab, data)
		if err != nil {
			fieldErrs(t, err)
			return
		}
		if u.Name != nil && *u.Name == "" {
			t.Fatalf("accepted an update to a blank name: %q", data)
		}
		if u.Permissions != nil && (len(u.Permissions) == 0 || !slices.IsSorted(u.Permissions)) {
			t.Fatalf("accepted a permission set that breaks the rules: %q gives %v", data, u.Permissions)
		}
		for _, p := range u.Permissions {
			if !testVocab.Has(p) {
				t.Fatalf("accepted unknown permission %q", p)
			}
		}
	})
}
