package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	rbacperm "github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// feedWatch follows a store's revision through a test: each write must
// move it by exactly one (one) or not at all (none).
type feedWatch struct {
	t   *testing.T
	e   *env
	rev uint64
}

func watchFeed(t *testing.T, e *env) *feedWatch {
	return &feedWatch{t: t, e: e, rev: e.revision(t)}
}

// none fails the test unless nothing was recorded since the last step.
func (w *feedWatch) none(what string) {
	w.t.Helper()
	unchangedRevision(w.t, w.e, w.rev, what)
}

// one fails the test unless exactly one change of kind was recorded since
// the last step, at the store's clock, and returns it.
func (w *feedWatch) one(what string, kind store.ChangeKind) store.Change {
	w.t.Helper()
	if got := w.e.revision(w.t); got != w.rev+1 {
		w.t.Fatalf("%s: revision %d after the write, was %d; want exactly one change", what, got, w.rev)
	}
	chs, err := w.e.feed().Changes(w.t.Context(), w.rev, store.MaxChanges)
	if err != nil || len(chs) != 1 {
		w.t.Fatalf("%s: Changes(%d) = %d changes, %v; want the one change", what, w.rev, len(chs), err)
	}
	ch := chs[0]
	if ch.Kind != kind {
		w.t.Fatalf("%s: the change is %s; want %s", what, ch.Kind, kind)
	}
	if now := rbac.StoreTime(w.e.clock.Now()); ch.At != now {
		w.t.Fatalf("%s: the change is at %v; want the store's clock %v", what, ch.At, now)
	}
	w.rev++
	return ch
}

func testFeed(t *testing.T, f Factory) {
	run(t, "every write that changes something is one change, with what the write returned", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		w := watchFeed(t, e)
		roles, res := e.roles(), e.resources()

		r, err := roles.CreateRole(ctx, rbac.NewRole{Name: "Feed role", Permissions: []string{"SPACE_READ", "PROJECT_READ"}})
		is.NoErr(err)
		is.Equal(w.one("CreateRole", store.RoleCreated).Role, r) // the change carries the role as created
		_, err = roles.CreateRole(ctx, rbac.NewRole{Name: "Feed role", Permissions: []string{"SPACE_READ"}})
		wantCategory(t, err, catConflict, "CreateRole with a taken name")
		_, err = roles.CreateRole(ctx, rbac.NewRole{Name: "No permission"})
		wantCategory(t, err, catInvalid, "CreateRole without permissions")
		w.none("refused role creates")

		e.clock.Advance(time.Second)
		b, err := e.s.Create(ctx, rbac.NewBinding{RoleID: r.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(1)})
		is.NoErr(err)
		is.Equal(w.one("Create", store.BindingCreated).Binding, b) // the change carries the binding as created
		_, err = e.s.Create(ctx, nb(1, space(1), 2))
		wantCategory(t, err, catConflict, "Create on a taken slot")
		_, err = e.s.Create(ctx, rbac.NewBinding{RoleID: missingRoleID(1), UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(2)})
		wantCategory(t, err, catNotFound, "Create with a missing role")
		_, err = e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: r.ID})
		is.NoErr(err) // setting the role the binding has
		w.none("a refused Create and a role change to the same role")

		e.clock.Advance(time.Second)
		b, err = e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(1)})
		is.NoErr(err)
		is.Equal(w.one("ChangeRole", store.BindingRoleChanged).Binding, b) // the binding as it now is

		e.clock.Advance(time.Second)
		name := "Feed role renamed"
		r, err = roles.UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name, Permissions: []string{"QUEUE_READ"}})
		is.NoErr(err)
		is.Equal(w.one("UpdateRole", store.RoleUpdated).Role, r) // the role as it now is, whole permission set
		_, err = roles.UpdateRole(ctx, r.ID, rbac.RoleUpdate{Name: &name})
		is.NoErr(err)
		w.none("an UpdateRole that changes nothing")

		e.clock.Advance(time.Second)
		is.NoErr(res.SetProjectSpace(ctx, projectAlias(1), spaceID(1)))
		ch := w.one("SetProjectSpace", store.ProjectSpaceSet)
		is.Equal([]string{ch.ProjectID, ch.SpaceID}, []string{projectID(1), spaceID(1)}) // the project in Model form, and its space
		is.NoErr(res.SetProjectSpace(ctx, projectID(1), spaceID(1)))
		w.none("SetProjectSpace to the space the project has")

		e.clock.Advance(time.Second)
		is.NoErr(res.RestrictProject(ctx, projectAlias(1)))
		is.Equal(w.one("RestrictProject", store.ProjectRestricted).ProjectID, projectID(1)) // the project in Model form
		is.NoErr(res.RestrictProject(ctx, projectID(1)))
		w.none("RestrictProject of a restricted project")
		e.clock.Advance(time.Second)
		is.NoErr(res.UnrestrictProject(ctx, projectID(1)))
		is.Equal(w.one("UnrestrictProject", store.ProjectUnrestricted).ProjectID, projectID(1))
		wantCategory(t, res.UnrestrictProject(ctx, projectID(1)), catNotFound, "UnrestrictProject of an unrestricted project")
		w.none("a refused UnrestrictProject")

		c, err := e.s.Create(ctx, nb(2, project(1), 2))
		is.NoErr(err)
		w.one("Create", store.BindingCreated)
		e.clock.Advance(time.Second)
		is.NoErr(e.s.Delete(ctx, c.ID))
		is.Equal(w.one("Delete", store.BindingDeleted).Binding, c) // the binding as it was
		wantCategory(t, e.s.Delete(ctx, c.ID), catNotFound, "Delete of a deleted binding")
		w.none("a refused Delete")

		for _, in := range []rbac.NewBinding{nb(3, space(2), 1), nb(3, project(2), 1), nb(4, project(3), 1), nb(5, project(3), 2)} {
			_, err := e.s.Create(ctx, in)
			is.NoErr(err)
			w.one("Create", store.BindingCreated)
		}
		e.clock.Advance(time.Second)
		n, err := e.s.DeleteUserBindings(ctx, userID(3))
		is.NoErr(err)
		is.Equal(n, 2)
		is.Equal(w.one("DeleteUserBindings", store.UserBindingsDeleted).Binding.UserID, userID(3)) // the change names the user
		e.clock.Advance(time.Second)
		n, err = e.s.DeleteResourceBindings(ctx, rbac.Project, projectAlias(3))
		is.NoErr(err)
		is.Equal(n, 2)
		ch = w.one("DeleteResourceBindings", store.ResourceBindingsDeleted)
		is.Equal([]string{string(ch.Binding.ResourceType), ch.Binding.ResourceID}, []string{string(rbac.Project), projectID(3)}) // the change names the resource
		for _, what := range []string{"DeleteUserBindings", "DeleteResourceBindings"} {
			var n int
			if what == "DeleteUserBindings" {
				n, err = e.s.DeleteUserBindings(ctx, userID(3))
			} else {
				n, err = e.s.DeleteResourceBindings(ctx, rbac.Project, projectID(3))
			}
			is.NoErr(err)
			is.Equal(n, 0)
			w.none(what + " that deleted nothing")
		}

		e.clock.Advance(time.Second)
		is.NoErr(roles.DeleteRole(ctx, r.ID))
		is.Equal(w.one("DeleteRole", store.RoleDeleted).Role, r) // the role as it was
		wantCategory(t, roles.DeleteRole(ctx, rbacperm.AdminRoleID), catInvalid, "DeleteRole of a predefined role")
		w.none("a refused DeleteRole")

		dead, cancel := context.WithCancel(ctx)
		cancel()
		_, err = e.s.Create(dead, nb(6, space(6), 1))
		is.True(err != nil) // a cancelled context writes nothing
		w.none("a Create with a cancelled context")
	})

	run(t, "Changes pages by limit, from any revision", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		fd := e.feed()
		r0 := e.revision(t)
		for i := range 7 {
			mustCreate(t, ctx, e, nb(i, space(1), 1))
		}
		rev, err := fd.Revision(ctx)
		is.NoErr(err)
		is.Equal(rev, r0+7) // seven writes, seven revisions
		var got []store.Change
		for after := r0; after < rev; {
			chs, err := fd.Changes(ctx, after, 3)
			is.NoErr(err)
			is.True(len(chs) > 0) // something after an older revision
			got = append(got, chs...)
			after = chs[len(chs)-1].Revision
		}
		is.Equal(len(got), 7) // every change once
		all := listAll(t, ctx, e, rbac.ListQuery{})
		for i, ch := range got {
			is.Equal(ch.Binding, all[i]) // the changes in the order of the writes
		}
		chs, err := fd.Changes(ctx, rev, store.MaxChanges)
		is.NoErr(err)
		is.Equal(len(chs), 0) // nothing after the last revision
		chs, err = fd.Changes(ctx, rev+5, 1)
		is.NoErr(err)
		is.Equal(len(chs), 0) // nothing after a revision not reached yet
		for _, limit := range []int{0, -1, store.MaxChanges + 1} {
			_, err := fd.Changes(ctx, r0, limit)
			wantInvalid(t, err, fmt.Sprintf("Changes with limit %d", limit), "limit")
		}
	})

	run(t, "subscribers see each write before it returns, until they cancel", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		fd := e.feed()
		var (
			mu       sync.Mutex
			got      []store.Change
			fromFeed []store.Change
			second   int
		)
		cancel := fd.Subscribe(func(ch store.Change) {
			// A subscriber may read the feed; here it reads its own change.
			chs, err := fd.Changes(context.Background(), ch.Revision-1, 1)
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ch)
			if err == nil && len(chs) == 1 {
				fromFeed = append(fromFeed, chs[0])
			}
		})
		cancel2 := fd.Subscribe(func(store.Change) {
			mu.Lock()
			second++
			mu.Unlock()
		})
		defer cancel2()
		last := func() (store.Change, int) {
			mu.Lock()
			defer mu.Unlock()
			if len(got) == 0 {
				return store.Change{}, 0
			}
			return got[len(got)-1], len(got)
		}
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		ch, n := last()
		is.Equal(n, 1)                          // called once, before Create returned
		is.Equal(ch.Kind, store.BindingCreated) // with the create
		is.Equal(ch.Binding, b)                 // and the binding it returned
		is.Equal(ch.Revision, e.revision(t))    // at the store's revision
		_, err := e.s.Create(ctx, nb(1, space(1), 2))
		wantCategory(t, err, catConflict, "Create on a taken slot")
		_, n = last()
		is.Equal(n, 1) // not called for a failed write
		is.NoErr(e.resources().RestrictProject(ctx, projectID(1)))
		ch, n = last()
		is.Equal(n, 2)                             // called for a restriction
		is.Equal(ch.Kind, store.ProjectRestricted) // with it
		mu.Lock()
		is.Equal(fromFeed, got) // the subscriber read each change from the feed, while the write was under way
		is.Equal(second, 2)     // every subscriber is called
		mu.Unlock()
		cancel()
		is.NoErr(e.s.Delete(ctx, b.ID))
		_, n = last()
		is.Equal(n, 2) // not called after cancel
		mu.Lock()
		is.Equal(second, 3) // the other subscriber still is
		mu.Unlock()
	})

	run(t, "concurrent writers: each revision once, no gaps, revision equals the writes", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		fd := e.feed()
		r0 := e.revision(t)
		var (
			mu   sync.Mutex
			seen = map[uint64]int{}
		)
		defer fd.Subscribe(func(ch store.Change) {
			mu.Lock()
			seen[ch.Revision]++
			mu.Unlock()
		})()
		const writers, perWriter = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*perWriter)
		for g := range writers {
			wg.Go(func() {
				var last string
				for k := range perWriter {
					n := 100 + g*perWriter + k
					var err error
					switch k % 5 {
					case 0:
						var b rbac.Binding
						b, err = e.s.Create(ctx, nb(50+g, space(n), 1))
						last = b.ID
					case 1:
						_, err = e.s.ChangeRole(ctx, last, rbac.RoleChange{RoleID: roleID(2)})
					case 2:
						err = e.resources().RestrictProject(ctx, projectID(n))
					case 3:
						err = e.resources().SetProjectSpace(ctx, projectID(n), spaceID(g))
					default:
						err = e.s.Delete(ctx, last)
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, write %d: %w", g, k, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%v; want every write to succeed", err)
		}
		const total = writers * perWriter
		if rev := e.revision(t); rev != r0+total {
			t.Fatalf("after %d writes the revision is %d; want %d", total, rev, r0+total)
		}
		mu.Lock()
		defer mu.Unlock()
		for rev := r0 + 1; rev <= r0+total; rev++ {
			if seen[rev] != 1 {
				t.Fatalf("the subscriber saw revision %d %d times; want every revision from %d to %d once", rev, seen[rev], r0+1, r0+total)
			}
		}
		if len(seen) != total {
			t.Fatalf("the subscriber saw %d revisions; want %d", len(seen), total)
		}
		var got int
		for after := r0; ; {
			chs, err := fd.Changes(ctx, after, 7)
			if err != nil {
				t.Fatalf("Changes(%d): %v; want success", after, err)
			}
			if len(chs) == 0 {
				break
			}
			got += len(chs)
			after = chs[len(chs)-1].Revision
		}
		if got != total {
			t.Fatalf("the feed holds %d changes after the writes; want %d", got, total)
		}
	})

	run(t, "a snapshot holds the whole state, in order, at the revision it returns", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		fd := e.feed()
		r := mustCreateRole(t, e, "Snapshot role", "PROJECT_READ")
		mustCreate(t, ctx, e, rbac.NewBinding{RoleID: r.ID, UserID: userID(1), ResourceType: rbac.Project, ResourceID: projectID(1)})
		mustCreate(t, ctx, e, nb(2, space(1), 1))
		is.NoErr(e.resources().SetProjectSpace(ctx, projectID(1), spaceID(1)))
		is.NoErr(e.resources().SetProjectSpace(ctx, projectID(2), spaceID(1)))
		is.NoErr(e.resources().RestrictProject(ctx, projectID(2)))
		var got []store.Change
		rev, err := fd.Snapshot(ctx, func(ch store.Change) error {
			got = append(got, ch)
			return nil
		})
		is.NoErr(err)
		is.Equal(rev, e.revision(t)) // the snapshot's revision is the store's
		rank := map[store.ChangeKind]int{store.RoleCreated: 1, store.ProjectSpaceSet: 2, store.ProjectRestricted: 3, store.BindingCreated: 4}
		var roles []rbac.Role
		var links, restricted []string
		var bindings []rbac.Binding
		for i, ch := range got {
			if rank[ch.Kind] == 0 || (i > 0 && rank[ch.Kind] < rank[got[i-1].Kind]) {
				t.Fatalf("snapshot change %d is %s after %s; want roles, then project links, then restrictions, then bindings", i, ch.Kind, got[max(i-1, 0)].Kind)
			}
			switch ch.Kind {
			case store.RoleCreated:
				roles = append(roles, ch.Role)
			case store.ProjectSpaceSet:
				links = append(links, ch.ProjectID+" in "+ch.SpaceID)
			case store.ProjectRestricted:
				restricted = append(restricted, ch.ProjectID)
			case store.BindingCreated:
				bindings = append(bindings, ch.Binding)
			}
		}
		byID := func(a, b rbac.Role) int { return strings.Compare(a.ID, b.ID) }
		want := listAllRoles(t, e, rbac.MaxLimit)
		slices.SortFunc(roles, byID)
		slices.SortFunc(want, byID)
		is.Equal(roles, want) // every role, predefined and custom, as the store returns it
		slices.Sort(links)
		is.Equal(links, []string{projectID(1) + " in " + spaceID(1), projectID(2) + " in " + spaceID(1)}) // every link
		is.Equal(restricted, []string{projectID(2)})                                                      // every restriction
		wantBindings := listAll(t, ctx, e, rbac.ListQuery{})
		byBinding := func(a, b rbac.Binding) int { return strings.Compare(a.ID, b.ID) }
		slices.SortFunc(bindings, byBinding)
		slices.SortFunc(wantBindings, byBinding)
		is.Equal(bindings, wantBindings) // every binding

		stop := errors.New("enough")
		calls := 0
		_, err = fd.Snapshot(ctx, func(store.Change) error {
			calls++
			return stop
		})
		is.True(errors.Is(err, stop)) // the error of fn comes back
		is.Equal(calls, 1)            // and stops the read
	})

	run(t, "a cancelled context fails every role, resource and feed call and writes nothing", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		r := mustCreateRole(t, e, "Live", "PROJECT_READ")
		is.NoErr(e.resources().RestrictProject(ctx, projectID(1)))
		before := e.revision(t)
		dead, cancel := context.WithCancel(ctx)
		cancel()
		name := "Dead"
		calls := []struct {
			what string
			call func() error
		}{
			{"CreateRole", func() error {
				_, err := e.roles().CreateRole(dead, rbac.NewRole{Name: "Dead", Permissions: []string{"PROJECT_READ"}})
				return err
			}},
			{"GetRole", func() error { _, err := e.roles().GetRole(dead, r.ID); return err }},
			{"UpdateRole", func() error { _, err := e.roles().UpdateRole(dead, r.ID, rbac.RoleUpdate{Name: &name}); return err }},
			{"DeleteRole", func() error { return e.roles().DeleteRole(dead, r.ID) }},
			{"ListRoles", func() error { _, err := e.roles().ListRoles(dead, rbac.RoleQuery{}); return err }},
			{"SetProjectSpace", func() error { return e.resources().SetProjectSpace(dead, projectID(1), spaceID(1)) }},
			{"ProjectSpace", func() error { _, err := e.resources().ProjectSpace(dead, projectID(1)); return err }},
			{"RestrictProject", func() error { return e.resources().RestrictProject(dead, projectID(2)) }},
			{"UnrestrictProject", func() error { return e.resources().UnrestrictProject(dead, projectID(1)) }},
			{"ListRestricted", func() error { _, err := e.resources().ListRestricted(dead, rbac.RestrictedQuery{}); return err }},
			{"Revision", func() error { _, err := e.raw.(store.ChangeFeed).Revision(dead); return err }},
			{"Changes", func() error { _, err := e.raw.(store.ChangeFeed).Changes(dead, 0, 10); return err }},
			{"Snapshot", func() error {
				_, err := e.raw.(store.ChangeFeed).Snapshot(dead, func(store.Change) error { return nil })
				return err
			}},
		}
		for _, c := range calls {
			err := c.call()
			if cat, _ := categorize(err); err == nil || cat != catInternal || !errors.Is(err, context.Canceled) {
				t.Fatalf("%s with a cancelled context: %v; want an internal error wrapping context.Canceled", c.what, err)
			}
		}
		unchangedRevision(t, e, before, "calls with a cancelled context")
		got, err := e.roles().GetRole(ctx, r.ID)
		is.NoErr(err)                                                               // the role is still there
		is.Equal(got, r)                                                            // unchanged
		is.Equal(restrictedIDs(listAllRestricted(t, e, 0)), []string{projectID(1)}) // restrictions unchanged
		_, err = e.resources().ProjectSpace(ctx, projectID(1))
		wantCategory(t, err, catNotFound, "ProjectSpace after a link with a cancelled context")
	})
}
