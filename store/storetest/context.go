package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rolebind/rbac"
)

func testCancelledContext(t *testing.T, f Factory) {
	for _, c := range []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want error
	}{
		{"cancelled", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
		{"past its deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	} {
		run(t, "a context "+c.name+" fails every call and writes nothing", f, func(t *testing.T, e *env) {
			live := t.Context()
			dead := c.ctx(t)
			b := mustCreate(t, live, e, nb(1, space(1), 1))
			other := mustCreate(t, live, e, nb(2, project(1), 1))

			// check fails t unless err is an internal error that wraps the
			// context's error: never one of the three categories.
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s with a context %s: success; want the context's error", what, c.name)
				}
				if cat, _ := categorize(err); cat != catInternal {
					t.Fatalf("%s with a context %s: error %v is %s; want an internal error, not one of the three categories", what, c.name, err, cat)
				}
				if !errors.Is(err, c.want) {
					t.Fatalf("%s with a context %s: error %v does not wrap %v; want the context's error passed through", what, c.name, err, c.want)
				}
			}
			_, err := e.s.Create(dead, nb(3, space(1), 1))
			check("Create", err)
			_, err = e.s.Get(dead, b.ID)
			check("Get", err)
			_, err = e.s.ChangeRole(dead, b.ID, rbac.RoleChange{RoleID: roleID(2)})
			check("ChangeRole", err)
			err = e.s.Delete(dead, b.ID)
			check("Delete", err)
			_, err = e.s.List(dead, rbac.ListQuery{})
			check("List", err)
			_, err = e.s.DeleteUserBindings(dead, userID(1))
			check("DeleteUserBindings", err)
			_, err = e.s.DeleteResourceBindings(dead, rbac.Project, projectID(1))
			check("DeleteResourceBindings", err)

			remaining(t, e, []rbac.Binding{b, other}, nil, "after calls with a context "+c.name)
			// The create did not take the slot either.
			mustCreate(t, live, e, nb(3, space(1), 1))
		})
	}
}
