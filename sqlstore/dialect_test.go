package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/sqlstore"
)

func TestDialectString(t *testing.T) {
	for _, c := range []struct {
		d    *sqlstore.Dialect
		want string
	}{
		{sqlstore.SQLite, "sqlite"},
		{sqlstore.PostgreSQL, "postgres"},
	} {
		t.Run(c.want, func(t *testing.T) {
			is := is.New(t)
			is.Equal(c.d.String(), c.want)
			is.Equal(fmt.Sprint(c.d), c.want) // what a log line prints
		})
	}
}
