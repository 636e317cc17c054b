package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolebind/rbac/sqlstore"
)

// FuzzImport feeds import lines, well formed or not, to a dry-run import
// into a SQLite store: an import file is untrusted input. Nothing may
// panic, a dry run must write nothing whatever it reads, and every line
// is either counted as a record or named in a problem.
func FuzzImport(f *testing.F) {
	f.Add([]byte(`{"kind":"binding","id":"Um9sZUJpbmRpbmc6MTphQmNE","role_id":"Um9sZToxOkFkbWlu","user_id":"VXNlcjoxOmxQZzI=","resource_type":"SPACE","resource_id":"U3BhY2U6MTp1Rk4x","created_at":"2024-06-01T12:00:00.123456Z","updated_at":"2024-06-01T12:00:00.123456Z"}`))
	f.Add([]byte(`{"kind":"role","id":"Um9sZTo5OTk=","name":"R","permissions":["SPACE_READ"],"is_predefined":false,"created_at":"2024-06-01T12:00:00Z","updated_at":"2024-06-01T12:00:00Z"}` + "\n" + `{"kind":"project","project_id":"TW9kZWw6MTpGdmxM","space_id":"U3BhY2U6MTp1Rk4x"}`))
	f.Add([]byte(`{"kind":"restriction","project_id":"TW9kZWw6MTpGdmxM","restricted_at":"2024-06-01T12:00:00Z"}`))
	f.Add([]byte("{\"kind\":\"binding\",\"id\":\"x\"}\n\n[1,2]\n{\"kind\":\"nope\"}"))
	s, err := sqlstore.OpenSQLite(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"), sqlstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := t.Context()
		before, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := importRecords(ctx, s, bytes.NewReader(data), true, io.Discard)
		if err != nil {
			return // an internal failure, reported to the operator as such
		}
		after, err := s.Revision(ctx)
		if err != nil || after != before {
			t.Fatalf("a dry run moved the store from revision %d to %d (%v)", before, after, err)
		}
		counted := len(res.problems)
		for _, n := range res.counts {
			counted += n
		}
		lines := 0
		for _, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if counted > lines {
			t.Fatalf("%d lines gave %d records and problems", lines, counted)
		}
	})
}
