package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/sqlstore"
)

func TestMigrate(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			v := sqlstore.SQLite.SchemaVersion()
			r := rbacRun(t, ctx, nil, "--db", b.db, "migrate", "--status")
			is.Equal(r.code, 0)
			is.Equal(r.stdout, fmt.Sprintf("schema at version 0; this rbac makes version %d: run rbac migrate\n", v))
			if b.name == "sqlite" {
				_, err := os.Stat(b.db)
				is.True(os.IsNotExist(err)) // --status created no file
			}
			r = rbacRun(t, ctx, nil, "--db", b.db, "migrate")
			is.Equal(r.code, 0)
			is.Equal(r.stdout, fmt.Sprintf("schema at version %d (applied %d migrations)\n", v, v))
			r = rbacRun(t, ctx, nil, "--db", b.db, "migrate", "--status", "-o", "json")
			is.Equal(r.code, 0)
			is.Equal(r.stdout, fmt.Sprintf(`{"version":%d,"known":%d,"applied":0}`+"\n", v, v))
		})
	}
}

func TestOpenFails(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.db")
	is.NoErr(os.WriteFile(bad, []byte("not a database, not at all; long enough to have a header of sorts......................................................"), 0o600))
	r := rbacRun(t, t.Context(), nil, "--db", bad, "migrate")
	is.Equal(r.code, exitFailed)
	is.Equal(r.stderr, "rbac: cannot open database "+bad+": file is not a database (26)\n")

	missing := filepath.Join(dir, "no", "such", "dir", "x.db")
	r = rbacRun(t, t.Context(), map[string]string{"RBAC_DB": missing}, "migrate")
	is.Equal(r.code, exitFailed)
	is.Equal(r.stderr, "rbac: cannot open database "+missing+": no such file or directory\n") // $RBAC_DB is the default
}
