package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac/internal/pgtest"
)

// result is what one invocation of the command line did.
type result struct {
	code           int
	stdout, stderr string
}

// rbacRun runs the command line in process with the given arguments and
// environment (nothing of the real environment leaks in) and returns
// what it wrote and its exit status.
func rbacRun(tb testing.TB, ctx context.Context, env map[string]string, args ...string) result {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// backend is a database the command line runs against.
type backend struct {
	name string
	db   string // the --db value
}

// backends returns a fresh SQLite file and, when RBAC_POSTGRES_DSN is
// set, a fresh PostgreSQL schema. CI sets CI, and then a missing
// PostgreSQL fails instead of being skipped.
func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "sqlite", db: filepath.Join(t.TempDir(), "rbac.db")}}
	if !pgtest.Wanted() {
		return bs
	}
	return append(bs, backend{name: "postgres", db: postgresSchema(t)})
}

// postgresSchema makes a schema for one test, dropped at cleanup, and
// returns a URL whose connections work in it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	return pgtest.URL(t, pgtest.Schema(t, "rbac_cli_"))
}

func TestUsage(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"an unknown command", []string{"bogus"}, `rbac: unknown command "bogus" for "rbac"; see 'rbac --help'` + "\n"},
		{"an unknown flag", []string{"permissions", "--bogus"}, "rbac: unknown flag: --bogus\n"},
		{"an unknown output format", []string{"permissions", "-o", "yaml"}, `rbac: --output: "yaml" is not a format; use table or json` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r := rbacRun(t, t.Context(), nil, tc.args...)
			is.Equal(r.code, exitUsage) // exit status
			is.Equal(r.stderr, tc.stderr)
			is.Equal(r.stdout, "")
		})
	}
}

func TestPermissions(t *testing.T) {
	is := is.New(t)
	r := rbacRun(t, t.Context(), nil, "permissions")
	is.Equal(r.code, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	is.Equal(len(lines), 132) // the vocabulary of the Arize AX API
	is.Equal(lines[0], "AI_PROVIDER_READ")
	r = rbacRun(t, t.Context(), nil, "permissions", "-o", "json")
	is.Equal(r.code, 0)
	is.True(strings.HasPrefix(r.stdout, `["AI_PROVIDER_READ",`)) // a JSON array
}

func TestVersion(t *testing.T) {
	is := is.New(t)
	r := rbacRun(t, t.Context(), nil, "--version")
	is.Equal(r.code, 0)
	is.Equal(r.stdout, "rbac version (devel)\n") // no module version in a test binary
}
