package validate_test

import (
	"errors"
	"fmt"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/validate"
)

// A create body that passes comes back as a NewBinding with its IDs in
// canonical form: a project spelt Project:1:FvlL becomes Model:1:FvlL.
func ExampleValidator_DecodeCreate() {
	body := `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
	 "resource_type": "PROJECT", "resource_id": "` + ids.Encode("Project", "1", "FvlL") + `"}`
	nb, err := validate.Default().DecodeCreate([]byte(body))
	fmt.Println(err)
	fmt.Println(nb.ResourceType, nb.ResourceID)
	// Output:
	// <nil>
	// PROJECT TW9kZWw6MTpGdmxM
}

// Every problem of a body is reported at once, each under its field's wire
// name with a machine-readable reason, so a client can fix them all in one
// go. The error matches rbac.ErrInvalid.
func ExampleValidator_DecodeCreate_everyProblem() {
	body := `{"role_id": "VXNlcjoxOmxQZzI=", "user_id": "VXNlcjoxOmxQZzJ=",
	 "resource_type": "project", "id": "Um9sZUJpbmRpbmc6MTphQmNE", "colour": "red"}`
	_, err := validate.Default().DecodeCreate([]byte(body))
	fmt.Println(errors.Is(err, rbac.ErrInvalid))
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			fmt.Println(fe.Field, fe.Reason)
		}
	}
	// Output:
	// true
	// id forbidden
	// colour unknown_field
	// role_id invalid
	// user_id invalid
	// resource_type not_supported
	// resource_id required
}

// An update may change the role and nothing else: any other field of the
// binding is refused.
func ExampleValidator_DecodeUpdate() {
	body := `{"role_id": "Um9sZToyOmRLMjQ=", "user_id": "VXNlcjoxOmxQZzI="}`
	_, err := validate.Default().DecodeUpdate([]byte(body))
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			fmt.Println(fe.Field, fe.Reason)
		}
	}
	// Output:
	// user_id forbidden
}

// A host whose IDs spell a kind with another type name gives the
// validator its own table; an ID with the default name is then the wrong
// type.
func ExampleNew() {
	t := ids.DefaultTable()
	t.User = []string{"Account"}
	v, err := validate.New(t)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = v.UserID(ids.Encode("Account", "7", ""))
	fmt.Println(err)
	_, err = v.UserID(ids.Encode("User", "7", ""))
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Fields[0].Field, ve.Fields[0].Reason)
	}
	// Output:
	// <nil>
	// user_id invalid
}
