package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/pgtest"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// rbacPipe runs the command line in process with stdin and returns what
// it wrote and its exit status.
func rbacPipe(tb testing.TB, stdin io.Reader, args ...string) result {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	code := run(tb.Context(), args, stdin, &stdout, &stderr, func(string) string { return "" })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func testUser(n int) string    { return ids.Encode("User", fmt.Sprint(n), "u") }
func testSpace(n int) string   { return ids.Encode("Space", fmt.Sprint(n), "s") }
func testProject(n int) string { return ids.Encode("Model", fmt.Sprint(n), "p") }

// seedStore fills s with a custom role, project links, restrictions and
// bindings bindings, spread over users, spaces and projects, one of them
// with a changed role. It returns the custom role's ID.
func seedStore(tb testing.TB, s *sqlstore.Store, bindings int) string {
	tb.Helper()
	is := is.New(tb)
	ctx := tb.Context()
	custom, err := s.CreateRole(ctx, rbac.NewRole{Name: "restricter", Description: "reads and restricts",
		Permissions: []string{"PROJECT_READ", "PROJECT_RESTRICT", "SPACE_READ", "DATASET_READ"}})
	is.NoErr(err) // create role
	const spaces, projects = 50, 200
	for p := range projects {
		is.NoErr(s.SetProjectSpace(ctx, testProject(p), testSpace(p%spaces)))
		if p%10 == 0 {
			is.NoErr(s.RestrictProject(ctx, testProject(p)))
		}
	}
	roles := []string{perm.AdminRoleID, perm.MemberRoleID, perm.ReadOnlyRoleID, perm.AnnotatorRoleID, custom.ID}
	const batch = 20_000
	nbs := make([]rbac.NewBinding, 0, batch)
	for i := range bindings {
		// Every user has one binding on a space and the others on
		// projects, so that no two collide.
		nb := rbac.NewBinding{RoleID: roles[i%len(roles)], UserID: testUser(i / 4)}
		if i%4 == 0 {
			nb.ResourceType, nb.ResourceID = rbac.Space, testSpace((i/4)%spaces)
		} else {
			nb.ResourceType, nb.ResourceID = rbac.Project, testProject((i/4*3+i%4)%projects)
		}
		nbs = append(nbs, nb)
		if len(nbs) == batch || i == bindings-1 {
			res, err := s.CreateBatch(ctx, nbs, sqlstore.BatchOptions{})
			is.NoErr(err) // seed batch
			for _, r := range res {
				is.NoErr(r.Err) // seed binding
			}
			if i < batch {
				_, err = s.ChangeRole(ctx, res[1].Binding.ID, rbac.RoleChange{RoleID: perm.ReadOnlyRoleID})
				is.NoErr(err) // change a role, so that its timestamps differ
			}
			nbs = nbs[:0]
		}
	}
	return custom.ID
}

// seededSQLite returns the path of a SQLite file seeded with seedStore.
func seededSQLite(tb testing.TB, bindings int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "src.db")
	s, err := sqlstore.OpenSQLite(tb.Context(), path, sqlstore.Options{})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	defer s.Close()
	seedStore(tb, s, bindings)
	return path
}

// withoutPredefined drops the lines of predefined roles from an export:
// their timestamps are those of the database that holds them.
func withoutPredefined(export string) string {
	var b strings.Builder
	for line := range strings.Lines(export) {
		if !strings.Contains(line, `"is_predefined":true`) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestExportImport(t *testing.T) {
	is := is.New(t)
	src := seededSQLite(t, 2000)
	exp := rbacPipe(t, nil, "--db", src, "export")
	is.Equal(exp.code, 0) // export
	is.Equal(exp.stderr, "")
	is.Equal(strings.Count(exp.stdout, `{"kind":"binding",`), 2000)
	is.Equal(strings.Count(exp.stdout, `{"kind":"restriction",`), 20)

	dst := filepath.Join(t.TempDir(), "dst.db")
	imp := rbacPipe(t, strings.NewReader(exp.stdout), "--db", dst, "import")
	is.Equal(imp.code, 0) // import
	is.Equal(imp.stdout, "imported 1 roles, 200 project links, 20 restrictions, 2000 bindings (predefined roles checked, not written)\n")
	again := rbacPipe(t, nil, "--db", dst, "export")
	is.Equal(again.code, 0)
	is.Equal(withoutPredefined(again.stdout), withoutPredefined(exp.stdout)) // every ID and timestamp kept
	is.Equal(strings.Count(again.stdout, `"is_predefined":true`), 4)

	t.Run("dry run writes nothing", func(t *testing.T) {
		is := is.New(t)
		dry := filepath.Join(t.TempDir(), "dry.db")
		res := rbacPipe(t, strings.NewReader(exp.stdout), "--db", dry, "import", "--dry-run")
		is.Equal(res.code, 0)
		is.True(strings.HasPrefix(res.stdout, "dry run: would import 1 roles, 200 project links, 20 restrictions, 2000 bindings"))
		after := rbacPipe(t, nil, "--db", dry, "export")
		is.Equal(withoutPredefined(after.stdout), "") // nothing but the catalogue
	})

	t.Run("a second import conflicts on every line and writes nothing", func(t *testing.T) {
		is := is.New(t)
		res := rbacPipe(t, strings.NewReader(exp.stdout), "--db", dst, "import")
		is.Equal(res.code, 1)
		// The custom role (line 5) and every binding (lines 226 on).
		is.True(strings.Contains(res.stderr, "line 5: role ID "))
		is.True(strings.Contains(res.stderr, "line 226: role binding ID "))
		is.Equal(strings.Count("\n"+res.stderr, "\nline "), 2001) // one line per conflict
		is.True(strings.HasSuffix(res.stderr, "rbac: import refused: 2001 lines refused; nothing was written\n"))
		after := rbacPipe(t, nil, "--db", dst, "export")
		is.Equal(after.stdout, again.stdout) // unchanged
	})
}

func TestImportBadLines(t *testing.T) {
	is := is.New(t)
	at := `"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"`
	good := fmt.Sprintf(`{"kind":"binding","id":%q,"role_id":%q,"user_id":%q,"resource_type":"SPACE","resource_id":%q,%s}`,
		ids.Encode("RoleBinding", "1", "b"), perm.ReadOnlyRoleID, testUser(1), testSpace(1), at)
	input := strings.Join([]string{
		good,
		`{"kind":"binding"`, // line 2: not JSON
		`{"kind":"widget"}`, // line 3: unknown kind
		fmt.Sprintf(`{"kind":"project","project_id":%q,"space_id":%q,"name":"x"}`, testProject(1), testSpace(1)), // line 4: a role member
		fmt.Sprintf(`{"kind":"binding","id":"nope","role_id":%q,"user_id":%q,"resource_type":"SPACE","resource_id":%q,%s}`,
			perm.ReadOnlyRoleID, testUser(2), testSpace(1), at), // line 5: bad ID
		"", // blank lines are skipped, and still counted
		fmt.Sprintf(`{"kind":"binding","id":%q,"role_id":%q,"user_id":%q,"resource_type":"SPACE","resource_id":%q,%s}`,
			ids.Encode("RoleBinding", "2", "b"), perm.ReadOnlyRoleID, testUser(1), testSpace(1), at), // line 7: second binding of user 1 on space 1
		`{"kind":"binding","surprise":1}`, // line 8: unknown member
	}, "\n")
	db := filepath.Join(t.TempDir(), "rbac.db")
	res := rbacPipe(t, strings.NewReader(input), "--db", db, "import")
	is.Equal(res.code, 1)
	for _, want := range []string{"line 2: not a record", "line 3: unknown kind \"widget\"", "line 4: a project record has no [role members]",
		"line 5: id: ", "line 7: ", "line 8: not a record"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	is.True(!strings.Contains(res.stderr, "line 1:")) // the good line
	is.True(!strings.Contains(res.stderr, "line 6:")) // the blank line
	after := rbacPipe(t, nil, "--db", db, "export")
	is.Equal(withoutPredefined(after.stdout), "") // nothing written
}

// TestExportImportPostgres moves a SQLite file of 100,000 bindings into
// PostgreSQL and back with export | import, and holds every record and a
// sample of check answers to what they were.
func TestExportImportPostgres(t *testing.T) {
	pgtest.DSN(t) // skips without a server, fails under CI
	is := is.New(t)
	const n = 100_000
	start := time.Now()
	src := seededSQLite(t, n)
	t.Logf("seeded %d bindings in %v", n, time.Since(start))
	pg := postgresSchema(t)
	back := filepath.Join(t.TempDir(), "back.db")

	exp := rbacPipe(t, nil, "--db", src, "export")
	is.Equal(exp.code, 0) // export sqlite
	start = time.Now()
	imp := rbacPipe(t, strings.NewReader(exp.stdout), "--db", pg, "import")
	is.Equal(imp.code, 0) // import into postgres
	t.Logf("imported into PostgreSQL in %v: %s", time.Since(start), imp.stdout)
	pgExp := rbacPipe(t, nil, "--db", pg, "export")
	is.Equal(pgExp.code, 0)                                                  // export postgres
	is.Equal(withoutPredefined(pgExp.stdout), withoutPredefined(exp.stdout)) // PostgreSQL holds the same records
	imp = rbacPipe(t, strings.NewReader(pgExp.stdout), "--db", back, "import")
	is.Equal(imp.code, 0) // import back into sqlite
	backExp := rbacPipe(t, nil, "--db", back, "export")
	is.Equal(withoutPredefined(backExp.stdout), withoutPredefined(exp.stdout)) // and back

	checkers := map[string]*check.Checker{}
	for name, db := range map[string]string{"source": src, "postgres": pg, "back": back} {
		a := &app{db: db, stderr: io.Discard, getenv: func(string) string { return "" }}
		s, err := a.open(t.Context())
		is.NoErr(err) // open
		c, err := check.New(check.Options{})
		is.NoErr(err)
		is.NoErr(c.Load(t.Context(), s)) // load
		checkers[name] = c
		for _, f := range a.cleanup {
			f()
		}
	}
	perms := []string{"PROJECT_READ", "DATASET_READ", "PROJECT_RESTRICT", "ROLE_BINDING_CREATE", "QUEUE_RECORD_ANNOTATE"}
	rng := rand.New(rand.NewPCG(1, 2))
	allowed := 0
	for range 5000 {
		user, p := testUser(rng.IntN(n/4+10)), perms[rng.IntN(len(perms))]
		rt, res := rbac.Project, testProject(rng.IntN(210))
		if rng.IntN(3) == 0 {
			rt, res = rbac.Space, testSpace(rng.IntN(55))
		}
		want, err := checkers["source"].Check(user, p, rt, res)
		is.NoErr(err)
		if want {
			allowed++
		}
		for _, name := range []string{"postgres", "back"} {
			got, err := checkers[name].Check(user, p, rt, res)
			is.NoErr(err)
			if got != want {
				t.Fatalf("%s: Check(%s, %s, %s %s) = %v, source says %v", name, user, p, rt, res, got, want)
			}
		}
	}
	is.True(allowed > 0) // the sample asks questions that are allowed too
	// Who can read a sample of projects and spaces: the same users.
	readers := 0
	for k := range 20 {
		rt, res := rbac.Project, testProject(k*10+1)
		if k%2 == 0 {
			rt, res = rbac.Space, testSpace(k)
		}
		want := whoCan(t, checkers["source"], rt, res)
		readers += len(want)
		is.Equal(whoCan(t, checkers["postgres"], rt, res), want)
		is.Equal(whoCan(t, checkers["back"], rt, res), want)
	}
	is.True(readers > 1000) // the sample has readers to compare
}

// whoCan returns every user who can read the resource, page by page.
func whoCan(tb testing.TB, c *check.Checker, rt rbac.ResourceType, id string) []string {
	tb.Helper()
	var users []string
	cursor := ""
	for {
		p, err := c.WhoCan("PROJECT_READ", rt, id, cursor, 100)
		if err != nil {
			tb.Fatalf("who can: %v", err)
		}
		for _, g := range p.Grants {
			users = append(users, g.UserID)
		}
		if !p.HasMore {
			return users
		}
		cursor = p.NextCursor
	}
}
