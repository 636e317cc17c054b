// Command quickstart shows the library at work on its embedded default
// store, a SQLite file: the documented valid and invalid examples of the
// public API, a duplicate and its conflict, a role change guarded by a
// precondition, and a list.
//
// The database file persists between runs, so a second run finds the
// binding of the first and its create conflicts. Use -reset to start over.
//
//	go run ./examples/quickstart [-db path] [-reset]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/validate"
)

// The documented examples of the public API.
const (
	validBody = `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
 "resource_type": "PROJECT", "resource_id": "TW9kZWw6MTpGdmxM"}`
	invalidBody = `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
 "resource_type": "PROJECT", "resource_id": "U3BhY2U6MTp1Rk4x"}`

	roleAnnotator = "Um9sZToxOlY0S2E=" // Role:1:V4Ka
	roleReviewer  = "Um9sZToyOmRLMjQ=" // Role:2:dK24
)

func main() {
	defaultDB := filepath.Join(os.TempDir(), "rbac-quickstart.db")
	dbPath := flag.String("db", defaultDB, "SQLite database file")
	reset := flag.Bool("reset", false, "delete the database file first")
	flag.Parse()

	if err := run(context.Background(), os.Stdout, *dbPath, *reset); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, dbPath string, reset bool) error {
	if reset {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	s, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(w, "store: SQLite file %s\n", dbPath)
	v := validate.Default()

	section(w, "1. create: the documented valid example")
	nb, err := v.DecodeCreate([]byte(validBody))
	if err != nil {
		return err
	}
	b, err := s.Create(ctx, nb)
	switch {
	case err == nil:
		fmt.Fprintln(w, "created:")
		printBinding(w, b)
	case errors.Is(err, rbac.ErrConflict):
		// A previous run left it there: the file persisted.
		fmt.Fprintf(w, "HTTP %d: %v\n", rbac.HTTPStatus(err), err)
		fmt.Fprintln(w, "the binding is there from an earlier run (the data persisted); using it:")
		if b, err = findBinding(ctx, s, nb); err != nil {
			return err
		}
		printBinding(w, b)
	default:
		return err
	}

	section(w, "2. create: the documented invalid example (a Space ID with PROJECT)")
	_, err = v.DecodeCreate([]byte(invalidBody))
	printError(w, err)

	section(w, "3. create: a second binding for the same user and project")
	dup := nb
	dup.RoleID = roleReviewer
	_, err = s.Create(ctx, dup)
	printError(w, err)

	section(w, "4. change the role, with the updated_at last seen as precondition")
	next := roleReviewer
	if b.RoleID == roleReviewer {
		next = roleAnnotator
	}
	seen := b.UpdatedAt
	b, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: next, IfUpdatedAt: seen})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "role is now %s, updated_at %s (was %s)\n", b.RoleID, rbac.FormatTime(b.UpdatedAt), rbac.FormatTime(seen))
	fmt.Fprintln(w, "a second administrator, still holding the old updated_at, tries the same:")
	_, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleAnnotator, IfUpdatedAt: seen})
	printError(w, err)

	section(w, "5. list the user's PROJECT bindings, two per page")
	if err := s.Close(); err != nil {
		return err
	}
	// Reopen to show that the list reads what the file holds, not what
	// this process remembers.
	if s, err = sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{}); err != nil {
		return err
	}
	for _, res := range []string{"TW9kZWw6MjpBYkNk", "TW9kZWw6MzpFZkdo"} { // Model:2:AbCd, Model:3:EfGh
		extra := rbac.NewBinding{RoleID: roleAnnotator, UserID: nb.UserID, ResourceType: rbac.Project, ResourceID: res}
		if _, err := s.Create(ctx, extra); err != nil && !errors.Is(err, rbac.ErrConflict) {
			return err
		}
	}
	q := rbac.ListQuery{ResourceType: rbac.Project, UserID: nb.UserID, Limit: 2}
	for page := 1; ; page++ {
		p, err := s.List(ctx, q)
		if err != nil {
			return err
		}
		for _, b := range p.Bindings {
			fmt.Fprintf(w, "page %d: %s on %s %s with role %s\n", page, b.UserID, b.ResourceType, b.ResourceID, b.RoleID)
		}
		if !p.HasMore {
			break
		}
		q.Cursor = p.NextCursor
	}
	fmt.Fprintln(w, "\nrun it again: the data is still there, and step 1 conflicts")
	return nil
}

func findBinding(ctx context.Context, s *sqlstore.Store, nb rbac.NewBinding) (rbac.Binding, error) {
	p, err := s.List(ctx, rbac.ListQuery{ResourceType: nb.ResourceType, ResourceID: nb.ResourceID, UserID: nb.UserID, Limit: 1})
	if err != nil {
		return rbac.Binding{}, err
	}
	if len(p.Bindings) != 1 {
		return rbac.Binding{}, fmt.Errorf("conflict reported but no binding found")
	}
	return p.Bindings[0], nil
}

func section(w io.Writer, title string) { fmt.Fprintf(w, "\n%s\n", title) }

func printBinding(w io.Writer, b rbac.Binding) {
	fmt.Fprintf(w, "  id            %s (%s)\n  role_id       %s (%s)\n  user_id       %s (%s)\n  resource      %s %s (%s)\n  created_at    %s\n  updated_at    %s\n",
		b.ID, text(b.ID), b.RoleID, text(b.RoleID), b.UserID, text(b.UserID), b.ResourceType, b.ResourceID, text(b.ResourceID),
		rbac.FormatTime(b.CreatedAt), rbac.FormatTime(b.UpdatedAt))
}

// text shows what an opaque ID encodes, for people reading the output.
func text(id string) string {
	d, err := ids.Decode(id)
	if err != nil {
		return "?"
	}
	return d.Text()
}

func printError(w io.Writer, err error) {
	if err == nil {
		fmt.Fprintln(w, "unexpectedly accepted")
		return
	}
	fmt.Fprintf(w, "HTTP %d: %v\n", rbac.HTTPStatus(err), err)
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			fmt.Fprintf(w, "  field %s (%s): %s\n", fe.Field, fe.Reason, fe.Message)
		}
	}
}
