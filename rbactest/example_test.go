package rbactest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
)

// projectHandler is a host service's handler under test: it serves a
// project to users who may read it.
func projectHandler(c *check.Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := c.Check(r.Header.Get("X-User-Id"), "PROJECT_READ", rbac.Project, r.PathValue("project"))
		switch {
		case err != nil:
			http.Error(w, err.Error(), rbac.HTTPStatus(err))
		case !ok:
			http.Error(w, "forbidden", http.StatusForbidden)
		default:
			fmt.Fprintln(w, "the project")
		}
	})
}

// A host's handler test: one call sets up a store and a checker following
// it, and the ID builders spell the users, spaces and projects. (An
// example has no *testing.T, so runTest lends it one: in a real test, the
// body below is the test function's.)
func Example() {
	runTest(func(t testing.TB) {
		s, c := rbactest.New(t)
		ctx := t.Context()
		// User 1 reads everything in space 1, project 1 among it.
		if err := s.SetProjectSpace(ctx, rbactest.Project(1), rbactest.Space(1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID,
			UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)}); err != nil {
			t.Fatal(err)
		}

		mux := http.NewServeMux()
		mux.Handle("GET /projects/{project}", projectHandler(c))
		for _, user := range []string{rbactest.User(1), rbactest.User(2)} {
			req := httptest.NewRequest("GET", "/projects/"+rbactest.Project(1), nil)
			req.Header.Set("X-User-Id", user)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			fmt.Println(rec.Code)
		}
	})
	// Output:
	// 200
	// 403
}

// runTest runs f with a stand-in for the *testing.T that a real test
// has, ending as a test ends: its context cancelled, then its cleanups
// run, last registered first. A failure panics, to be loud.
func runTest(f func(t testing.TB)) {
	ctx, cancel := context.WithCancel(context.Background())
	t := &exampleT{ctx: ctx}
	defer func() {
		cancel()
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()
	f(t)
}

// exampleT is as much of a testing.TB as the example uses. The embedded
// interface is nil: a method not written out here panics if called.
type exampleT struct {
	testing.TB
	ctx      context.Context
	cleanups []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Context() context.Context          { return t.ctx }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
