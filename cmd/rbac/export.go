package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/sqlstore"
)

// The export format: JSON lines, one record per line, each an object
// whose first member is "kind", followed by the record's wire body (the
// REST API's for roles and bindings), IDs and timestamps included:
//
//	{"kind":"role","id":...,"name":...,"description":...,"permissions":[...],"is_predefined":false,"created_at":...,"updated_at":...}
//	{"kind":"project","project_id":...,"space_id":...}
//	{"kind":"restriction","project_id":...,"restricted_at":...}
//	{"kind":"binding","id":...,"role_id":...,"user_id":...,"resource_type":...,"resource_id":...,"created_at":...,"updated_at":...}
//
// Roles come first (bindings name them), then links, restrictions and
// bindings, in the order sqlstore.Store.Dump reads them.
//
// Predefined roles are exported too, marked "is_predefined": true. They
// are not imported (the target's catalogue owns them); import checks that
// the target has each one as it was, so a file moved to a database opened
// with another catalogue is refused instead of granting other
// permissions under the same role IDs.

// progressEvery is how many records pass between two updates of the
// progress counter, and the size from which a counter is worth showing.
const progressEvery = 10_000

// progress counts records on w when w is a terminal: an operator moving
// millions of rows sees that something happens, and a pipe or a log file
// gets no carriage returns.
type progress struct {
	w    io.Writer
	verb string
	n    int
	on   bool
}

func newProgress(w io.Writer, verb string) *progress {
	return &progress{w: w, verb: verb, on: isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal).
// golang.org/x/term is not among the module's dependencies, and this is
// all it would be used for.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) add() {
	p.n++
	if p.on && p.n%progressEvery == 0 {
		fmt.Fprintf(p.w, "\r%s %d records", p.verb, p.n)
	}
}

// done ends the counter's line, if it showed.
func (p *progress) done() {
	if p.on && p.n >= progressEvery {
		fmt.Fprintf(p.w, "\r%s %d records\n", p.verb, p.n)
	}
}

// exportLine returns the line of one record, without the newline.
func exportLine(rec sqlstore.Record) ([]byte, error) {
	var body any
	switch rec.Kind {
	case sqlstore.RoleRecord:
		body = rec.Role
	case sqlstore.BindingRecord:
		body = rec.Binding
	case sqlstore.RestrictionRecord:
		body = rec.Restriction
	case sqlstore.ProjectRecord:
		body = struct {
			ProjectID string `json:"project_id"`
			SpaceID   string `json:"space_id"`
		}{rec.ProjectID, rec.SpaceID}
	default:
		return nil, fmt.Errorf("export: unknown record kind %q", rec.Kind)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	// The wire body with "kind" in front: the bodies are objects that
	// are never empty.
	line := make([]byte, 0, len(data)+len(rec.Kind)+12)
	line = append(line, `{"kind":"`...)
	line = append(line, rec.Kind...)
	line = append(line, `",`...)
	return append(line, data[1:]...), nil
}

// export writes every record of s to w, from one consistent read, and
// returns how many it wrote.
func export(ctx context.Context, s *sqlstore.Store, w io.Writer, stderr io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	p := newProgress(stderr, "exported")
	_, err := s.Dump(ctx, func(rec sqlstore.Record) error {
		line, err := exportLine(rec)
		if err != nil {
			return err
		}
		bw.Write(line)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
		p.add()
		return nil
	})
	p.done()
	if err != nil {
		return p.n, err
	}
	return p.n, bw.Flush()
}

// newExportCmd is "rbac export".
func newExportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Write every role, project link, restriction and binding as JSON lines",
		Long: `Write the whole database on stdout as JSON lines, one record a line, read
in one transaction so that it is one consistent state: roles (predefined
ones too, marked is_predefined), project links, restrictions, then
bindings, each with its IDs and timestamps, e.g.

  {"kind":"binding","id":"...","role_id":"...","user_id":"...","resource_type":"SPACE",...}

rbac import reads it back into another database, with every ID and
timestamp kept. A counter shows on stderr when it is a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			_, err = export(cmd.Context(), s, a.stdout, a.stderr)
			return err
		},
	}
}
