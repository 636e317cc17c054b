package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary requests: no panic, and never a 5xx.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, stores[0].open)
	for _, tc := range routeCases {
		f.Add(tc.method, fx.expand(tc.path, true), fx.expand(tc.body, false))
	}
	f.Add("GET", "/v2/role-bindings?resource_type=SPACE&cursor=%ff", "")
	f.Add("PATCH", "/v2/role-bindings/%2F%2B%3D", `{"role_id":"\ud800"}`)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := newRequest(method, target, body)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+keyAda)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, target, body, w.Code, w.Body)
		}
	})
}

// newRequest is httptest.NewRequest without its panics on input that no
// server would have parsed.
func newRequest(method, target, body string) (r *http.Request, err error) {
	defer func() {
		if recover() != nil {
			err = errBadRequest
		}
	}()
	return httptest.NewRequest(method, target, strings.NewReader(body)), nil
}

var errBadRequest = errors.New("not a request a server would parse")
