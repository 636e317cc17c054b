package core

import (
	"errors"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// CheckList validates a binding list query and reads its cursor, and
// reports every problem at once: the field errors of the filters and the
// limit, then the cursor's. It returns the query with canonical IDs and
// the default limit filled in, and the sequence number the page starts
// after (0 for the first page).
//
// A cursor is sealed with its list's filters, so it can only be judged
// against valid ones: with a bad filter the cursor is not read, and the
// error names the filters alone. A bad limit does not stop the cursor
// from being read (the limit may change between pages).
func CheckList(v *validate.Validator, c *store.Cursors, q rbac.ListQuery) (rbac.ListQuery, uint64, error) {
	q, qErr := v.ListQuery(q)
	var ve *rbac.ValidationError
	if qErr != nil && (!errors.As(qErr, &ve) || !onlyField(ve, "limit")) {
		return q, 0, qErr
	}
	after, cErr := c.Decode(q, q.Cursor)
	if err := rbac.JoinInvalid(qErr, cErr); err != nil {
		return q, 0, err
	}
	return q, after, nil
}

// CheckRoleQuery validates a role list query and reads its cursor,
// reporting every problem at once (limit, then cursor). Role cursors are
// sealed with [store.RoleCursorQuery].
func CheckRoleQuery(v *validate.Validator, c *store.Cursors, q rbac.RoleQuery) (rbac.RoleQuery, uint64, error) {
	q, qErr := v.RoleQuery(q)
	after, err := checkPaging(c, store.RoleCursorQuery(), q.Cursor, qErr)
	return q, after, err
}

// CheckRestrictedQuery validates a list query of restricted projects and
// reads its cursor, reporting every problem at once (limit, then
// cursor). Its cursors are sealed with [store.RestrictedCursorQuery].
func CheckRestrictedQuery(v *validate.Validator, c *store.Cursors, q rbac.RestrictedQuery) (rbac.RestrictedQuery, uint64, error) {
	q, qErr := v.RestrictedQuery(q)
	after, err := checkPaging(c, store.RestrictedCursorQuery(), q.Cursor, qErr)
	return q, after, err
}

// checkPaging reads the cursor of a list without filters and joins its
// problem to qErr, the query's.
func checkPaging(c *store.Cursors, sealedWith rbac.ListQuery, cursor string, qErr error) (uint64, error) {
	after, cErr := c.Decode(sealedWith, cursor)
	if err := rbac.JoinInvalid(qErr, cErr); err != nil {
		return 0, err
	}
	return after, nil
}

func onlyField(ve *rbac.ValidationError, field string) bool {
	for _, fe := range ve.Fields {
		if fe.Field != field {
			return false
		}
	}
	return true
}
