package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
)

// importChunk is how many records one Restore call takes: enough for the
// batch path's multi-row inserts (and SQLite's bulk load, from 1,000
// bindings), few enough that a file of millions is never all in memory.
const importChunk = 10_000

// maxLine is the longest line import reads: a role with every permission
// of the vocabulary is a few kilobytes.
const maxLine = 1 << 20

// importLine is every member any kind of line may have.
type importLine struct {
	Kind string `json:"kind"`
	// Roles and bindings.
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Roles.
	Name        string   `json:"name"`
	Description *string  `json:"description"`
	Permissions []string `json:"permissions"`
	Predefined  bool     `json:"is_predefined"`
	// Bindings.
	RoleID       string            `json:"role_id"`
	UserID       string            `json:"user_id"`
	ResourceType rbac.ResourceType `json:"resource_type"`
	ResourceID   string            `json:"resource_id"`
	// Links and restrictions.
	ProjectID    string    `json:"project_id"`
	SpaceID      string    `json:"space_id"`
	RestrictedAt time.Time `json:"restricted_at"`
}

// parseLine turns one line of an export into a record. Members of
// another kind are refused, so that a line that was edited into
// something else is not half read.
func parseLine(data []byte) (sqlstore.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l importLine
	if err := dec.Decode(&l); err != nil {
		return sqlstore.Record{}, fmt.Errorf("not a record: %v", err)
	}
	if dec.More() {
		return sqlstore.Record{}, errors.New("not a record: more than one JSON value")
	}
	var rec sqlstore.Record
	var stray []string
	notFor := func(set bool, name string) {
		if set {
			stray = append(stray, name)
		}
	}
	switch k := sqlstore.RecordKind(l.Kind); k {
	case sqlstore.RoleRecord:
		rec = sqlstore.Record{Kind: k, Role: rbac.Role{ID: l.ID, Name: l.Name, Permissions: l.Permissions,
			Predefined: l.Predefined, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}}
		if l.Description != nil {
			rec.Role.Description = *l.Description
		}
		notFor(l.RoleID != "", "role_id")
		notFor(l.UserID != "", "user_id")
		notFor(l.ResourceType != "", "resource_type")
		notFor(l.ResourceID != "", "resource_id")
		notFor(l.ProjectID != "", "project_id")
		notFor(l.SpaceID != "", "space_id")
		notFor(!l.RestrictedAt.IsZero(), "restricted_at")
	case sqlstore.BindingRecord:
		rec = sqlstore.Record{Kind: k, Binding: rbac.Binding{ID: l.ID, RoleID: l.RoleID, UserID: l.UserID,
			ResourceType: l.ResourceType, ResourceID: l.ResourceID, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}}
		notFor(l.Name != "", "name")
		notFor(l.Description != nil, "description")
		notFor(l.Permissions != nil, "permissions")
		notFor(l.Predefined, "is_predefined")
		notFor(l.ProjectID != "", "project_id")
		notFor(l.SpaceID != "", "space_id")
		notFor(!l.RestrictedAt.IsZero(), "restricted_at")
	case sqlstore.ProjectRecord, sqlstore.RestrictionRecord:
		rec = sqlstore.Record{Kind: k, ProjectID: l.ProjectID, SpaceID: l.SpaceID,
			Restriction: rbac.Restriction{ProjectID: l.ProjectID, RestrictedAt: l.RestrictedAt.UTC()}}
		if k == sqlstore.RestrictionRecord {
			rec.ProjectID = ""
			notFor(l.SpaceID != "", "space_id")
		} else {
			notFor(!l.RestrictedAt.IsZero(), "restricted_at")
		}
		notFor(l.ID != "", "id")
		notFor(!l.CreatedAt.IsZero(), "created_at")
		notFor(!l.UpdatedAt.IsZero(), "updated_at")
		notFor(l.Name != "" || l.Description != nil || l.Permissions != nil || l.Predefined, "role members")
		notFor(l.RoleID != "" || l.UserID != "" || l.ResourceType != "" || l.ResourceID != "", "binding members")
	case "":
		return sqlstore.Record{}, errors.New(`no "kind"`)
	default:
		return sqlstore.Record{}, fmt.Errorf("unknown kind %q (want role, project, restriction or binding)", l.Kind)
	}
	if len(stray) > 0 {
		return sqlstore.Record{}, fmt.Errorf("a %s record has no %v", l.Kind, stray)
	}
	return rec, nil
}

// lineProblem is why one line of an import was refused.
type lineProblem struct {
	line int
	err  error
}

// importResult says what an import did, or would have done.
type importResult struct {
	counts   map[sqlstore.RecordKind]int
	problems []lineProblem
}

// errImportRefused is the error of an import with refused lines: nothing
// was written.
var errImportRefused = errors.New("import refused")

// importRecords reads an export from r and restores it into s in one
// transaction, which it commits only when every line was good and dryRun
// is false. It reads to the end either way, so that every bad line is
// reported.
func importRecords(ctx context.Context, s *sqlstore.Store, r io.Reader, dryRun bool, stderr io.Writer) (importResult, error) {
	res := importResult{counts: map[sqlstore.RecordKind]int{}}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback() // after Commit, a no-op
	txs := s.WithTx(tx)
	p := newProgress(stderr, "read")
	var recs []sqlstore.Record
	var lines []int
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		errs, err := txs.Restore(ctx, recs)
		if err != nil {
			return err
		}
		for i, e := range errs {
			if e != nil {
				res.problems = append(res.problems, lineProblem{lines[i], e})
			} else if !recs[i].Role.Predefined {
				// A predefined role is checked, never written.
				res.counts[recs[i].Kind]++
			}
		}
		recs, lines = recs[:0], lines[:0]
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		p.add()
		rec, err := parseLine(data)
		if err != nil {
			res.problems = append(res.problems, lineProblem{n, err})
			continue
		}
		recs = append(recs, rec)
		lines = append(lines, n)
		if len(recs) == importChunk {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	p.done()
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read stdin: %w", err)
	}
	if err := flush(); err != nil {
		return res, err
	}
	if len(res.problems) > 0 || dryRun {
		return res, tx.Rollback()
	}
	return res, tx.Commit()
}

// problemText says why a line was refused in one line.
func problemText(err error) string {
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		var b bytes.Buffer
		for i, fe := range ve.Fields {
			if i > 0 {
				b.WriteString("; ")
			}
			if fe.Field != "" {
				b.WriteString(fe.Field + ": ")
			}
			b.WriteString(fe.Message)
		}
		return b.String()
	}
	var ce *rbac.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	return err.Error()
}

// newImportCmd is "rbac import".
func newImportCmd(a *app) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import [--dry-run] < FILE",
		Short: "Read an export from stdin into the database, all or nothing",
		Long: `Read what rbac export writes from stdin and write it into the database in
one transaction, keeping every ID and timestamp: all of it, or nothing.
Every record is held to the rules of the library's own writes; a line that
is malformed, breaks a rule or meets what the database holds (a taken ID
or role name, a user's second binding on a resource, a role this database
does not have) is listed on stderr with its line number, and then nothing
is written. Predefined roles are not written: each must be in this
database's catalogue as it is in the file.

--dry-run checks everything the same way, reports, and writes nothing.

Moving a SQLite file into PostgreSQL:

  rbac export --db rbac.db | rbac import --db postgres://...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			res, err := importRecords(cmd.Context(), s, a.stdin, dryRun, a.stderr)
			if err != nil {
				return err
			}
			for _, p := range res.problems {
				fmt.Fprintf(a.stderr, "line %d: %s\n", p.line, problemText(p.err))
			}
			c := res.counts
			what := fmt.Sprintf("%d roles, %d project links, %d restrictions, %d bindings",
				c[sqlstore.RoleRecord], c[sqlstore.ProjectRecord], c[sqlstore.RestrictionRecord], c[sqlstore.BindingRecord])
			switch {
			case len(res.problems) > 0:
				// An *rbac.Error, so that the report prints the message
				// as it is, with exit status 1.
				return &rbac.Error{Category: errImportRefused, Message: fmt.Sprintf("import refused: %d lines refused; nothing was written", len(res.problems))}
			case dryRun:
				fmt.Fprintf(a.stdout, "dry run: would import %s (predefined roles checked, not written); nothing was written\n", what)
			default:
				fmt.Fprintf(a.stdout, "imported %s (predefined roles checked, not written)\n", what)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check and report, write nothing")
	return cmd
}
