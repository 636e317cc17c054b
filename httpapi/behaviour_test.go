package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
)

type listBody struct {
	Bindings   []map[string]any `json:"role_bindings"`
	Pagination struct {
		HasMore    bool   `json:"has_more"`
		NextCursor string `json:"next_cursor"`
	} `json:"pagination"`
}

func TestReadYourWrites(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, st.open)
			// User 4 gains Read-only on the space, and at once may read
			// Bob's binding there.
			w := f.do(t, keyAda, "POST", "/v2/role-bindings", f.expand(bindingBody, false))
			is.Equal(w.Code, 201) // create
			f.h = httpapi.New(f.s, f.c, httpapi.BearerKeys(map[string]httpapi.Principal{"u4": {UserID: f.ids["U4"]}}), httpapi.Options{})
			w = f.do(t, "u4", "GET", "/v2/role-bindings/"+url.PathEscape(f.ids["BOB_B"]), "")
			is.Equal(w.Code, 200) // get right after the grant
		})
	}
}

func TestPercentEncodedIDs(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, stores[0].open)
	// Standard base64 holds + / and =: the fixture's ID with all three
	// escaped, and IDs that only decoding shows to be wrong.
	w := f.do(t, keyAda, "GET", "/v2/role-bindings/"+f.expand("$BOB_B", true), "")
	is.Equal(w.Code, 200) // the fixture's ID, percent-encoded
	for _, raw := range []string{"Um9sZUJpbmRpbmc6OTk%3D%3D", "Um9sZUJpbmRpbmc6OTk%2B", "Um9%2FsZUJpbmRpbmc6OTk"} {
		w := f.do(t, keyAda, "GET", "/v2/role-bindings/"+raw, "")
		is.Equal(w.Code, 400) // a non-canonical or malformed ID, decoded, is one segment
		p := checkProblem(t, w, "/v2/role-bindings/"+mustUnescape(raw))
		is.Equal(p.Errors[0].Field, "id") // names id
	}
}

func mustUnescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestETagAndIfMatch(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, st.open)
			path := "/v2/role-bindings/" + f.expand("$BOB_B", true)
			w := f.do(t, keyAda, "GET", path, "")
			tag := w.Header().Get("ETag")
			is.True(strings.HasPrefix(tag, `"`)) // a strong ETag
			w = f.do(t, keyAda, "PATCH", path, f.expand(`{"role_id":"$READONLY"}`, false), "If-Match", tag)
			is.Equal(w.Code, 200)                  // the first change with the ETag read
			is.True(w.Header().Get("ETag") != tag) // a new ETag
			w = f.do(t, keyAda, "PATCH", path, f.expand(`{"role_id":"$MEMBER"}`, false), "If-Match", tag)
			is.Equal(w.Code, 409) // the second with the same, stale, ETag
			checkProblem(t, w, mustUnescape(path))
		})
	}
}

func TestCursorFromAnotherFilter(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, stores[0].open)
	var body listBody
	w := f.do(t, keyAda, "GET", "/v2/role-bindings?resource_type=SPACE&limit=1", "")
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &body))
	is.True(body.Pagination.HasMore) // more than one page
	w = f.do(t, keyAda, "GET", "/v2/role-bindings?resource_type=PROJECT&cursor="+url.QueryEscape(body.Pagination.NextCursor), "")
	is.Equal(w.Code, 400) // a binding cursor with another filter

	w = f.do(t, keyAda, "GET", "/v2/roles?is_predefined=true&limit=1", "")
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &body))
	is.True(body.Pagination.HasMore) // more than one predefined role
	w = f.do(t, keyAda, "GET", "/v2/roles?is_predefined=false&cursor="+url.QueryEscape(body.Pagination.NextCursor), "")
	is.Equal(w.Code, 400) // a role cursor with another filter
	w = f.do(t, keyAda, "GET", "/v2/roles?is_predefined=true&cursor="+url.QueryEscape(body.Pagination.NextCursor), "")
	is.Equal(w.Code, 200) // and with its own
}

// One readable binding among 100,000: every page is bounded, and paging
// to the end finds it exactly once.
func TestListFindsTheOneReadableBinding(t *testing.T) {
	is := is.New(t)
	s, c := rbactest.New(t)
	ctx := t.Context()
	const n = 100_000
	var wanted string
	for i := range n {
		rt, res := rbac.Space, rbactest.Space(10+i%1000)
		if i == n*3/4 {
			res = rbactest.Space(1) // the one space the reader can read
		}
		b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: rbactest.User(100 + i/1000), ResourceType: rt, ResourceID: res})
		is.NoErr(err)
		if i == n*3/4 {
			wanted = b.ID
		}
	}
	_, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	is.NoErr(err)
	h := httpapi.New(s, c, httpapi.BearerKeys(map[string]httpapi.Principal{"k": {UserID: rbactest.User(1)}}), httpapi.Options{})
	var found []string
	cursor, requests := "", 0
	for {
		requests++
		target := "/v2/role-bindings?resource_type=SPACE&limit=100&cursor=" + url.QueryEscape(cursor)
		req := httptest.NewRequestWithContext(ctx, "GET", target, nil)
		req.Header.Set("Authorization", "Bearer k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		is.Equal(w.Code, 200) // each page
		var body listBody
		is.NoErr(json.Unmarshal(w.Body.Bytes(), &body))
		for _, b := range body.Bindings {
			found = append(found, b["id"].(string))
		}
		if !body.Pagination.HasMore {
			break
		}
		cursor = body.Pagination.NextCursor
	}
	is.Equal(len(found), 2)       // the one among 100,000, and the reader's own
	is.Equal(found[0], wanted)    // in creation order
	is.True(requests > 1)         // the work was spread over bounded pages
	is.True(requests <= n/2000+2) // 20 store pages of 100 per request
}

// failingStore fails every read with an error full of storage text.
type failingStore struct{ httpapi.Store }

func (failingStore) Get(context.Context, string) (rbac.Binding, error) {
	return rbac.Binding{}, errors.New(`sqlstore: SELECT * FROM role_bindings: disk I/O error at /var/lib/secret.db`)
}

func TestInternalErrorsHideTheirCause(t *testing.T) {
	is := is.New(t)
	s, c := rbactest.New(t)
	var logged bytes.Buffer
	h := httpapi.New(failingStore{s}, c, httpapi.BearerKeys(keys), httpapi.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/v2/role-bindings/"+url.PathEscape(rbactest.Binding(1)), nil)
	req.Header.Set("Authorization", "Bearer "+keyAdmin)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	is.Equal(w.Code, 500) // internal
	p := checkProblem(t, w, req.URL.Path)
	is.Equal(p.Detail, "internal error")                   // generic
	is.True(!strings.Contains(w.Body.String(), "SELECT"))  // no SQL
	is.True(!strings.Contains(w.Body.String(), "secret"))  // no path
	is.True(p.Request != "")                               // a request ID
	is.Equal(w.Header().Get("X-Request-Id"), p.Request)    // in a header too
	is.True(strings.Contains(logged.String(), p.Request))  // logged with the ID
	is.True(strings.Contains(logged.String(), "disk I/O")) // and the cause
}

func TestPrefix(t *testing.T) {
	is := is.New(t)
	s, c := rbactest.New(t)
	mux := http.NewServeMux()
	mux.Handle("/api/", httpapi.New(s, c, httpapi.BearerKeys(keys), httpapi.Options{Prefix: "/api"}))
	for path, want := range map[string]int{"/api/v2/roles": 200, "/v2/roles": 404, "/api/v2/rolez": 404} {
		req := httptest.NewRequestWithContext(t.Context(), "GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+keyBob)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		is.Equal(w.Code, want) // path
	}
}

func TestRoleDescriptionOmittedWhenEmpty(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, stores[0].open)
	w := f.do(t, keyAdmin, "GET", "/v2/roles/"+f.expand("$GRANTER", true), "")
	is.Equal(w.Code, 200)
	is.True(!strings.Contains(w.Body.String(), "description")) // no description
	is.True(strings.Contains(w.Body.String(), `Z"`))           // timestamps in UTC, Z
}

func TestRestrictTwiceReturnsTheRecord(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, stores[0].open)
	body := f.expand(`{"resource_id":"$P1"}`, false)
	w1 := f.do(t, keyAda, "POST", "/v2/resource-restrictions", body)
	w2 := f.do(t, keyAda, "POST", "/v2/resource-restrictions", body)
	is.Equal(w1.Code, 200)
	is.Equal(w2.Code, 200)
	is.Equal(w1.Body.String(), w2.Body.String()) // the same record
	is.True(strings.Contains(w1.Body.String(), `"resource_type":"PROJECT"`))
	w := f.do(t, keyAda, "DELETE", "/v2/resource-restrictions/"+f.expand("$P1", true), "")
	is.Equal(w.Code, 204) // unrestrict
}
