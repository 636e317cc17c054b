package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/sqlstore"
)

// TestListPlans checks with EXPLAIN QUERY PLAN that every combination of
// list filters reads an index in seq order from the cursor on: no sort of
// the matching rows (a temporary B-tree), which would make a deep page, or
// a first page of a long list, cost in proportion to the whole list.
func TestListPlans(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t, t.TempDir()+"/plan.db", sqlstore.Options{})
	// The store never runs ANALYZE, so the planner goes by the schema
	// alone; a few rows make the tables real.
	for i := range 50 {
		if _, err := s.Create(ctx, newBinding(i%20, i, i%3)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range sqlstore.ListQueries() {
		t.Run(q.Name, func(t *testing.T) {
			is := is.New(t)
			rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.SQL, q.Args...)
			is.NoErr(err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				is.NoErr(rows.Scan(&id, &parent, &notused, &detail))
				plan = append(plan, detail)
			}
			is.NoErr(rows.Err())
			all := strings.Join(plan, "; ")
			t.Log(all)
			is.True(!strings.Contains(all, "TEMP B-TREE"))    // no sort
			is.True(strings.Contains(all, "SEARCH"))          // a range, not a scan of the table
			is.True(strings.Contains(all, wantIndex[q.Name])) // the narrowest index
		})
	}
}

// wantIndex is the index each combination of filters should read: the
// narrowest one, whatever the order of the filters.
var wantIndex = map[string]string{
	"no filter":               "INTEGER PRIMARY KEY",
	"type":                    "rbac_role_bindings_by_type",
	"user":                    "rbac_role_bindings_by_user",
	"type+user":               "rbac_role_bindings_by_user",
	"user+role":               "rbac_role_bindings_by_user",
	"type+user+role":          "rbac_role_bindings_by_user",
	"type+resource":           "rbac_role_bindings_by_resource",
	"type+resource+role":      "rbac_role_bindings_by_resource",
	"type+user+resource":      "rbac_role_bindings_user_resource",
	"type+user+resource+role": "rbac_role_bindings_user_resource",
	"role":                    "rbac_role_bindings_by_role",
	"type+role":               "rbac_role_bindings_by_role",
}
