package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// The IDs of the examples. Binding IDs are the store's to make (and
// random), so the examples never print one.
var (
	ada     = ids.Encode("User", "1", "lPg2")
	bob     = ids.Encode("User", "2", "Qx7w")
	space   = ids.Encode("Space", "1", "uFN1")
	project = ids.Encode("Model", "1", "FvlL")
)

// clock returns a fixed clock, for timestamps that are the same on every
// run.
func clock() func() time.Time {
	return func() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC) }
}

// A store made with a fixed clock, and the rules it keeps: a binding to a
// predefined role of the default catalogue is created; a second one for
// the same user and resource is a conflict, whatever its role.
func Example() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{Now: clock()})

	b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: ada, ResourceType: rbac.Space, ResourceID: space})
	fmt.Println(err)
	fmt.Println(b.ResourceType, rbac.FormatTime(b.CreatedAt), b.CreatedAt.Equal(b.UpdatedAt))

	_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: ada, ResourceType: rbac.Space, ResourceID: space})
	fmt.Println(errors.Is(err, rbac.ErrConflict))

	got, err := s.Get(ctx, b.ID)
	fmt.Println(got.RoleID == perm.MemberRoleID, err)
	// Output:
	// <nil>
	// SPACE 2026-03-01T09:30:00.000000Z true
	// true
	// true <nil>
}

// Two administrators edit one binding. Each passes the UpdatedAt it last
// saw; the second, now stale, gets a conflict and changes nothing.
func ExampleStore_ChangeRole() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{Now: clock()})
	b, _ := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: ada, ResourceType: rbac.Project, ResourceID: project})

	first, err := s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: perm.MemberRoleID, IfUpdatedAt: b.UpdatedAt})
	fmt.Println(first.RoleID == perm.MemberRoleID, err)
	_, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: perm.AdminRoleID, IfUpdatedAt: b.UpdatedAt})
	fmt.Println(errors.Is(err, rbac.ErrConflict))

	// UpdatedAt moves forward on every change, even with a clock that
	// stands still, so a precondition always sees the change.
	fmt.Println(first.UpdatedAt.After(b.UpdatedAt))
	// Output:
	// true <nil>
	// true
	// true
}

// Lists come in creation order, a page at a time; NextCursor fetches the
// next page and is empty on the last.
func ExampleStore_List() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	for n := range 3 {
		p := ids.Encode("Model", fmt.Sprint(n+1), "")
		if _, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: ada, ResourceType: rbac.Project, ResourceID: p}); err != nil {
			fmt.Println(err)
			return
		}
	}
	q := rbac.ListQuery{ResourceType: rbac.Project, UserID: ada, Limit: 2}
	for page := 1; ; page++ {
		p, err := s.List(ctx, q)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, b := range p.Bindings {
			d, _ := ids.Decode(b.ResourceID)
			fmt.Println("page", page, d.Text())
		}
		if !p.HasMore {
			break
		}
		q.Cursor = p.NextCursor
	}
	// Output:
	// page 1 Model:1
	// page 1 Model:2
	// page 2 Model:3
}

// Custom roles live beside the predefined ones. A name is unique among
// all roles, and a role that still has bindings cannot be deleted, so no
// binding ever points at nothing. Managing roles is an account
// administrator's act: the store does not ask who calls, the host guards
// it.
func ExampleStore_CreateRole() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	r, err := s.CreateRole(ctx, rbac.NewRole{Name: "Labeler", Permissions: []string{"QUEUE_RECORD_ANNOTATE", "QUEUE_READ"}})
	fmt.Println(r.Name, r.Permissions, r.Predefined, err)

	_, err = s.CreateRole(ctx, rbac.NewRole{Name: "Admin", Permissions: []string{"QUEUE_READ"}})
	fmt.Println(errors.Is(err, rbac.ErrConflict)) // the name of a predefined role

	_, err = s.CreateRole(ctx, rbac.NewRole{Name: "Typo", Permissions: []string{"QUEUE_REED"}})
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Fields[0].Field, ve.Fields[0].Reason) // outside the vocabulary
	}

	b, _ := s.Create(ctx, rbac.NewBinding{RoleID: r.ID, UserID: bob, ResourceType: rbac.Project, ResourceID: project})
	fmt.Println(errors.Is(s.DeleteRole(ctx, r.ID), rbac.ErrConflict)) // still bound
	_ = s.Delete(ctx, b.ID)
	fmt.Println(s.DeleteRole(ctx, r.ID))
	// Output:
	// Labeler [QUEUE_READ QUEUE_RECORD_ANNOTATE] false <nil>
	// true
	// permissions not_supported
	// true
	// <nil>
}

// A host replaces the default catalogue with its own predefined roles.
// They cannot be changed or deleted through the store: that is refused as
// invalid input, field "id", since no state of the store would make it
// right.
func ExampleNew_catalogue() {
	ctx := context.Background()
	viewer := rbac.Role{ID: ids.Encode("Role", "10", "View"), Name: "Viewer", Permissions: []string{"PROJECT_READ"}, Predefined: true}
	s := memstore.New(memstore.Options{Catalogue: []rbac.Role{viewer}})

	_, err := s.Create(ctx, rbac.NewBinding{RoleID: viewer.ID, UserID: ada, ResourceType: rbac.Project, ResourceID: project})
	fmt.Println(err)
	_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: bob, ResourceType: rbac.Project, ResourceID: project})
	fmt.Println(errors.Is(err, rbac.ErrNotFound)) // not in this catalogue
	err = s.DeleteRole(ctx, viewer.ID)
	var ve *rbac.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(errors.Is(err, rbac.ErrInvalid), ve.Fields[0].Field, ve.Fields[0].Reason)
	}
	// Output:
	// <nil>
	// true
	// true id forbidden
}

// Every write that changes something gets the next revision, and
// subscribers hear of it before the write returns; this is how a
// check.Checker follows the store.
func ExampleStore_Subscribe() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	cancel := s.Subscribe(func(ch store.Change) { fmt.Println(ch.Revision, ch.Kind) })
	defer cancel()

	_ = s.SetProjectSpace(ctx, project, space)
	b, _ := s.Create(ctx, rbac.NewBinding{RoleID: perm.MemberRoleID, UserID: ada, ResourceType: rbac.Space, ResourceID: space})
	_ = s.RestrictProject(ctx, project)
	_ = s.Delete(ctx, b.ID)
	// Output:
	// 1 project.space_set
	// 2 binding.created
	// 3 project.restricted
	// 4 binding.deleted
}
