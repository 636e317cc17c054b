package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// category is the class of an error under the contract.
type category string

const (
	catOK       category = "ok"
	catInvalid  category = "invalid"
	catNotFound category = "not found"
	catConflict category = "conflict"
	// catInternal is any other error: storage failure, cancelled context.
	catInternal category = "internal"
)

// categorize returns the class of err, and a problem when err breaks the
// rules every error obeys: it matches more than one category, or it is
// invalid input without a [*rbac.ValidationError] naming what is wrong.
func categorize(err error) (category, string) {
	if err == nil {
		return catOK, ""
	}
	var matched []category
	for _, c := range []struct {
		sentinel error
		cat      category
	}{
		{rbac.ErrInvalid, catInvalid},
		{rbac.ErrNotFound, catNotFound},
		{rbac.ErrConflict, catConflict},
	} {
		if errors.Is(err, c.sentinel) {
			matched = append(matched, c.cat)
		}
	}
	switch len(matched) {
	case 0:
		return catInternal, ""
	case 1:
	default:
		return matched[0], fmt.Sprintf("error %q matches several categories %v; want exactly one", err, matched)
	}
	if matched[0] == catInvalid {
		var ve *rbac.ValidationError
		if !errors.As(err, &ve) {
			return catInvalid, fmt.Sprintf("invalid-input error %q is not a *rbac.ValidationError under errors.As; want one naming every field at fault", err)
		}
		if len(ve.Fields) == 0 {
			return catInvalid, fmt.Sprintf("invalid-input error %q names no field; want at least one field error", err)
		}
	}
	return matched[0], ""
}

// fieldsOf returns the field names of an invalid-input error.
func fieldsOf(err error) []string {
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var names []string
	for _, fe := range ve.Fields {
		names = append(names, fe.Field)
	}
	return names
}

// missingFields returns the fields of want that the invalid-input error err
// does not name.
func missingFields(err error, want ...string) []string {
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) {
		return want
	}
	var missing []string
	for _, f := range want {
		if !ve.Has(f) {
			missing = append(missing, f)
		}
	}
	return missing
}

// reporter is the part of testing.TB the wrapper needs; Errorf is safe
// from any goroutine, which the concurrency tests rely on.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkPage checks the shape every page of every list has: at most limit
// items (0 meaning the default), a next_cursor exactly when has_more, and a
// full page before has_more.
func checkPage(tb reporter, method string, limit, n int, hasMore bool, cursor string) {
	tb.Helper()
	asked := limit
	if limit == 0 {
		limit = rbac.DefaultLimit
	}
	switch {
	case n > limit:
		tb.Errorf("%s with limit %d returned %d items; want at most %d", method, asked, n, limit)
	case hasMore != (cursor != ""):
		tb.Errorf("%s returned has_more %v with next_cursor %q; want a cursor exactly when there is more", method, hasMore, cursor)
	case hasMore && n != limit:
		tb.Errorf("%s returned has_more with %d items on a page of %d; want a full page before has_more", method, n, limit)
	}
}

// checked wraps a store and checks every result it gives against the
// rules that hold for every call: error categories, and well-formed
// bindings and pages. Problems are reported with Errorf so that it works
// from any goroutine; the calling test goes on to check the specifics.
type checked struct {
	tb reporter
	s  store.Store
}

var _ store.Store = (*checked)(nil)

func (c *checked) err(op string, err error) {
	c.tb.Helper()
	if _, problem := categorize(err); problem != "" {
		c.tb.Errorf("%s: %s", op, problem)
	}
}

func (c *checked) binding(op string, b rbac.Binding) {
	c.tb.Helper()
	if problem := checkBinding(b); problem != "" {
		c.tb.Errorf("%s returned a malformed binding %+v: %s", op, b, problem)
	}
}

func (c *checked) Create(ctx context.Context, nb rbac.NewBinding) (rbac.Binding, error) {
	c.tb.Helper()
	b, err := c.s.Create(ctx, nb)
	c.err("Create", err)
	if err == nil {
		c.binding("Create", b)
		if b.CreatedAt != b.UpdatedAt {
			c.tb.Errorf("Create returned created_at %v and updated_at %v; want them equal", b.CreatedAt, b.UpdatedAt)
		}
	}
	return b, err
}

func (c *checked) Get(ctx context.Context, id string) (rbac.Binding, error) {
	c.tb.Helper()
	b, err := c.s.Get(ctx, id)
	c.err("Get", err)
	if err == nil {
		c.binding("Get", b)
	}
	return b, err
}

func (c *checked) ChangeRole(ctx context.Context, id string, rc rbac.RoleChange) (rbac.Binding, error) {
	c.tb.Helper()
	b, err := c.s.ChangeRole(ctx, id, rc)
	c.err("ChangeRole", err)
	if err == nil {
		c.binding("ChangeRole", b)
	}
	return b, err
}

func (c *checked) Delete(ctx context.Context, id string) error {
	c.tb.Helper()
	err := c.s.Delete(ctx, id)
	c.err("Delete", err)
	return err
}

func (c *checked) List(ctx context.Context, q rbac.ListQuery) (rbac.Page, error) {
	c.tb.Helper()
	p, err := c.s.List(ctx, q)
	c.err("List", err)
	if err != nil {
		return p, err
	}
	checkPage(c.tb, "List", q.Limit, len(p.Bindings), p.HasMore, p.NextCursor)
	seen := map[string]bool{}
	for _, b := range p.Bindings {
		c.binding("List", b)
		if seen[b.ID] {
			c.tb.Errorf("List returned binding %s twice on one page; want each binding once", b.ID)
		}
		seen[b.ID] = true
	}
	return p, nil
}

func (c *checked) DeleteUserBindings(ctx context.Context, userID string) (int, error) {
	c.tb.Helper()
	n, err := c.s.DeleteUserBindings(ctx, userID)
	c.err("DeleteUserBindings", err)
	if err == nil && n < 0 {
		c.tb.Errorf("DeleteUserBindings returned count %d; want a count of at least 0", n)
	}
	return n, err
}

func (c *checked) DeleteResourceBindings(ctx context.Context, rt rbac.ResourceType, resourceID string) (int, error) {
	c.tb.Helper()
	n, err := c.s.DeleteResourceBindings(ctx, rt, resourceID)
	c.err("DeleteResourceBindings", err)
	if err == nil && n < 0 {
		c.tb.Errorf("DeleteResourceBindings returned count %d; want a count of at least 0", n)
	}
	return n, err
}

// checkBinding returns what is wrong with a binding a store returned, or
// "" when it is well formed: every ID canonical and of its type, projects
// in their canonical Model spelling, timestamps in [rbac.StoreTime] form,
// created no later than updated.
func checkBinding(b rbac.Binding) string {
	v := validate.Default()
	if id, err := v.BindingID(b.ID); err != nil || id != b.ID {
		return fmt.Sprintf("id %q is not a canonical RoleBinding ID", b.ID)
	}
	nb, err := v.NewBinding(rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID})
	if err != nil {
		return fmt.Sprintf("its fields do not pass validation: %v", err)
	}
	if nb.ResourceID != b.ResourceID {
		return fmt.Sprintf("resource_id %q is not in canonical form; want %q", b.ResourceID, nb.ResourceID)
	}
	for _, ts := range []struct {
		name string
		t    time.Time
	}{{"created_at", b.CreatedAt}, {"updated_at", b.UpdatedAt}} {
		if ts.t.IsZero() {
			return ts.name + " is zero; want the time the store wrote it"
		}
		if ts.t != rbac.StoreTime(ts.t) {
			return fmt.Sprintf("%s %v is not UTC at microsecond precision without a monotonic reading; want rbac.StoreTime form %v", ts.name, ts.t, rbac.StoreTime(ts.t))
		}
	}
	if b.UpdatedAt.Before(b.CreatedAt) {
		return fmt.Sprintf("updated_at %v is before created_at %v", b.UpdatedAt, b.CreatedAt)
	}
	return ""
}
