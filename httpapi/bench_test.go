package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
)

// nopWriter is a ResponseWriter that keeps nothing, so that benchmarks
// measure the handler rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// headerAuth authenticates by a header the benchmark sets: the cost of
// the host's own authentication is not the handler's.
func headerAuth(r *http.Request) (httpapi.Principal, error) {
	return httpapi.Principal{UserID: r.Header.Get("X-User")}, nil
}

func BenchmarkHandler(b *testing.B) {
	s, c := rbactest.New(b)
	ctx := b.Context()
	_, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	if err != nil {
		b.Fatal(err)
	}
	target, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: rbactest.User(2), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	if err != nil {
		b.Fatal(err)
	}
	h := httpapi.New(s, c, headerAuth, httpapi.Options{})

	b.Run("route=get", func(b *testing.B) {
		b.ReportAllocs()
		req := httptest.NewRequest("GET", "/v2/role-bindings/"+url.PathEscape(target.ID), nil)
		req.Header.Set("X-User", rbactest.User(1))
		w := &nopWriter{h: http.Header{}}
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
	b.Run("route=create", func(b *testing.B) {
		b.ReportAllocs()
		w := &nopWriter{h: http.Header{}}
		i := 0
		for b.Loop() {
			i++
			body := `{"role_id":"` + perm.ReadOnlyRoleID + `","user_id":"` + rbactest.User(1000+i) + `","resource_type":"SPACE","resource_id":"` + rbactest.Space(1) + `"}`
			req := httptest.NewRequest("POST", "/v2/role-bindings", strings.NewReader(body))
			req.Header.Set("X-User", rbactest.User(1))
			req.Header.Set("Content-Type", "application/json")
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkHandlerBaseline is the floor for route=get: a bare handler
// that looks the binding up in a map and writes it with encoding/json.
func BenchmarkHandlerBaseline(b *testing.B) {
	s, _ := rbactest.New(b)
	target, err := s.Create(b.Context(), rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: rbactest.User(2), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]rbac.Binding{target.ID: target}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/role-bindings/{binding_id}", func(w http.ResponseWriter, r *http.Request) {
		bd, ok := m[r.PathValue("binding_id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, _ := json.Marshal(bd)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	b.Run("route=get", func(b *testing.B) {
		b.ReportAllocs()
		req := httptest.NewRequest("GET", "/v2/role-bindings/"+url.PathEscape(target.ID), nil)
		w := &nopWriter{h: http.Header{}}
		for b.Loop() {
			clear(w.h)
			mux.ServeHTTP(w, req)
		}
	})
}

// BenchmarkRequirePermission measures the middleware's allow path against
// the same route without it.
func BenchmarkRequirePermission(b *testing.B) {
	s, c := rbactest.New(b)
	_, err := s.Create(b.Context(), rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	space := func(r *http.Request) (rbac.ResourceType, string, error) { return rbac.Space, r.PathValue("space"), nil }
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"middleware=without", ok},
		{"middleware=with", httpapi.RequirePermission(c, headerAuth, "PROJECT_READ", space, ok)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			mux := http.NewServeMux()
			mux.Handle("GET /spaces/{space}", bc.h)
			req := httptest.NewRequest("GET", "/spaces/"+url.PathEscape(rbactest.Space(1)), nil)
			req.Header.Set("X-User", rbactest.User(1))
			w := &nopWriter{h: http.Header{}}
			for b.Loop() {
				mux.ServeHTTP(w, req)
			}
		})
	}
}
