package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rolebind/rbac"
)

// The not-found and conflict messages of the contract (package store,
// "Errors a client may see"), written out again from the documentation.
// The suite checks a store against the contract, not against this
// module's stores: a third party's store must say the same words, and a
// change of wording in this module's stores that the contract does not
// make fails here.

func msgBindingNotFound(id string) string { return "role binding " + id + " not found" }

func msgRoleNotFound(id string) string { return "role " + id + " not found" }

func msgNoProjectSpace(project string) string { return "no space is set for project " + project }

func msgNotRestricted(project string) string { return "project " + project + " is not restricted" }

func msgSlotTaken(user string, rt rbac.ResourceType, resourceID string) string {
	return fmt.Sprintf("user %s already has a role binding on %s %s", user, rt, resourceID)
}

func msgBindingChanged(id string, updatedAt, ifUpdatedAt time.Time) string {
	return fmt.Sprintf("role binding %s changed at %s, after the %s the caller saw", id, rbac.FormatTime(updatedAt), rbac.FormatTime(ifUpdatedAt))
}

func msgRoleChanged(id string, updatedAt, ifUpdatedAt time.Time) string {
	return fmt.Sprintf("role %s changed at %s, after the %s the caller saw", id, rbac.FormatTime(updatedAt), rbac.FormatTime(ifUpdatedAt))
}

func msgNameTaken(name string) string { return fmt.Sprintf("a role named %q already exists", name) }

func msgRoleBound(id string) string { return "role " + id + " still has role bindings" }

// predefinedRole is the error of UpdateRole and DeleteRole on a
// predefined role.
var predefinedRole = rbac.Invalid("id", rbac.ReasonForbidden, "is a predefined role, which cannot be changed or deleted")

// notFound and conflict are the errors the contract asks for, for
// comparing with what a store returned (see [sameError]).
func notFound(msg string) error { return rbac.NotFound("%s", msg) }
func conflict(msg string) error { return rbac.Conflict("%s", msg) }

// wantError fails t, and goes on, unless err is want by [sameError].
func wantError(t testing.TB, err, want error, what string) {
	t.Helper()
	if problem := sameError(err, want); problem != "" {
		t.Errorf("%s: %s", what, problem)
	}
}

// sameError reports how got differs from want, the error the contract
// asks for, or "" when it does not: the same category, the same message
// (Error()), and for invalid input the same field errors (field, reason
// and message) in the same order. An error of neither category must be
// nil in want and in got.
func sameError(got, want error) string {
	gc, problem := categorize(got)
	if problem != "" {
		return problem
	}
	wc, _ := categorize(want)
	switch {
	case gc != wc:
		return fmt.Sprintf("got %s (error %v); want %s (error %v)", gc, got, wc, want)
	case got == nil || gc == catInternal:
		return ""
	case got.Error() != want.Error():
		return fmt.Sprintf("got message %q; want %q", got.Error(), want.Error())
	}
	var gv, wv *rbac.ValidationError
	if errors.As(want, &wv) {
		errors.As(got, &gv)
		if !slices.Equal(gv.Fields, wv.Fields) {
			return fmt.Sprintf("got field errors %+v; want %+v", gv.Fields, wv.Fields)
		}
	}
	return ""
}
