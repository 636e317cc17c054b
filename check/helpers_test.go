package check_test

import (
	"strconv"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/store"
)

// IDs for tests, by number.
func userID(n int) string    { return ids.Encode("User", strconv.Itoa(n), "") }
func spaceID(n int) string   { return ids.Encode("Space", strconv.Itoa(n), "") }
func projectID(n int) string { return ids.Encode("Model", strconv.Itoa(n), "") }
func roleID(n int) string    { return ids.Encode("Role", strconv.Itoa(100+n), "") }
func bindID(n int) string    { return ids.Encode("RoleBinding", strconv.Itoa(n), "") }

// world is a checker fed by hand-made changes, as a store's feed would
// feed it, with revisions counted for it.
type world struct {
	tb    testing.TB
	c     *check.Checker
	rev   uint64
	nextB int
	// bindings remembers each (user, resource) binding, so tests can
	// change and delete them by what they grant.
	bindings map[[2]string]rbac.Binding
	// log, when set, records every change too, as a store's feed would.
	log *feed
}

// newWorld returns a world whose checker has loaded a snapshot of a new
// store: the default catalogue's roles, at revision 0, as a host's checker
// learns them from its store.
func newWorld(tb testing.TB, opts check.Options) *world {
	tb.Helper()
	c, err := check.New(opts)
	if err != nil {
		tb.Fatalf("new checker: %v", err)
	}
	if err := c.Load(tb.Context(), newFeed()); err != nil {
		tb.Fatalf("load the catalogue: %v", err)
	}
	return &world{tb: tb, c: c, bindings: map[[2]string]rbac.Binding{}}
}

func (w *world) apply(ch store.Change) {
	w.tb.Helper()
	w.rev++
	ch.Revision = w.rev
	if w.log != nil {
		if rev := w.log.remote(ch); rev != w.rev {
			w.tb.Fatalf("feed revision %d, world revision %d", rev, w.rev)
		}
	}
	if err := w.c.Apply(ch); err != nil {
		w.tb.Fatalf("apply %v: %v", ch.Kind, err)
	}
}

// role creates or updates a custom role.
func (w *world) role(id, name string, perms ...string) {
	w.tb.Helper()
	w.apply(store.Change{Kind: store.RoleCreated, Role: rbac.Role{ID: id, Name: name, Permissions: perms}})
}

// bind gives user the role on the resource, creating the binding or
// changing its role.
func (w *world) bind(user, role string, rt rbac.ResourceType, res string) rbac.Binding {
	w.tb.Helper()
	key := [2]string{user, res}
	if b, ok := w.bindings[key]; ok {
		b.RoleID = role
		w.bindings[key] = b
		w.apply(store.Change{Kind: store.BindingRoleChanged, Binding: b})
		return b
	}
	w.nextB++
	b := rbac.Binding{ID: bindID(w.nextB), RoleID: role, UserID: user, ResourceType: rt, ResourceID: res}
	w.bindings[key] = b
	w.apply(store.Change{Kind: store.BindingCreated, Binding: b})
	return b
}

func (w *world) unbind(user, res string) {
	w.tb.Helper()
	key := [2]string{user, res}
	b, ok := w.bindings[key]
	if !ok {
		w.tb.Fatalf("no binding of %s on %s", user, res)
	}
	delete(w.bindings, key)
	w.apply(store.Change{Kind: store.BindingDeleted, Binding: b})
}

func (w *world) deleteUser(user string) {
	w.tb.Helper()
	for k := range w.bindings {
		if k[0] == user {
			delete(w.bindings, k)
		}
	}
	w.apply(store.Change{Kind: store.UserBindingsDeleted, Binding: rbac.Binding{UserID: user}})
}

func (w *world) deleteResource(rt rbac.ResourceType, res string) {
	w.tb.Helper()
	for k := range w.bindings {
		if k[1] == res {
			delete(w.bindings, k)
		}
	}
	w.apply(store.Change{Kind: store.ResourceBindingsDeleted, Binding: rbac.Binding{ResourceType: rt, ResourceID: res}})
}

func (w *world) link(project, space string) {
	w.tb.Helper()
	w.apply(store.Change{Kind: store.ProjectSpaceSet, ProjectID: project, SpaceID: space})
}

func (w *world) restrict(project string) {
	w.tb.Helper()
	w.apply(store.Change{Kind: store.ProjectRestricted, ProjectID: project})
}

func (w *world) unrestrict(project string) {
	w.tb.Helper()
	w.apply(store.Change{Kind: store.ProjectUnrestricted, ProjectID: project})
}
