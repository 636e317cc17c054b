package rbac_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/validate"
)

// The documented valid example of the public API: a role on a project.
const validBody = `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
 "resource_type": "PROJECT", "resource_id": "TW9kZWw6MTpGdmxM"}`

// exampleRoles is the catalogue of the examples' stores: the default
// predefined roles and the two roles that the public API's documented
// examples bind (Role:1:V4Ka and Role:2:dK24), since a store refuses a
// binding to a role it does not have.
func exampleRoles() []rbac.Role {
	return append(perm.DefaultCatalogue(perm.DefaultVocabulary()),
		rbac.Role{ID: "Um9sZToxOlY0S2E=", Name: "Project editor", Permissions: []string{"PROJECT_READ", "PROJECT_UPDATE"}, Predefined: true},
		rbac.Role{ID: "Um9sZToyOmRLMjQ=", Name: "Project viewer", Permissions: []string{"PROJECT_READ"}, Predefined: true},
	)
}

// Creating a binding on the in-memory store and printing it as JSON. The
// store sets the ID and timestamps; a fixed clock keeps the output stable.
func Example() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{Now: fixedClock, Catalogue: exampleRoles()})

	nb, err := validate.Default().DecodeCreate([]byte(validBody))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := s.Create(ctx, nb)
	if err != nil {
		fmt.Println(err)
		return
	}
	b.ID = "(new id)" // IDs are random; hide this one to keep the output stable
	out, _ := json.MarshalIndent(b, "", "  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "id": "(new id)",
	//   "role_id": "Um9sZToxOlY0S2E=",
	//   "user_id": "VXNlcjoxOmxQZzI=",
	//   "resource_type": "PROJECT",
	//   "resource_id": "TW9kZWw6MTpGdmxM",
	//   "created_at": "2024-06-01T10:00:00.000000Z",
	//   "updated_at": "2024-06-01T10:00:00.000000Z"
	// }
}

// The documented invalid example: a Space ID sent with resource_type
// PROJECT. The error names the field and says what is wrong.
func Example_invalid() {
	body := `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
	 "resource_type": "PROJECT", "resource_id": "U3BhY2U6MTp1Rk4x"}`
	_, err := validate.Default().DecodeCreate([]byte(body))

	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			fmt.Printf("%s (%s): %s\n", fe.Field, fe.Reason, fe.Message)
		}
	}
	fmt.Println(errors.Is(err, rbac.ErrInvalid))
	// Output:
	// resource_id (invalid): is a Space ID; want a Model or Project ID
	// true
}

// A second binding for the same user and project is a conflict, even with
// another role: change the existing binding's role instead.
func Example_conflict() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{Catalogue: exampleRoles()})
	first := rbac.NewBinding{RoleID: "Um9sZToxOlY0S2E=", UserID: "VXNlcjoxOmxQZzI=", ResourceType: rbac.Project, ResourceID: "TW9kZWw6MTpGdmxM"}
	b, err := s.Create(ctx, first)
	if err != nil {
		fmt.Println(err)
		return
	}

	second := first
	second.RoleID = "Um9sZToyOmRLMjQ=" // Role:2:dK24
	_, err = s.Create(ctx, second)
	fmt.Println(errors.Is(err, rbac.ErrConflict))

	b, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: second.RoleID})
	fmt.Println(b.RoleID, err)
	// Output:
	// true
	// Um9sZToyOmRLMjQ= <nil>
}

// Hosts that serve the library over HTTP map the three error categories
// to statuses in one place, and answer with RFC 9457 problem details.
func ExampleHTTPStatus() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{Catalogue: exampleRoles()})

	_, invalid := s.Get(ctx, "Um9sZToxOlY0S2E=")         // a Role ID, not a binding ID
	_, missing := s.Get(ctx, "Um9sZUJpbmRpbmc6MTphQmNE") // RoleBinding:1:aBcD, never created
	for _, err := range []error{nil, invalid, missing, rbac.ErrConflict, context.Canceled} {
		fmt.Println(rbac.HTTPStatus(err))
	}

	p := rbac.ProblemFor(invalid)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p)
	// Output:
	// 200
	// 400
	// 404
	// 409
	// 500
	// {
	//   "type": "about:blank",
	//   "title": "Bad Request",
	//   "status": 400,
	//   "detail": "invalid input: id: is a Role ID; want a RoleBinding ID",
	//   "errors": [
	//     {
	//       "field": "id",
	//       "reason": "invalid",
	//       "message": "is a Role ID; want a RoleBinding ID"
	//     }
	//   ]
	// }
}

func fixedClock() time.Time { return time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC) }
