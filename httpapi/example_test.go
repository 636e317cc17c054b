package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
)

// A host mounts the handler over a store and a checker that follows it,
// with its own authentication.
func Example() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	c, _ := check.New(check.Options{})
	f, _ := check.Follow(ctx, c, s, check.FollowOptions{})
	defer f.Close()

	ada, space := ids.Encode("User", "1", "lPg2"), ids.Encode("Space", "1", "uFN1")
	s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: ada, ResourceType: rbac.Space, ResourceID: space})

	auth := httpapi.BearerKeys(map[string]httpapi.Principal{"ada-secret": {UserID: ada}})
	mux := http.NewServeMux()
	mux.Handle("/api/", httpapi.New(s, c, auth, httpapi.Options{Prefix: "/api"}))

	send := func(method, path, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer ada-secret")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(method, w.Code, w.Header().Get("Content-Type"))
	}
	send("POST", "/api/v2/role-bindings", `{"role_id":"`+perm.ReadOnlyRoleID+`","user_id":"`+ids.Encode("User", "2", "Zz9")+
		`","resource_type":"SPACE","resource_id":"`+space+`"}`)
	send("POST", "/api/v2/role-bindings", `{"role_id":"`+perm.ReadOnlyRoleID+`"}`)
	send("GET", "/api/v2/role-bindings?resource_type=SPACE&limit=10", "")
	// Output:
	// POST 201 application/json
	// POST 400 application/problem+json
	// GET 200 application/json
}
