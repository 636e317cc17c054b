package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/rolebind/rbac/store"
)

// SetNewID replaces the store's binding ID generator, so that tests can
// hand it an ID that was used before.
func SetNewID(s *Store, f func() (string, error)) { s.newID = f }

// MigrateTo brings the schema of db up to version v and no further, to
// make databases as older versions of the package left them.
func MigrateTo(ctx context.Context, db *sql.DB, d *Dialect, v int) error {
	_, err := migrate(ctx, db, d, v, nil)
	return err
}

// ListQuery is one of the store's list statements with arguments of the
// right types.
type ListQuery struct {
	Name string
	SQL  string
	Args []any
}

// ListQueries returns the SQLite list statement of every combination of
// filters that validation lets through (a resource ID needs its type).
func ListQueries() []ListQuery {
	q := makeQueries(SQLite)
	var out []ListQuery
	for mask, sql := range q.list {
		if mask&filterResource != 0 && mask&filterType == 0 {
			continue
		}
		name := "no filter"
		args := []any{int64(0)}
		var names []string
		if mask&filterType != 0 {
			names = append(names, "type")
			args = append(args, "SPACE")
		}
		if mask&filterUser != 0 {
			names = append(names, "user")
			args = append(args, "VXNlcjoxOnU=")
		}
		if mask&filterResource != 0 {
			names = append(names, "resource")
			args = append(args, "U3BhY2U6MTpz")
		}
		if mask&filterRole != 0 {
			names = append(names, "role")
			args = append(args, "Um9sZToxOnI=")
		}
		if len(names) > 0 {
			name = strings.Join(names, "+")
		}
		out = append(out, ListQuery{Name: name, SQL: sql, Args: append(args, 51)})
	}
	return out
}

// Payloads are the stored forms of changes, as the store writes them to
// the change log.
func Payloads(changes []store.Change) ([]string, error) { return payloadsOf(changes) }

// BindingPayload is the stored form of a binding change, as the store
// writes it, and whether the fast encoding wrote it.
func BindingPayload(ch store.Change) (string, bool) {
	b, ok := appendBindingChange(nil, &ch)
	return string(b), ok
}

// BulkMin is the smallest batch that sets the row triggers aside on
// SQLite.
const BulkMin = bulkMin
