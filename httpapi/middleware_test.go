package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
)

func TestRequirePermission(t *testing.T) {
	s, c := rbactest.New(t)
	_, err := s.Create(t.Context(), rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	if err != nil {
		t.Fatal(err)
	}
	space := func(r *http.Request) (rbac.ResourceType, string, error) {
		if r.PathValue("space") == "gone" {
			return "", "", rbac.NotFound("space gone not found")
		}
		return rbac.Space, r.PathValue("space"), nil
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("GET /spaces/{space}", httpapi.RequirePermission(c, httpapi.BearerKeys(keys), "SPACE_READ", space, ok))
	for _, tc := range []struct {
		name, key, space string
		status           int
	}{
		{"a reader of the space", keyAda, rbactest.Space(1), 204},
		{"an account administrator", keyAdmin, rbactest.Space(1), 204},
		{"no credentials", "", rbactest.Space(1), 401},
		{"a space the user has no role on", keyBob, rbactest.Space(2), 403},
		{"a malformed space", keyBob, "abc", 400},
		{"a space the host does not know", keyBob, "gone", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			req := httptest.NewRequestWithContext(t.Context(), "GET", "/spaces/"+url.PathEscape(tc.space), nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			is.Equal(w.Code, tc.status) // status
			if w.Code >= 400 {
				checkProblem(t, w, req.URL.Path)
			}
		})
	}
	t.Run("a user with the permission", func(t *testing.T) {
		is := is.New(t)
		user := rbactest.User(1)
		h := httpapi.RequirePermission(c, func(*http.Request) (httpapi.Principal, error) {
			return httpapi.Principal{UserID: user}, nil
		}, "SPACE_READ", space, ok)
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
		req.SetPathValue("space", rbactest.Space(1))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		is.Equal(w.Code, 204) // allowed
		nop := &nopWriter{h: http.Header{}}
		allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(nop, req) })
		is.Equal(allocs, 0.0) // nothing allocated on the allow path
	})
}
