package check_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
)

// exampleChecker returns a checker that follows an in-memory store: Ada
// is a member of a space with two projects, the second restricted. The
// checker learns everything from the store, the roles included.
func exampleChecker() *check.Checker {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	space := ids.Encode("Space", "1", "uFN1")
	must(s.SetProjectSpace(ctx, ids.Encode("Model", "1", "FvlL"), space))
	must(s.SetProjectSpace(ctx, ids.Encode("Model", "2", "Kq9z"), space))
	must(s.RestrictProject(ctx, ids.Encode("Model", "2", "Kq9z")))
	_, err := s.Create(ctx, rbac.NewBinding{
		RoleID: perm.MemberRoleID, UserID: ids.Encode("User", "1", "lPg2"),
		ResourceType: rbac.Space, ResourceID: space,
	})
	must(err)
	c, err := check.New(check.Options{})
	must(err)
	must(c.Load(ctx, s)) // or check.Follow, to keep it current
	return c
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func ExampleChecker_Explain() {
	c := exampleChecker()
	ada := ids.Encode("User", "1", "lPg2")

	ok, err := c.Check(ada, "PROJECT_READ", rbac.Project, ids.Encode("Model", "1", "FvlL"))
	fmt.Println(ok, err)

	d, _ := c.Explain(ada, "PROJECT_READ", rbac.Project, ids.Encode("Model", "1", "FvlL"))
	fmt.Println(d.Reason, d.RoleName, d.ViaType)

	d, _ = c.Explain(ada, "PROJECT_READ", rbac.Project, ids.Encode("Model", "2", "Kq9z"))
	fmt.Println(d.Allowed, d.Reason)

	_, err = c.Check(ada, "PROJECT_READS", rbac.Project, ids.Encode("Model", "1", "FvlL"))
	fmt.Println(errors.Is(err, rbac.ErrInvalid))
	// Output:
	// true <nil>
	// inherited Member SPACE
	// false restricted
	// true
}

// A host wires the checker into its HTTP stack as middleware: the library
// core speaks no HTTP, the host maps its routes to permissions and IDs.
func Example_middleware() {
	c := exampleChecker()
	require := func(perm string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user := r.Header.Get("X-User-Id") // the host's authentication sets it
			ok, err := c.Check(user, perm, rbac.Project, r.PathValue("project"))
			switch {
			case err != nil:
				http.Error(w, err.Error(), rbac.HTTPStatus(err))
			case !ok:
				http.Error(w, "forbidden", http.StatusForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /projects/{project}", require("PROJECT_READ", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the project")
	})))

	for _, project := range []string{ids.Encode("Model", "1", "FvlL"), ids.Encode("Model", "2", "Kq9z"), "garbage"} {
		req := httptest.NewRequest("GET", "/projects/"+project, nil)
		req.Header.Set("X-User-Id", ids.Encode("User", "1", "lPg2"))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 403
	// 400
}

func ExampleChecker_CanCreateBinding() {
	c := exampleChecker()
	ada := ids.Encode("User", "1", "lPg2")
	err := c.CanCreateBinding(ada, rbac.NewBinding{
		RoleID: perm.ReadOnlyRoleID, UserID: ids.Encode("User", "2", "Zz9"),
		ResourceType: rbac.Space, ResourceID: ids.Encode("Space", "1", "uFN1"),
	})
	var d *check.Denied
	fmt.Println(errors.Is(err, rbac.ErrForbidden), errors.As(err, &d) && d.Reason == check.MissingPermission, d.Missing)
	// Output:
	// true true [ROLE_BINDING_CREATE]
}
