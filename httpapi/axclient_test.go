package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
	"github.com/rolebind/rbac/sqlstore"
)

// axClientDir holds the Node script and its pinned client; .ci/run
// installs the client there with npm ci from the committed lockfile.
const axClientDir = "testdata/axclient"

// axClientVersion is the version package.json pins; the test refuses
// any other, so that a stale node_modules cannot pass for the pinned one.
const axClientVersion = "1.28.0"

// TestAXClient drives the handler with Arize's own TypeScript client,
// @arizeai/ax-client, over a real loopback listener: every role-binding,
// role and resource-restriction helper, the error classes it raises, and
// its raw typed client for the strict decoding the helpers cannot reach.
// What the client should see is written here, case by case; the script
// only reports what it saw.
func TestAXClient(t *testing.T) {
	node := needAXClient(t)
	t.Run("store=memory,prefix=/ax", func(t *testing.T) {
		s, c := rbactest.New(t)
		runAXClient(t, node, s, c, "/ax")
	})
	t.Run("store=sqlite", func(t *testing.T) {
		s, c := openFollowedSQLite(t)
		runAXClient(t, node, s, c, "")
	})
}

// needAXClient returns the path of node, or skips the test when node or
// the installed client is missing; in CI (env CI set) it fails instead,
// since a skip there would hide that the client never ran.
func needAXClient(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + " (.ci/run installs it: npm ci in httpapi/" + axClientDir + ")"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	data, err := os.ReadFile(filepath.Join(axClientDir, "node_modules", "@arizeai", "ax-client", "package.json"))
	if err != nil {
		missing("@arizeai/ax-client is not installed: %v", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(data, &pkg); err != nil || pkg.Version != axClientVersion {
		t.Fatalf("@arizeai/ax-client %q is installed, want %s: run npm ci in httpapi/%s", pkg.Version, axClientVersion, axClientDir)
	}
	return node
}

// openFollowedSQLite returns a SQLite store in the test's temporary directory
// and a checker following it, both closed when the test ends.
func openFollowedSQLite(tb testing.TB) (*sqlstore.Store, *check.Checker) {
	tb.Helper()
	s, err := sqlstore.OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "rbac.db"), sqlstore.Options{})
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	c, err := check.New(check.Options{})
	if err != nil {
		tb.Fatalf("new checker: %v", err)
	}
	f, err := check.Follow(tb.Context(), c, s, check.FollowOptions{})
	if err != nil {
		tb.Fatalf("follow: %v", err)
	}
	tb.Cleanup(f.Close)
	return s, c
}

// bearerAuth authenticates as Arize's clients do: an API key sent as a
// bearer token, looked up in byKey.
func bearerAuth(byKey map[string]httpapi.Principal) httpapi.Authenticate {
	return func(r *http.Request) (httpapi.Principal, error) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || key == "" {
			return httpapi.Principal{}, errors.New("no bearer token")
		}
		p, ok := byKey[key]
		if !ok {
			return httpapi.Principal{}, errors.New("unknown API key")
		}
		return p, nil
	}
}

// serveLoopback serves h on a free port of 127.0.0.1 through a real listener and
// http.Server, so that clients go through the kernel's TCP stack, HTTP
// parsing and connection reuse as they would in production, and returns
// the base URL. The server shuts down when the test ends.
func serveLoopback(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shut down the server: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// axFixture is what the script is told: where the server is, each
// principal's API key, and the IDs the cases use.
type axFixture struct {
	BaseURL string            `json:"baseUrl"`
	Keys    map[string]string `json:"keys"`
	IDs     map[string]string `json:"ids"`
}

// axResult is one line of the script's output: a helper's value or the
// error it threw, or a raw call's response.
type axResult struct {
	Name    string          `json:"name"`
	OK      bool            `json:"ok"`
	Error   string          `json:"error"`
	Status  int             `json:"status"`
	Message string          `json:"message"`
	Value   json.RawMessage `json:"value"`

	// Raw calls only.
	ContentType string          `json:"contentType"`
	RequestID   string          `json:"requestId"`
	Allow       string          `json:"allow"`
	ETag        string          `json:"etag"`
	Data        json.RawMessage `json:"data"`
	Problem     *axProblem      `json:"problem"`
}

// outcome says what happened in the words of the expectations: "ok", the
// client's error class and status, or, for a raw call, the HTTP status.
func (r axResult) outcome(raw bool) string {
	switch {
	case raw:
		return fmt.Sprintf("HTTP %d", r.Status)
	case r.OK:
		return "ok"
	default:
		return fmt.Sprintf("%s %d", r.Error, r.Status)
	}
}

// axProblem is an RFC 9457 problem as WIRE.md section 4 shapes it.
type axProblem struct {
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field   string `json:"field"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p *axProblem) fields() []string {
	var fs []string
	for _, e := range p.Errors {
		fs = append(fs, e.Field)
	}
	slices.Sort(fs)
	return fs
}

// Values as the script reports them (its binding, role and restriction
// helpers rename the client's camel-case fields only).
type axBinding struct {
	ID           string   `json:"id"`
	UserID       string   `json:"userId"`
	RoleID       string   `json:"roleId"`
	ResourceType string   `json:"resourceType"`
	ResourceID   string   `json:"resourceId"`
	CreatedAt    string   `json:"createdAt"`
	UpdatedAt    string   `json:"updatedAt"`
	Keys         []string `json:"keys"`
}

type axRole struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Permissions  []string `json:"permissions"`
	IsPredefined bool     `json:"isPredefined"`
	CreatedAt    string   `json:"createdAt"`
	UpdatedAt    string   `json:"updatedAt"`
}

type axRestriction struct {
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
	CreatedAt    string `json:"createdAt"`
}

type axRestrictions struct {
	Restrictions []axRestriction `json:"restrictions"`
	HasMore      bool            `json:"hasMore"`
}

type axListing struct {
	IDs   []string `json:"ids"`
	Pages int      `json:"pages"`
}

// The users of the scenario. alice administers space 1; bob is a member
// there (no access management); carol has nothing to start with; dave
// holds the custom role Binder on space 1, which may manage bindings
// but not much else, so that granting more is an escalation; erin and
// frank are granted things during the run.
var (
	axAlice = rbactest.User(1)
	axBob   = rbactest.User(2)
	axCarol = rbactest.User(3)
	axDave  = rbactest.User(4)
	axErin  = rbactest.User(5)
	axFrank = rbactest.User(6)
)

// seedAX writes what the script starts from: space 1 with projects 1 and
// 2, space 2 with project 3, the custom role Binder, the bindings of
// alice, bob and dave, and enough other bindings that listing at limit
// 100 takes more than one page. It returns the Binder role's ID.
func seedAX(t *testing.T, s httpapi.Store) string {
	t.Helper()
	is := is.New(t)
	ctx := t.Context()
	for _, link := range []struct{ project, space string }{
		{rbactest.Project(1), rbactest.Space(1)},
		{rbactest.Project(2), rbactest.Space(1)},
		{rbactest.Project(3), rbactest.Space(2)},
	} {
		is.NoErr(s.SetProjectSpace(ctx, link.project, link.space)) // link a project to its space
	}
	binder, err := s.CreateRole(ctx, rbac.NewRole{Name: "Binder", Permissions: []string{
		perm.RoleBindingCreate, perm.RoleBindingDelete, "ROLE_BINDING_READ", "PROJECT_READ",
	}})
	is.NoErr(err) // create the Binder role
	bind := func(user, role string, rt rbac.ResourceType, resource string) {
		t.Helper()
		_, err := s.Create(ctx, rbac.NewBinding{UserID: user, RoleID: role, ResourceType: rt, ResourceID: resource})
		is.NoErr(err) // seed a binding
	}
	bind(axAlice, perm.AdminRoleID, rbac.Space, rbactest.Space(1))
	bind(axBob, perm.MemberRoleID, rbac.Space, rbactest.Space(1))
	bind(axDave, binder.ID, rbac.Space, rbactest.Space(1))
	// Users 100 to 219 on the two spaces, users 300 to 339 on projects
	// 1 and 3: space 2's and project 3's are out of alice's sight.
	for n := 100; n < 220; n++ {
		bind(rbactest.User(n), perm.ReadOnlyRoleID, rbac.Space, rbactest.Space(1+n%3/2))
	}
	for n := 300; n < 340; n++ {
		bind(rbactest.User(n), perm.ReadOnlyRoleID, rbac.Project, rbactest.Project(1+n%2*2))
	}
	return binder.ID
}

// runAXClient seeds s, serves it under prefix, runs the script and
// checks every case it reports, then compares the listings the client
// paged through with the store's own.
func runAXClient(t *testing.T, node string, s httpapi.Store, c *check.Checker, prefix string) {
	binder := seedAX(t, s)
	principals := map[string]httpapi.Principal{
		"ak-admin": {UserID: rbactest.User(900), Admin: true},
		"ak-alice": {UserID: axAlice},
		"ak-bob":   {UserID: axBob},
		"ak-carol": {UserID: axCarol},
		"ak-dave":  {UserID: axDave},
	}
	// The store fails, as storage that is down would, for one binding ID:
	// the client must get a 500 with a generic detail and a request ID,
	// and none of the cause's text.
	failing := oneFailingStore{Store: s, id: rbactest.Binding(777777)}
	base := serveLoopback(t, httpapi.New(failing, c, bearerAuth(principals), httpapi.Options{Prefix: prefix, Logger: slog.New(slog.DiscardHandler)}))
	fx := axFixture{
		BaseURL: base + prefix,
		Keys: map[string]string{
			"admin": "ak-admin", "alice": "ak-alice", "bob": "ak-bob", "carol": "ak-carol", "dave": "ak-dave",
			"stranger": "ak-nobody", "empty": "",
		},
		IDs: map[string]string{
			"carol": axCarol, "erin": axErin, "frank": axFrank,
			"space1": rbactest.Space(1), "space2": rbactest.Space(2),
			"project1": rbactest.Project(1), "project2": rbactest.Project(2),
			// The alias spelling of project 1, which the server must
			// store and answer in the canonical Model form.
			"project1Alias": ids.Encode("Project", "1", ""),
			"adminRole":     perm.AdminRoleID, "memberRole": perm.MemberRoleID, "readOnlyRole": perm.ReadOnlyRoleID,
			"binderRole":  binder,
			"unknownRole": rbactest.Role(999), "unknownBinding": rbactest.Binding(999999),
			"failingBinding": failing.id,
			// No well-formed ID holds / or + (their text is ASCII
			// letters, digits and colons), but a client may send such a
			// one, percent-encoded: it must reach the handler decoded
			// and be refused as malformed, not redirected or unrouted.
			"slashRole": "Um9sZT/+OjE=", "slashBinding": "Um9sZUJp/+bmc6MQ==",
		},
	}
	results := runScript(t, node, fx)

	// The store as the listings at the end of the script saw it.
	ctx := t.Context()
	listAll := func(q rbac.ListQuery) []string {
		t.Helper()
		var out []string
		for {
			page, err := s.List(ctx, q)
			if err != nil {
				t.Fatalf("list the store: %v", err)
			}
			for _, b := range page.Bindings {
				out = append(out, b.ID)
			}
			if !page.HasMore {
				return out
			}
			q.Cursor = page.NextCursor
		}
	}
	var storeRoles []string
	for q := (rbac.RoleQuery{Limit: 100}); ; {
		page, err := s.ListRoles(ctx, q)
		if err != nil {
			t.Fatalf("list the store's roles: %v", err)
		}
		for _, r := range page.Roles {
			storeRoles = append(storeRoles, r.ID)
		}
		if !page.HasMore {
			break
		}
		q.Cursor = page.NextCursor
	}
	allSpace := listAll(rbac.ListQuery{ResourceType: rbac.Space})
	allProject := listAll(rbac.ListQuery{ResourceType: rbac.Project})
	aliceSpace := listAll(rbac.ListQuery{ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
	carolSpace := listAll(rbac.ListQuery{ResourceType: rbac.Space, UserID: axCarol})

	decode := func(t *testing.T, r axResult, v any) {
		t.Helper()
		if err := json.Unmarshal(r.Value, v); err != nil {
			t.Fatalf("decode the value of %q: %v: %s", r.Name, err, r.Value)
		}
	}
	listing := func(want []string) func(*testing.T, axResult) {
		return func(t *testing.T, r axResult) {
			is := is.New(t)
			var l axListing
			decode(t, r, &l)
			is.Equal(len(l.IDs), len(want)) // as many bindings as the store holds there
			is.Equal(l.IDs, want)           // the store's bindings, each once, in creation order
		}
	}
	binding := func(t *testing.T, r axResult) axBinding {
		var b axBinding
		decode(t, r, &b)
		is.New(t).Equal(b.Keys, []string{"createdAt", "id", "resourceId", "resourceType", "roleId", "updatedAt", "userId"}) // no key beyond the binding's own
		return b
	}
	byName := map[string]axResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	created := func(t *testing.T, name string) axBinding {
		t.Helper()
		r, ok := byName[name]
		if !ok || !r.OK {
			t.Fatalf("case %q, which this one builds on, failed", name)
		}
		return binding(t, r)
	}

	type expect struct {
		want  string // "ok", "<ErrorClass> <status>", or for raw calls "HTTP <status>"
		check func(t *testing.T, r axResult)
	}
	// fields checks a raw 400's problem: it names exactly these fields.
	fields := func(want ...string) func(*testing.T, axResult) {
		slices.Sort(want)
		return func(t *testing.T, r axResult) {
			is.New(t).Equal(r.Problem.fields(), want) // the field errors name exactly these
		}
	}
	cases := map[string]expect{
		"auth: unknown key": {want: "AuthenticationError 401"},
		"auth: empty key":   {want: "AuthenticationError 401"},

		"roles: list predefined": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var v struct {
				Roles   []axRole `json:"roles"`
				HasMore bool     `json:"hasMore"`
			}
			decode(t, r, &v)
			var names []string
			for _, ro := range v.Roles {
				is.True(ro.IsPredefined) // only predefined roles
				names = append(names, ro.Name)
			}
			slices.Sort(names)
			is.Equal(names, []string{"Admin", "Annotator", "Member", "Read-only"}) // the default catalogue, no Binder
			is.True(!v.HasMore)
		}},
		"roles: get predefined": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var ro axRole
			decode(t, r, &ro)
			is.Equal(ro.ID, perm.AdminRoleID)
			is.Equal(ro.Name, "Admin")
			is.True(ro.IsPredefined)
			is.True(slices.Contains(ro.Permissions, perm.RoleBindingCreate)) // Admin holds every permission
		}},
		"roles: get unknown":                {want: "NotFoundError 404"},
		"roles: get, ID with / and +":       {want: "BadRequestError 400"},
		"roles: get malformed ID":           {want: "BadRequestError 400"},
		"roles: create, name taken":         {want: "APIError 409"},
		"roles: create, unknown permission": {want: "BadRequestError 400"},
		"roles: create": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var ro axRole
			decode(t, r, &ro)
			is.Equal(ro.Name, "Auditor")
			is.Equal(ro.Description, "Reads projects.")
			is.Equal(ro.Permissions, []string{"PROJECT_READ"})
			is.True(!ro.IsPredefined)
			is.Equal(ro.CreatedAt, ro.UpdatedAt) // a new role was never updated
		}},
		"roles: create, not an account administrator": {want: "AuthorizationError 403"},
		"roles: update": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var ro axRole
			decode(t, r, &ro)
			slices.Sort(ro.Permissions)
			is.Equal(ro.Permissions, []string{"DATASET_READ", "PROJECT_READ"}) // replaced as a whole
			is.Equal(ro.Description, "Reads projects.")                        // kept: not in the update
		}},
		// The public API: "Set to null to clear it", and the client's
		// updateRole documents passing null.
		"roles: update, clear description": {want: "ok", check: func(t *testing.T, r axResult) {
			var ro axRole
			decode(t, r, &ro)
			is.New(t).Equal(ro.Description, "") // cleared
		}},
		"roles: update predefined":                    {want: "BadRequestError 400"},
		"roles: update, not an account administrator": {want: "AuthorizationError 403"},
		"roles: delete predefined":                    {want: "BadRequestError 400"},
		"roles: delete, still bound":                  {want: "APIError 409"},
		"roles: delete":                               {want: "ok"},
		"roles: get deleted":                          {want: "NotFoundError 404"},

		"bindings: create": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			b := binding(t, r)
			is.Equal(b.UserID, axCarol)
			is.Equal(b.RoleID, perm.ReadOnlyRoleID)
			is.Equal(b.ResourceType, "SPACE")
			is.Equal(b.ResourceID, rbactest.Space(1))
			is.Equal(b.CreatedAt, b.UpdatedAt) // a new binding was never updated
		}},
		"bindings: create, project by its alias ID": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			b := binding(t, r)
			is.Equal(b.ResourceType, "PROJECT")
			is.Equal(b.ResourceID, rbactest.Project(1)) // answered in the canonical Model spelling
		}},
		"bindings: create, taken slot":               {want: "APIError 409"},
		"bindings: create, no permission":            {want: "AuthorizationError 403"},
		"bindings: create, other space":              {want: "AuthorizationError 403"},
		"bindings: create, four bad fields":          {want: "BadRequestError 400"},
		"bindings: create, space ID as a project":    {want: "BadRequestError 400"},
		"bindings: create, unknown role":             {want: "NotFoundError 404"},
		"bindings: create, escalation":               {want: "APIError 422"},
		"bindings: create, a role the actor holds":   {want: "ok"},
		"bindings: get, no permission":               {want: "NotFoundError 404"},
		"bindings: get, unknown":                     {want: "NotFoundError 404"},
		"bindings: get, ID with / and +":             {want: "BadRequestError 400"},
		"bindings: get, a role ID":                   {want: "BadRequestError 400"},
		"bindings: update, no permission":            {want: "NotFoundError 404"},
		"bindings: update, unknown role":             {want: "NotFoundError 404"},
		"bindings: update, escalation":               {want: "APIError 422"},
		"bindings: update, unknown binding":          {want: "NotFoundError 404"},
		"bindings: delete, no permission":            {want: "NotFoundError 404"},
		"bindings: delete":                           {want: "ok"},
		"bindings: delete again":                     {want: "NotFoundError 404"},
		"bindings: get deleted":                      {want: "NotFoundError 404"},
		"bindings: list, bad resource type":          {want: "BadRequestError 400"},
		"bindings: list, limit 0":                    {want: "BadRequestError 400"},
		"bindings: list, limit 101":                  {want: "BadRequestError 400"},
		"bindings: list, tampered cursor":            {want: "BadRequestError 400"},
		"bindings: list, cursor of another filter":   {want: "BadRequestError 400"},
		"bindings: list SPACE without permission":    {want: "ok", check: listing([]string{})},
		"bindings: list SPACE to the end at limit 1": {want: "ok", check: listing(allSpace)},
		"bindings: list SPACE to the end at limit 100": {want: "ok", check: func(t *testing.T, r axResult) {
			listing(allSpace)(t, r)
			var l axListing
			decode(t, r, &l)
			is.New(t).Equal(l.Pages, (len(allSpace)+99)/100) // full pages for an administrator
		}},
		"bindings: list PROJECT to the end at limit 100":           {want: "ok", check: listing(allProject)},
		"bindings: list SPACE as a space administrator at limit 7": {want: "ok", check: listing(aliceSpace)},
		"bindings: list SPACE of one user at limit 1":              {want: "ok", check: listing(carolSpace)},
		"bindings: get": {want: "ok", check: func(t *testing.T, r axResult) {
			is.New(t).Equal(binding(t, r), created(t, "bindings: create")) // as created
		}},
		"bindings: update": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			b, was := binding(t, r), created(t, "bindings: create")
			is.Equal(b.RoleID, perm.MemberRoleID)
			is.Equal(b.ID, was.ID)
			is.Equal(b.UserID, was.UserID)
			is.Equal(b.ResourceID, was.ResourceID)
			is.Equal(b.CreatedAt, was.CreatedAt)  // created_at never changes
			is.True(b.UpdatedAt >= was.UpdatedAt) // updated_at moves forward (same-width ISO strings compare in time order)
		}},

		"restrictions: restrict": {want: "ok", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var v axRestriction
			decode(t, r, &v)
			is.Equal(v.ResourceID, rbactest.Project(1))
			is.Equal(v.ResourceType, "PROJECT")
		}},
		"restrictions: restrict again": {want: "ok", check: func(t *testing.T, r axResult) {
			var v, first axRestriction
			decode(t, r, &v)
			decode(t, byName["restrictions: restrict"], &first)
			is.New(t).Equal(v, first) // restricting twice returns the existing record
		}},
		"restrictions: restrict, no permission": {want: "AuthorizationError 403"},
		"restrictions: restrict a space":        {want: "BadRequestError 400"},
		"restrictions: list": {want: "ok", check: func(t *testing.T, r axResult) {
			var v axRestrictions
			decode(t, r, &v)
			is.New(t).Equal(len(v.Restrictions), 1)
			is.New(t).Equal(v.Restrictions[0].ResourceID, rbactest.Project(1))
		}},
		"restrictions: list, resource type PROJECT": {want: "ok", check: func(t *testing.T, r axResult) {
			var v axRestrictions
			decode(t, r, &v)
			is.New(t).Equal(len(v.Restrictions), 1)
		}},
		"restrictions: list without permission": {want: "ok", check: func(t *testing.T, r axResult) {
			var v axRestrictions
			decode(t, r, &v)
			is.New(t).Equal(len(v.Restrictions), 0) // axBob may restrict nothing, so sees nothing
		}},
		"restrictions: list, resource type SPACE": {want: "BadRequestError 400"},
		"restrictions: unrestrict, no permission": {want: "AuthorizationError 403"},
		"restrictions: unrestrict":                {want: "ok"},
		"restrictions: unrestrict again":          {want: "NotFoundError 404"},
		"roles: list to the end at limit 1": {want: "ok", check: func(t *testing.T, r axResult) {
			var l axListing
			decode(t, r, &l)
			is.New(t).Equal(l.IDs, storeRoles) // every role once, in the store's order
		}},

		"raw: create binding, unknown key":         {want: "HTTP 400", check: fields("color")},
		"raw: create binding, system-managed keys": {want: "HTTP 400", check: fields("id", "created_at", "updated_at")},
		"raw: create binding, wrong types":         {want: "HTTP 400", check: fields("user_id", "role_id", "resource_type", "resource_id")},
		"raw: create binding, null field":          {want: "HTTP 400", check: fields("role_id")},
		"raw: create binding, empty body":          {want: "HTTP 400", check: fields("user_id", "role_id", "resource_type", "resource_id")},
		"raw: change role, other keys":             {want: "HTTP 400", check: fields("user_id", "resource_type")},
		"raw: change role, wrong type":             {want: "HTTP 400", check: fields("role_id")},
		"raw: create role, system-managed keys":    {want: "HTTP 400", check: fields("is_predefined", "id")},
		"raw: create role, wrong types":            {want: "HTTP 400", check: fields("name", "permissions", "description")},
		"raw: restrict, unknown key":               {want: "HTTP 400", check: fields("reason")},
		"raw: restrict, wrong type":                {want: "HTTP 400", check: fields("resource_id")},
		"raw: list bindings without resource type": {want: "HTTP 400", check: fields("resource_type")},
		"raw: list bindings, limit not a number":   {want: "HTTP 400", check: fields("limit")},
		"raw: change role, If-Match stale":         {want: "HTTP 409"},
		"raw: create binding, text/plain body":     {want: "HTTP 415", check: problemOnly},
		"raw: unknown path":                        {want: "HTTP 404", check: problemOnly},
		"bindings: get, storage failing": {want: "APIError 500", check: func(t *testing.T, r axResult) {
			is.New(t).True(!strings.Contains(r.Message, failingCause)) // the cause stays in the log
		}},
		"raw: get binding, storage failing": {want: "HTTP 500", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			problemOnly(t, r)
			is.Equal(r.Problem.Detail, "internal error")                          // a generic detail
			is.True(r.RequestID != "")                                            // the request ID the log has too
			is.True(!strings.Contains(r.Problem.Detail+r.Problem.Title, "rbac_")) // nothing of the cause
		}},
		"raw: PUT on a binding": {want: "HTTP 405", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			for _, m := range []string{"GET", "PATCH", "DELETE"} {
				is.True(strings.Contains(r.Allow, m)) // Allow names the binding's methods
			}
		}},
		"raw: create binding": {want: "HTTP 201", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var b rbac.Binding
			is.NoErr(json.Unmarshal(r.Data, &b))
			is.Equal(b.UserID, axFrank)
			is.True(r.ETag != "")                                         // binding responses carry an ETag
			is.True(strings.HasSuffix(string(r.Data), `Z"}`))             // the last timestamp carries Z
			is.True(bytes.Count(r.Data, []byte(`Z"`)) == 2)               // both timestamps carry Z
			is.True(strings.HasPrefix(r.ContentType, "application/json")) // a success is JSON
		}},
		"raw: get binding": {want: "HTTP 200", check: func(t *testing.T, r axResult) {
			is.New(t).True(r.ETag != "") // binding responses carry an ETag
		}},
		"raw: change role, If-Match current": {want: "HTTP 200", check: func(t *testing.T, r axResult) {
			is := is.New(t)
			var b rbac.Binding
			is.NoErr(json.Unmarshal(r.Data, &b))
			is.Equal(b.RoleID, perm.MemberRoleID)
		}},
	}

	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			is := is.New(t)
			e, ok := cases[r.Name]
			if !ok {
				t.Fatalf("the script reported a case this test does not expect: %+v", r)
			}
			raw := strings.HasPrefix(r.Name, "raw: ")
			got := r.outcome(raw)
			if got != e.want {
				t.Fatalf("got %s, want %s (message %q, problem %+v)", got, e.want, r.Message, r.Problem)
			}
			if raw && !r.OK {
				// WIRE.md section 4: every error is a problem whose
				// status is the response's (the client picks its error
				// class from it).
				p := r.Problem
				is.True(p != nil)                                                     // an error has a problem body
				is.True(strings.HasPrefix(r.ContentType, "application/problem+json")) // problem content type
				is.Equal(p.Status, r.Status)                                          // body status equals the HTTP status
				is.True(p.Title != "")                                                // a title
				is.True(p.Detail != "")                                               // a detail
				is.True(strings.Contains(p.Instance, "/v2/"))                         // instance is the request path
				if r.Status == http.StatusBadRequest {
					is.True(len(p.Errors) > 0) // a 400 lists its field errors
				}
			}
			if !raw && !r.OK {
				is.True(r.Message != "") // the client found a detail to show
			}
			if e.check != nil {
				e.check(t, r)
			}
		})
		delete(cases, r.Name)
	}
	for name := range cases {
		t.Errorf("the script did not report case %q", name)
	}
}

// runScript runs run.mjs with node and returns what it reported, in
// order.
func runScript(t *testing.T, node string, fx axFixture) []axResult {
	t.Helper()
	data, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.mjs")
	cmd.Dir = axClientDir
	cmd.Env = append(os.Environ(), "DISABLE_PRERELEASE_WARNING=true", "AXCLIENT_FIXTURE="+string(data))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("node run.mjs: %v", err)
	}
	var results []axResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r axResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("decode a line of the script's output: %v: %s", err, sc.Bytes())
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		t.Fatal("the script reported nothing")
	}
	return results
}

// failingCause is the text of oneFailingStore's error, which must never
// reach a client.
const failingCause = "disk I/O error on table rbac_role_bindings"

// oneFailingStore is a store whose Get fails, as storage that is down
// would, for one binding ID.
type oneFailingStore struct {
	httpapi.Store
	id string
}

func (f oneFailingStore) Get(ctx context.Context, id string) (rbac.Binding, error) {
	if id == f.id {
		return rbac.Binding{}, errors.New(failingCause)
	}
	return f.Store.Get(ctx, id)
}

// problemOnly checks that a raw error response is an RFC 9457 problem
// whose status is the HTTP status.
func problemOnly(t *testing.T, r axResult) {
	t.Helper()
	is := is.New(t)
	is.Equal(r.ContentType, "application/problem+json") // a problem body
	is.True(r.Problem != nil)                           // that decodes
	is.Equal(r.Problem.Status, r.Status)                // status as the HTTP status
	is.True(r.Problem.Detail != "")                     // and a detail
}
