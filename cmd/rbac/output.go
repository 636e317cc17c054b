package main

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"encoding/json"
	"github.com/rolebind/rbac"
	"io"
)

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	body = append(body, '\n')
	_, err = w.Write(body)
	return err
}

// table writes rows under a header, columns aligned as kubectl aligns
// them: upper-case header, three spaces between columns.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 3, ' ', 0)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the table, without the blanks that pad an empty last
// column.
func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(t.buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := t.w.Write(out.Bytes())
	return err
}

// pagination is the paging object of every list body of the REST API:
// next_cursor only when has_more is true.
type pagination struct {
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// paging holds the flags every list has.
type paging struct {
	limit  int
	cursor string
	all    bool
}

func (p *paging) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&p.limit, "limit", rbac.DefaultLimit, "page size, 1 to 100")
	f.StringVar(&p.cursor, "cursor", "", "next_cursor of the previous page")
	f.BoolVar(&p.all, "all", false, "read every page to the end")
}

// more tells a person at a table where the next page is, on stderr so
// that stdout holds only the table.
func (a *app) more(p pagination) {
	if p.HasMore && !a.json() {
		fmt.Fprintf(a.stderr, "more: --cursor %s\n", p.NextCursor)
	}
}

// posArgs names positional arguments for messages: the library's field
// errors name its fields, and fieldName maps them through the command's
// annotations.
func posArgs(pairs ...string) map[string]string {
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m["field:"+pairs[i]] = pairs[i+1]
	}
	return m
}
