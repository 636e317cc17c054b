package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
	"github.com/rolebind/rbac/sqlstore"
)

// The API keys of the fixture's principals.
const (
	keyAdmin   = "admin-key"   // an account administrator
	keyAda     = "ada-key"     // user 1: Admin role on space 1
	keyBob     = "bob-key"     // user 2: Member on space 1, no ROLE_BINDING_*
	keyCy      = "cy-key"      // user 3: Read-only on space 1
	keyGranter = "granter-key" // user 5: a custom role with ROLE_BINDING_* only
)

var keys = map[string]httpapi.Principal{
	keyAdmin:   {Admin: true},
	keyAda:     {UserID: rbactest.User(1)},
	keyBob:     {UserID: rbactest.User(2)},
	keyCy:      {UserID: rbactest.User(3)},
	keyGranter: {UserID: rbactest.User(5)},
}

// fixture is a handler over a store holding one space with two projects,
// and the IDs a test refers to by name.
type fixture struct {
	h   http.Handler
	s   httpapi.Store
	c   *check.Checker
	ids map[string]string
}

// stores are the stores every table runs on.
var stores = []struct {
	name string
	open func(t testing.TB) (httpapi.Store, *check.Checker)
}{
	{"memstore", func(t testing.TB) (httpapi.Store, *check.Checker) { return rbactest.New(t) }},
	{"sqlite", func(t testing.TB) (httpapi.Store, *check.Checker) {
		s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "rbac.db"), sqlstore.Options{})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		c, err := check.New(check.Options{})
		if err != nil {
			t.Fatalf("checker: %v", err)
		}
		f, err := check.Follow(t.Context(), c, s, check.FollowOptions{})
		if err != nil {
			t.Fatalf("follow: %v", err)
		}
		t.Cleanup(func() { f.Close(); s.Close() })
		return s, c
	}},
}

func newFixture(t testing.TB, open func(testing.TB) (httpapi.Store, *check.Checker)) *fixture {
	t.Helper()
	s, c := open(t)
	ctx := t.Context()
	f := &fixture{s: s, c: c, ids: map[string]string{
		"SPACE": rbactest.Space(1), "SPACE2": rbactest.Space(2), "P1": rbactest.Project(1), "P2": rbactest.Project(2),
		"U1": rbactest.User(1), "U2": rbactest.User(2), "U3": rbactest.User(3), "U4": rbactest.User(4), "U5": rbactest.User(5),
		"ADMIN": perm.AdminRoleID, "MEMBER": perm.MemberRoleID, "READONLY": perm.ReadOnlyRoleID,
		"NOROLE": rbactest.Role(99), "NOBINDING": rbactest.Binding(99),
	}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetProjectSpace(ctx, f.ids["P1"], f.ids["SPACE"]))
	must(s.SetProjectSpace(ctx, f.ids["P2"], f.ids["SPACE"]))
	granter, err := s.CreateRole(ctx, rbac.NewRole{Name: "Granter", Permissions: []string{"ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE", "ROLE_BINDING_READ"}})
	must(err)
	f.ids["GRANTER"] = granter.ID
	bind := func(name, user, role string) {
		b, err := s.Create(ctx, rbac.NewBinding{RoleID: role, UserID: user, ResourceType: rbac.Space, ResourceID: f.ids["SPACE"]})
		must(err)
		f.ids[name] = b.ID
	}
	bind("ADA_B", f.ids["U1"], perm.AdminRoleID)
	bind("BOB_B", f.ids["U2"], perm.MemberRoleID)
	bind("CY_B", f.ids["U3"], perm.ReadOnlyRoleID)
	bind("GRANTER_B", f.ids["U5"], granter.ID)
	f.h = httpapi.New(s, c, httpapi.BearerKeys(keys), httpapi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return f
}

// expand replaces $NAME with the fixture's ID of that name; in a path,
// the ID is percent-encoded, + / and = included.
func (f *fixture) expand(s string, inPath bool) string {
	// Longest names first, so that $SPACE2 is not read as $SPACE.
	names := slices.SortedFunc(maps.Keys(f.ids), func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, k := range names {
		v := f.ids[k]
		if inPath {
			v = strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(v)
		}
		pairs = append(pairs, "$"+k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// do sends one request and returns the recorder.
func (f *fixture) do(t testing.TB, key, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// problem is what an error body must hold.
type problem struct {
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail"`
	Instance string            `json:"instance"`
	Errors   []rbac.FieldError `json:"errors"`
	Request  string            `json:"request_id"`
}

// checkProblem checks that w is a well-formed problem and returns it.
func checkProblem(t testing.TB, w *httptest.ResponseRecorder, path string) problem {
	t.Helper()
	is := is.New(t)
	is.Equal(w.Header().Get("Content-Type"), "application/problem+json") // content type
	var p problem
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &p)) // problem body
	is.Equal(p.Status, w.Code)                   // status in the body
	is.True(p.Title != "")                       // title
	is.True(p.Detail != "")                      // detail
	is.Equal(p.Instance, path)                   // instance
	if w.Code == 400 {
		is.True(len(p.Errors) > 0) // field errors on a 400
	}
	return p
}
