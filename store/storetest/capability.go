package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// The optional parts of a store: [store.RoleStore],
// [store.ResourceStore], [store.ChangeFeed] and [store.FirstAdminCreator].
// A store that lacks one has the groups that test it skipped with a
// message that says so, rather than passed: a reader of the test output
// sees what was not tested, as in SpiceDB's datastore suite.

// capability is one optional interface, by the name a skip message uses.
type capability string

const (
	capRoles      capability = "store.RoleStore"
	capResources  capability = "store.ResourceStore"
	capFeed       capability = "store.ChangeFeed"
	capFirstAdmin capability = "store.FirstAdminCreator"
)

func has(s store.Store, c capability) bool {
	var ok bool
	switch c {
	case capRoles:
		_, ok = s.(store.RoleStore)
	case capResources:
		_, ok = s.(store.ResourceStore)
	case capFeed:
		_, ok = s.(store.ChangeFeed)
	case capFirstAdmin:
		_, ok = s.(store.FirstAdminCreator)
	}
	return ok
}

// requireCaps skips t unless the stores f makes implement every one of
// caps. It makes one store to find out.
func requireCaps(t *testing.T, f Factory, caps ...capability) {
	t.Helper()
	s := f(t, Options{Now: NewClock(clockStart).Now, Catalogue: Catalogue()})
	if s == nil {
		t.Fatal("storetest: the factory returned a nil store")
	}
	for _, c := range caps {
		if !has(s, c) {
			t.Skipf("store %T does not implement %s; its tests are skipped", s, c)
		}
	}
}

// roles returns the store's role methods, checked like the binding
// methods; the caller has made sure the store has them (requireCaps).
func (e *env) roles() store.RoleStore { return &checkedRoles{tb: e.tb, s: e.raw.(store.RoleStore)} }

// resources returns the store's resource methods, checked.
func (e *env) resources() store.ResourceStore {
	return &checkedResources{tb: e.tb, s: e.raw.(store.ResourceStore)}
}

// feed returns the store's change feed, checked.
func (e *env) feed() store.ChangeFeed { return &checkedFeed{tb: e.tb, s: e.raw.(store.ChangeFeed)} }

// revision returns the store's revision when it has a feed, and 0 when it
// has none, so that tests of roles and resources can also check that a
// failed write recorded nothing.
func (e *env) revision(tb testing.TB) uint64 {
	tb.Helper()
	f, ok := e.raw.(store.ChangeFeed)
	if !ok {
		return 0
	}
	rev, err := f.Revision(context.Background())
	if err != nil {
		tb.Fatalf("Revision: %v; want success", err)
	}
	return rev
}

// checkRole returns what is wrong with a role a store returned, or "".
func checkRole(r rbac.Role) string {
	if id, err := validate.Default().RoleID(r.ID); err != nil || id != r.ID {
		return fmt.Sprintf("id %q is not a canonical Role ID", r.ID)
	}
	if _, err := validate.Default().NewRole(perm.DefaultVocabulary(), rbac.NewRole{Name: r.Name, Description: r.Description, Permissions: r.Permissions}); err != nil {
		return fmt.Sprintf("its fields do not pass validation: %v", err)
	}
	if !slices.IsSorted(r.Permissions) || len(slices.Compact(slices.Clone(r.Permissions))) != len(r.Permissions) {
		return fmt.Sprintf("permissions %q are not sorted without repeats", r.Permissions)
	}
	for _, ts := range []struct {
		name string
		t    time.Time
	}{{"created_at", r.CreatedAt}, {"updated_at", r.UpdatedAt}} {
		if ts.t.IsZero() || ts.t != rbac.StoreTime(ts.t) {
			return fmt.Sprintf("%s %v is not a time in rbac.StoreTime form", ts.name, ts.t)
		}
	}
	if r.UpdatedAt.Before(r.CreatedAt) {
		return fmt.Sprintf("updated_at %v is before created_at %v", r.UpdatedAt, r.CreatedAt)
	}
	return ""
}

// checkedRoles checks every result of a RoleStore against the rules that
// hold for every call, as checked does for bindings.
type checkedRoles struct {
	tb reporter
	s  store.RoleStore
}

func (c *checkedRoles) err(op string, err error) {
	c.tb.Helper()
	if _, problem := categorize(err); problem != "" {
		c.tb.Errorf("%s: %s", op, problem)
	}
}

func (c *checkedRoles) role(op string, r rbac.Role) {
	c.tb.Helper()
	if problem := checkRole(r); problem != "" {
		c.tb.Errorf("%s returned a malformed role %+v: %s", op, r, problem)
	}
}

func (c *checkedRoles) CreateRole(ctx context.Context, nr rbac.NewRole) (rbac.Role, error) {
	c.tb.Helper()
	r, err := c.s.CreateRole(ctx, nr)
	c.err("CreateRole", err)
	if err == nil {
		c.role("CreateRole", r)
		if r.Predefined || r.CreatedAt != r.UpdatedAt {
			c.tb.Errorf("CreateRole returned %+v; want predefined false and created_at == updated_at", r)
		}
	}
	return r, err
}

func (c *checkedRoles) GetRole(ctx context.Context, id string) (rbac.Role, error) {
	c.tb.Helper()
	r, err := c.s.GetRole(ctx, id)
	c.err("GetRole", err)
	if err == nil {
		c.role("GetRole", r)
	}
	return r, err
}

func (c *checkedRoles) UpdateRole(ctx context.Context, id string, u rbac.RoleUpdate) (rbac.Role, error) {
	c.tb.Helper()
	r, err := c.s.UpdateRole(ctx, id, u)
	c.err("UpdateRole", err)
	if err == nil {
		c.role("UpdateRole", r)
	}
	return r, err
}

func (c *checkedRoles) DeleteRole(ctx context.Context, id string) error {
	c.tb.Helper()
	err := c.s.DeleteRole(ctx, id)
	c.err("DeleteRole", err)
	return err
}

func (c *checkedRoles) ListRoles(ctx context.Context, q rbac.RoleQuery) (rbac.RolePage, error) {
	c.tb.Helper()
	p, err := c.s.ListRoles(ctx, q)
	c.err("ListRoles", err)
	if err != nil {
		return p, err
	}
	checkPage(c.tb, "ListRoles", q.Limit, len(p.Roles), p.HasMore, p.NextCursor)
	for _, r := range p.Roles {
		c.role("ListRoles", r)
	}
	return p, nil
}

// checkedResources checks the error categories of a ResourceStore.
type checkedResources struct {
	tb reporter
	s  store.ResourceStore
}

func (c *checkedResources) err(op string, err error) {
	c.tb.Helper()
	if _, problem := categorize(err); problem != "" {
		c.tb.Errorf("%s: %s", op, problem)
	}
}

func (c *checkedResources) SetProjectSpace(ctx context.Context, projectID, spaceID string) error {
	c.tb.Helper()
	err := c.s.SetProjectSpace(ctx, projectID, spaceID)
	c.err("SetProjectSpace", err)
	return err
}

func (c *checkedResources) ProjectSpace(ctx context.Context, projectID string) (string, error) {
	c.tb.Helper()
	sp, err := c.s.ProjectSpace(ctx, projectID)
	c.err("ProjectSpace", err)
	return sp, err
}

func (c *checkedResources) RestrictProject(ctx context.Context, projectID string) error {
	c.tb.Helper()
	err := c.s.RestrictProject(ctx, projectID)
	c.err("RestrictProject", err)
	return err
}

func (c *checkedResources) UnrestrictProject(ctx context.Context, projectID string) error {
	c.tb.Helper()
	err := c.s.UnrestrictProject(ctx, projectID)
	c.err("UnrestrictProject", err)
	return err
}

func (c *checkedResources) ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error) {
	c.tb.Helper()
	p, err := c.s.ListRestricted(ctx, q)
	c.err("ListRestricted", err)
	if err != nil {
		return p, err
	}
	checkPage(c.tb, "ListRestricted", q.Limit, len(p.Projects), p.HasMore, p.NextCursor)
	for _, r := range p.Projects {
		if r.RestrictedAt.IsZero() || r.RestrictedAt != rbac.StoreTime(r.RestrictedAt) {
			c.tb.Errorf("ListRestricted returned restricted_at %v for %s; want a time in rbac.StoreTime form", r.RestrictedAt, r.ProjectID)
		}
	}
	return p, nil
}

// checkedFeed checks that a ChangeFeed's results are consecutive and well
// formed.
type checkedFeed struct {
	tb reporter
	s  store.ChangeFeed
}

func (c *checkedFeed) Revision(ctx context.Context) (uint64, error) {
	c.tb.Helper()
	rev, err := c.s.Revision(ctx)
	if err != nil {
		c.tb.Errorf("Revision: %v; want success", err)
	}
	return rev, err
}

func (c *checkedFeed) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	c.tb.Helper()
	chs, err := c.s.Changes(ctx, after, limit)
	if _, problem := categorize(err); problem != "" {
		c.tb.Errorf("Changes: %s", problem)
	}
	if err != nil {
		return chs, err
	}
	if len(chs) > limit {
		c.tb.Errorf("Changes(%d, %d) returned %d changes; want at most %d", after, limit, len(chs), limit)
	}
	for i, ch := range chs {
		if want := after + uint64(i) + 1; ch.Revision != want {
			c.tb.Errorf("Changes(%d, %d): change %d has revision %d; want %d (consecutive from after+1)", after, limit, i, ch.Revision, want)
			break
		}
		if !ch.Kind.Valid() || ch.At.IsZero() || ch.At != rbac.StoreTime(ch.At) {
			c.tb.Errorf("Changes(%d, %d): change %+v has an unknown kind or an at that is not in rbac.StoreTime form", after, limit, ch)
		}
	}
	return chs, nil
}

func (c *checkedFeed) Snapshot(ctx context.Context, fn func(store.Change) error) (uint64, error) {
	c.tb.Helper()
	return c.s.Snapshot(ctx, func(ch store.Change) error {
		if ch.Revision != 0 {
			c.tb.Errorf("Snapshot emitted %+v with revision %d; want revision 0", ch, ch.Revision)
		}
		return fn(ch)
	})
}

func (c *checkedFeed) Subscribe(fn func(store.Change)) (cancel func()) { return c.s.Subscribe(fn) }
