package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

// update rewrites the golden files of testdata instead of comparing.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	ada     = ids.Encode("User", "1", "lPg2")
	bob     = ids.Encode("User", "2", "lPg2")
	space   = ids.Encode("Space", "1", "uFN1")
	project = ids.Encode("Model", "1", "FvlL")
	member  = ids.Encode("Role", "2", "Member")
)

// session runs commands against one database and keeps the names of
// the IDs the store minted, so that golden files hold names, not random
// numbers.
type session struct {
	t     *testing.T
	db    string
	names map[string]string
}

func (s *session) run(args ...string) result {
	s.t.Helper()
	return rbacRun(s.t, s.t.Context(), nil, append([]string{"--db", s.db}, args...)...)
}

// ok runs a command that must succeed and returns its stdout.
func (s *session) ok(args ...string) string {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 || r.stderr != "" {
		s.t.Fatalf("rbac %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// id reads the "id" of a JSON body and names it.
func (s *session) id(body, name string) string {
	s.t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == "" {
		s.t.Fatalf("no id in %q: %v", body, err)
	}
	s.names[v.ID] = name
	return v.ID
}

var (
	timeRE   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`)
	spacesRE = regexp.MustCompile(`  +`)
)

// golden compares out, with minted IDs named, times replaced and column
// padding made even (names are not as wide as IDs), with
// testdata/name.golden.
func (s *session) golden(name, out string) {
	s.t.Helper()
	for id, n := range s.names {
		out = strings.ReplaceAll(out, id, n)
	}
	out = timeRE.ReplaceAllString(out, "TIME")
	out = spacesRE.ReplaceAllString(out, "   ")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			s.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != out {
		s.t.Errorf("%s: got\n%s\nwant\n%s", path, out, want)
	}
}

func TestSession(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			is := is.New(t)
			s := &session{t: t, db: b.db, names: map[string]string{}}

			// The first administrator of a space; a second is refused.
			s.id(s.ok("bootstrap", "--user-id", ada, "--space-id", space, "-o", "json"), "BINDING-ADA")
			r := s.run("bootstrap", "--user-id", bob, "--space-id", space)
			is.Equal(r.code, exitFailed)
			is.Equal(r.stderr, "rbac: space "+space+" already has an administrator; grant access with rbac role-bindings create, or pass --force\n")

			bobProject := s.id(s.ok("role-bindings", "create", "--user-id", bob, "--role-id", member, "--resource-type", "PROJECT", "--resource-id", project, "-o", "json"), "BINDING-BOB")
			s.golden("role-bindings-list", s.ok("role-bindings", "list"))
			s.golden("role-bindings-get", s.ok("role-bindings", "get", bobProject))

			// A check on the project inherits from the space once the
			// project is in it.
			r = s.run("check", ada, "PROJECT_READ", "PROJECT", project)
			is.Equal(r.code, exitFailed) // denied: the project is in no space yet
			is.Equal(r.stdout, "denied\n")
			is.Equal(r.stderr, "")
			s.ok("projects", "set-space", project, space)
			is.Equal(s.ok("check", ada, "PROJECT_READ", "PROJECT", project), "allowed\n")
			s.golden("explain", s.ok("explain", ada, "PROJECT_READ", "PROJECT", project))
			s.golden("who-can", s.ok("who-can", "PROJECT_READ", "PROJECT", project))
			s.golden("resources-for", s.ok("resources-for", bob, "PROJECT_READ", "PROJECT"))

			// Roles.
			ops := s.id(s.ok("roles", "create", "--name", "ops", "--permission", "PROJECT_READ,SPACE_READ", "--permission", "PROJECT_READ", "-o", "json"), "ROLE-OPS")
			s.golden("roles-get", s.ok("roles", "get", ops))
			s.golden("roles-list", s.ok("roles", "list", "--predefined", "true"))
			s.ok("roles", "update", ops, "--description", "operators")
			r = s.run("roles", "update", ops, "--permission", "NOPE")
			is.Equal(r.code, exitUsage)
			is.Equal(r.stderr, `rbac: --permission: item 0 ("NOPE") is not a known permission`+"\n")
			s.ok("role-bindings", "update", bobProject, "--role-id", ops)
			r = s.run("roles", "delete", ops)
			is.Equal(r.code, exitFailed)
			is.Equal(r.stderr, "rbac: role "+ops+" still has role bindings\n")

			// A stale precondition is a conflict and changes nothing.
			r = s.run("role-bindings", "update", bobProject, "--role-id", member, "--if-updated-at", "2001-01-01T00:00:00Z")
			is.Equal(r.code, exitFailed)
			is.True(strings.HasPrefix(r.stderr, "rbac: role binding "+bobProject+" changed at "))

			// Restrictions.
			s.ok("resource-restrictions", "create", "--resource-id", project)
			s.golden("resource-restrictions-list", s.ok("resource-restrictions", "list"))
			r = s.run("explain", ada, "PROJECT_READ", "PROJECT", project)
			is.Equal(r.code, 0) // Admin holds PROJECT_RESTRICT, so it reaches in
			s.ok("resource-restrictions", "delete", project)
			r = s.run("resource-restrictions", "delete", project)
			is.Equal(r.code, exitFailed)
			is.Equal(r.stderr, "rbac: project "+project+" is not restricted\n")

			// Bad input names the flag, and writes nothing.
			before := s.ok("changes")
			r = s.run("role-bindings", "create", "--user-id", "VXNlcjoxOmxQZzJ=", "--role-id", member, "--resource-type", "space", "--resource-id", space)
			is.Equal(r.code, exitUsage)
			is.Equal(r.stderr, "rbac: --user-id: is not a canonical global ID: non-zero trailing bits; --resource-type: must be SPACE or PROJECT\n")
			r = s.run("role-bindings", "get", "bm9wZQ==")
			is.Equal(r.code, exitUsage)
			is.Equal(r.stderr, "rbac: BINDING_ID: is not a canonical global ID: no number segment: want Type:Number or Type:Number:Key\n")
			r = s.run("role-bindings", "list", "--limit", "x")
			is.Equal(r.code, exitUsage)
			is.Equal(r.stderr, `rbac: --limit: "x" is not a valid whole number`+"\n")
			r = s.run("check", ada, "PROJECT_READ", "PROJECT")
			is.Equal(r.code, exitUsage)
			is.Equal(s.ok("changes"), before) // nothing was written

			// Delete, then it is gone.
			is.Equal(s.ok("role-bindings", "delete", bobProject, "-o", "json"), "")
			r = s.run("role-bindings", "get", bobProject)
			is.Equal(r.code, exitFailed)
			is.Equal(r.stderr, "rbac: role binding "+bobProject+" not found\n")

			// --force makes a second administrator.
			s.id(s.ok("bootstrap", "--user-id", bob, "--space-id", space, "--force", "-o", "json"), "BINDING-BOB-ADMIN")
			lines := strings.Split(strings.TrimSuffix(s.ok("changes", "--after", "4"), "\n"), "\n")
			var last struct {
				Revision uint64 `json:"revision"`
				Kind     string `json:"kind"`
			}
			is.NoErr(json.Unmarshal([]byte(lines[len(lines)-1]), &last))
			is.Equal(last.Kind, "binding.created")
			is.Equal(last.Revision, uint64(len(lines)+4)) // one line per change after 4
		})
	}
}

// TestWireBodies holds the JSON output to the bodies the REST API
// serves for the same data (package httpapi, whose encoders are not
// exported).
func TestWireBodies(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := &session{t: t, db: filepath.Join(t.TempDir(), "rbac.db"), names: map[string]string{}}
	bid := s.id(s.ok("role-bindings", "create", "--user-id", bob, "--role-id", member, "--resource-type", "SPACE", "--resource-id", space, "-o", "json"), "B")
	rid := s.id(s.ok("roles", "create", "--name", "ops", "--permission", "PROJECT_READ", "-o", "json"), "R")
	s.ok("resource-restrictions", "create", "--resource-id", project)

	st, err := sqlstore.OpenSQLite(ctx, s.db, sqlstore.Options{})
	is.NoErr(err)
	defer st.Close()
	c, err := check.New(check.Options{})
	is.NoErr(err)
	f, err := check.Follow(ctx, c, st, check.FollowOptions{})
	is.NoErr(err)
	defer f.Close()
	h := httpapi.New(st, c, func(*http.Request) (httpapi.Principal, error) { return httpapi.Principal{Admin: true}, nil }, httpapi.Options{})
	get := func(path string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		is.Equal(w.Code, 200) // GET path
		return w.Body.String() + "\n"
	}
	cases := []struct{ path, cli string }{
		{"/v2/role-bindings/" + bid, s.ok("role-bindings", "get", bid, "-o", "json")},
		{"/v2/role-bindings?resource_type=SPACE", s.ok("role-bindings", "list", "--resource-type", "SPACE", "-o", "json")},
		{"/v2/roles/" + rid, s.ok("roles", "get", rid, "-o", "json")},
		{"/v2/roles?is_predefined=false", s.ok("roles", "list", "--predefined", "false", "-o", "json")},
		{"/v2/resource-restrictions", s.ok("resource-restrictions", "list", "-o", "json")},
	}
	for _, tc := range cases {
		is.Equal(tc.cli, get(tc.path)) // the REST API's body
	}
}

// TestInterrupted: a cancelled context (SIGINT) stops a command with exit
// status 1, and stops changes --follow with 0.
func TestInterrupted(t *testing.T) {
	is := is.New(t)
	db := filepath.Join(t.TempDir(), "rbac.db")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := rbacRun(t, ctx, nil, "--db", db, "role-bindings", "list")
	is.Equal(r.code, exitFailed)
	is.Equal(r.stderr, "rbac: interrupted\n")

	is.Equal(rbacRun(t, t.Context(), nil, "--db", db, "projects", "set-space", project, space).code, 0)
	// Interrupt once the change is out, however slow the machine: a
	// timeout could fire before the store is open.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	out := &cancelOn{want: `"kind":"project.space_set",`, cancel: cancel}
	var stderr bytes.Buffer
	code := run(ctx, []string{"--db", db, "changes", "--follow", "--interval", "10ms"}, strings.NewReader(""), out, &stderr, func(string) string { return "" })
	is.Equal(code, 0) // --follow ends cleanly when interrupted
	is.Equal(stderr.String(), "")
	is.True(strings.Contains(out.buf.String(), `"kind":"project.space_set",`)) // the change made before
}

// cancelOn is a writer that cancels a context once what was written
// holds want.
type cancelOn struct {
	want   string
	cancel func()
	buf    bytes.Buffer
}

func (w *cancelOn) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.cancel()
	}
	return n, err
}
