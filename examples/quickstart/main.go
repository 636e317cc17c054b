// Command quickstart shows the library at work on its embedded default
// store, a SQLite file: the documented valid and invalid examples of the
// public API, a duplicate and its conflict, a role change guarded by a
// precondition, a list, and a permission check with its explanation from
// a checker that follows the store.
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
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/validate"
)

// The documented examples of the public API.
const (
	validBody = `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
 "resource_type": "PROJECT", "resource_id": "TW9kZWw6MTpGdmxM"}`
	invalidBody = `{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=",
 "resource_type": "PROJECT", "resource_id": "U3BhY2U6MTp1Rk4x"}`

	roleEditor = "Um9sZToxOlY0S2E=" // Role:1:V4Ka
	roleViewer = "Um9sZToyOmRLMjQ=" // Role:2:dK24

	// The space the documented project belongs to in this example.
	space = "U3BhY2U6MTp1Rk4x" // Space:1:uFN1
)

// roles is the store's catalogue of predefined roles: the default four,
// and the two roles that the documented examples bind. A binding's role
// must exist in the store; the checker learns the roles from the store.
func roles() []rbac.Role {
	return append(perm.DefaultCatalogue(perm.DefaultVocabulary()),
		rbac.Role{ID: roleEditor, Name: "Project editor", Description: "Reads and updates projects.",
			Permissions: []string{"PROJECT_READ", "PROJECT_UPDATE"}, Predefined: true},
		rbac.Role{ID: roleViewer, Name: "Project viewer", Description: "Reads projects.",
			Permissions: []string{"PROJECT_READ"}, Predefined: true},
	)
}

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
	s, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{Catalogue: roles()})
	if err != nil {
		return err
	}
	defer func() { s.Close() }()
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
	dup.RoleID = roleViewer
	_, err = s.Create(ctx, dup)
	printError(w, err)

	section(w, "4. change the role, with the updated_at last seen as precondition")
	next := roleViewer
	if b.RoleID == roleViewer {
		next = roleEditor
	}
	seen := b.UpdatedAt
	b, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: next, IfUpdatedAt: seen})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "role is now %s, updated_at %s (was %s)\n", b.RoleID, rbac.FormatTime(b.UpdatedAt), rbac.FormatTime(seen))
	fmt.Fprintln(w, "a second administrator, still holding the old updated_at, tries the same:")
	_, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleEditor, IfUpdatedAt: seen})
	printError(w, err)

	section(w, "5. list the user's PROJECT bindings, two per page")
	if err := s.Close(); err != nil {
		return err
	}
	// Reopen to show that the list reads what the file holds, not what
	// this process remembers.
	if s, err = sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{Catalogue: roles()}); err != nil {
		return err
	}
	for _, res := range []string{"TW9kZWw6MjpBYkNk", "TW9kZWw6MzpFZkdo"} { // Model:2:AbCd, Model:3:EfGh
		extra := rbac.NewBinding{RoleID: roleEditor, UserID: nb.UserID, ResourceType: rbac.Project, ResourceID: res}
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

	section(w, "6. check permissions, and explain the answers")
	// The project belongs to a space, where the user is bound too, with
	// the predefined Read-only role. Both writes are no-ops on a second
	// run (the conflict of the binding is expected).
	if err := s.SetProjectSpace(ctx, nb.ResourceID, space); err != nil {
		return err
	}
	onSpace := rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: nb.UserID, ResourceType: rbac.Space, ResourceID: space}
	if _, err := s.Create(ctx, onSpace); err != nil && !errors.Is(err, rbac.ErrConflict) {
		return err
	}
	fmt.Fprintf(w, "project %s belongs to space %s (%s), where the user is bound with role Read-only\n", nb.ResourceID, space, text(space))
	// The checker answers from memory. Following the store, it loads a
	// snapshot (the roles included, so the two never disagree about
	// them), applies this process's writes before they return, and polls
	// for other processes' writes every Interval.
	c, err := check.New(check.Options{})
	if err != nil {
		return err
	}
	f, err := check.Follow(ctx, c, s, check.FollowOptions{Interval: time.Second})
	if err != nil {
		return err
	}
	defer f.Close()
	for _, perm := range []string{"DATASET_READ", "PROJECT_DELETE"} {
		d, err := c.Explain(nb.UserID, perm, nb.ResourceType, nb.ResourceID)
		if err != nil {
			return err
		}
		printDecision(w, nb, perm, d)
	}
	_, err = c.Check(nb.UserID, "PROJECT_DESTROY", nb.ResourceType, nb.ResourceID)
	fmt.Fprintln(w, "a permission that is not in the vocabulary is invalid input, not a deny:")
	printError(w, err)

	fmt.Fprintln(w, "\nrun it again: the data is still there, and step 1 conflicts")
	return nil
}

// printDecision prints a check and its explanation for people to read.
func printDecision(w io.Writer, nb rbac.NewBinding, perm string, d check.Decision) {
	verdict := "DENIED"
	if d.Allowed {
		verdict = "ALLOWED"
	}
	fmt.Fprintf(w, "may %s do %s on %s %s? %s\n", text(nb.UserID), perm, nb.ResourceType, text(nb.ResourceID), verdict)
	switch d.Reason {
	case check.Granted, check.Inherited:
		fmt.Fprintf(w, "  because binding %s on %s %s (%s) gives role %q, which holds %s (%s)\n",
			d.BindingID, d.ViaType, d.ViaID, text(d.ViaID), d.RoleName, perm, d.Reason)
	case check.NoBinding:
		fmt.Fprintf(w, "  because the user has no binding on the project or its space (%s)\n", d.Reason)
	default:
		fmt.Fprintf(w, "  because the closest binding, %s on %s %s (%s) with role %q, does not grant it (%s)\n",
			d.BindingID, d.ViaType, d.ViaID, text(d.ViaID), d.RoleName, d.Reason)
	}
	fmt.Fprintf(w, "  decided at revision %d\n", d.Revision)
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
