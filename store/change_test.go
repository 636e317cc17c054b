package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
)

func TestChangeKindNamesAreStable(t *testing.T) {
	is := is.New(t)
	want := []string{
		"binding.created", "binding.role_changed", "binding.deleted",
		"user.bindings_deleted", "resource.bindings_deleted",
		"role.created", "role.updated", "role.deleted",
		"project.space_set", "project.restricted", "project.unrestricted",
	}
	for i, name := range want {
		k := store.ChangeKind(i + 1)
		is.True(k.Valid())
		is.Equal(k.String(), name) // persisted names never change
		back, err := store.ParseChangeKind(name)
		is.NoErr(err)
		is.Equal(back, k)
	}
	is.True(!store.ChangeKind(0).Valid())
	is.True(!store.ChangeKind(len(want) + 1).Valid())
	_, err := store.ParseChangeKind("binding.exploded")
	is.True(err != nil)
}

func TestChangeJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 7, 0, 0, 123456000, time.UTC)
	b := rbac.Binding{ID: "Um9sZUJpbmRpbmc6MTphQmNE", RoleID: "Um9sZToxOlY0S2E=", UserID: "VXNlcjoxOmxQZzI=", ResourceType: rbac.Space, ResourceID: "U3BhY2U6MTp1Rk4x", CreatedAt: at, UpdatedAt: at}
	r := rbac.Role{ID: "Um9sZToxOlY0S2E=", Name: "Reviewer", Permissions: []string{"PROJECT_READ"}, CreatedAt: at, UpdatedAt: at}
	for _, ch := range []store.Change{
		{Revision: 1, Kind: store.BindingCreated, At: at, Binding: b},
		{Revision: 2, Kind: store.UserBindingsDeleted, At: at, Binding: rbac.Binding{UserID: b.UserID}},
		{Revision: 3, Kind: store.RoleUpdated, At: at, Role: r},
		{Revision: 4, Kind: store.ProjectSpaceSet, At: at, ProjectID: "TW9kZWw6MTpGdmxM", SpaceID: b.ResourceID},
		{Revision: 5, Kind: store.ProjectUnrestricted, At: at, ProjectID: "TW9kZWw6MTpGdmxM"},
	} {
		t.Run(ch.Kind.String(), func(t *testing.T) {
			is := is.New(t)
			data, err := json.Marshal(ch)
			is.NoErr(err)
			var back store.Change
			is.NoErr(json.Unmarshal(data, &back))
			is.Equal(back.Revision, ch.Revision)
			is.Equal(back.Kind, ch.Kind)
			is.True(back.At.Equal(ch.At))
			is.Equal(back.Binding.ID, ch.Binding.ID)
			is.Equal(back.Binding.UserID, ch.Binding.UserID)
			is.True(back.Binding.CreatedAt.Equal(ch.Binding.CreatedAt))
			is.Equal(back.Role.ID, ch.Role.ID)
			is.Equal(back.Role.Permissions, ch.Role.Permissions)
			is.Equal(back.ProjectID, ch.ProjectID)
			is.Equal(back.SpaceID, ch.SpaceID)
		})
	}
	_, err := json.Marshal(store.Change{Kind: 0})
	if err == nil {
		t.Fatal("a change without a kind must not marshal")
	}
}

func TestCompactedErrorIsNotFound(t *testing.T) {
	is := is.New(t)
	var err error = &store.CompactedError{After: 3, Oldest: 10}
	is.True(errors.Is(err, rbac.ErrNotFound)) // a revision that names changes no longer kept
	is.True(!errors.Is(err, rbac.ErrInvalid))
	var ce *store.CompactedError
	is.True(errors.As(err, &ce))
	is.Equal(ce.Oldest, uint64(10))
}
