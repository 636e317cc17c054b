// Package rbactest sets up the library for a host service's own tests: an
// in-memory store and a checker that follows it, in one call, and short
// builders for well-formed IDs.
//
// A handler test then reads
//
//	s, c := rbactest.New(t)
//	_, err := s.Create(t.Context(), rbac.NewBinding{RoleID: perm.ReadOnlyRoleID,
//		UserID: rbactest.User(1), ResourceType: rbac.Space, ResourceID: rbactest.Space(1)})
//	// ... serve the request with c, and look at the answer
//
// The store is a [memstore.Store], which keeps every rule of the contract
// as the SQL store does, so what a test learns from it holds in
// production. The checker sees each write through the store before the
// write returns, so a test needs no waiting between a write and a check.
package rbactest

import (
	"strconv"
	"sync"
	"testing"

	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/memstore"
)

// New returns a fresh in-memory store with the default vocabulary and
// catalogue, and a checker following it. Both are released when the test
// ends; an error the follower met in the background (a change the checker
// could not apply) fails the test then, since checks answered after it
// may have been stale.
func New(tb testing.TB) (*memstore.Store, *check.Checker) {
	tb.Helper()
	return NewWith(tb, memstore.Options{})
}

// NewWith is [New] with the store's options: a fixed clock (Now) for
// stable timestamps, the host's own catalogue or vocabulary. The checker
// is given the same vocabulary and ID type names as the store, so that the
// two judge every permission and ID alike.
func NewWith(tb testing.TB, opts memstore.Options) (*memstore.Store, *check.Checker) {
	tb.Helper()
	s := memstore.New(opts)
	copts := check.Options{Vocabulary: opts.Vocabulary}
	if opts.Validator != nil {
		copts.Types = opts.Validator.Types()
	}
	c, err := check.New(copts)
	if err != nil {
		tb.Fatalf("rbactest: new checker: %v", err)
	}
	// The follower's errors arrive on the write path or its polling
	// goroutine, and a later success clears Follower.Err: keep the first
	// one, and report it when the test ends.
	var (
		mu    sync.Mutex
		first error
	)
	onError := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	f, err := check.Follow(tb.Context(), c, s, check.FollowOptions{OnError: onError})
	if err != nil {
		tb.Fatalf("rbactest: follow the store: %v", err)
	}
	tb.Cleanup(func() {
		f.Close()
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			tb.Errorf("rbactest: the checker's follower failed, so checks may have been stale: %v", first)
		}
	})
	return s, c
}

// User returns the well-formed ID of user n, such as User(1) for the
// encoding of "User:1". Each builder spells its kind with the canonical
// type name of [ids.DefaultTable], the form a store returns, so an ID
// built here compares equal to the one in a stored binding. n must not be
// negative.
func User(n int) string { return build(ids.User, n) }

// Space returns the well-formed ID of space n (the encoding of "Space:n").
func Space(n int) string { return build(ids.Space, n) }

// Project returns the well-formed ID of project n, in the canonical Model
// spelling (the encoding of "Model:n").
func Project(n int) string { return build(ids.Project, n) }

// Role returns the well-formed ID of role n (the encoding of "Role:n"). It
// names no role of the default catalogue (those are perm.AdminRoleID and
// its siblings), so it serves for a host catalogue's own roles, or as a
// role that does not exist.
func Role(n int) string { return build(ids.Role, n) }

// Binding returns the well-formed ID of role binding n (the encoding of
// "RoleBinding:n"). A store makes up its own binding IDs, so this one
// names no binding: a test uses it to ask for one that does not exist.
func Binding(n int) string { return build(ids.RoleBinding, n) }

// defaultTable is read-only after init.
var defaultTable = ids.DefaultTable()

func build(k ids.Kind, n int) string {
	if n < 0 {
		panic("rbactest: negative " + k.String() + " number " + strconv.Itoa(n))
	}
	return ids.Encode(defaultTable.Names(k)[0], strconv.Itoa(n), "")
}
