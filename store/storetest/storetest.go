// Package storetest is the conformance suite for [store.Store]. Any store,
// ours or a third party's, proves it keeps the contract by wiring a factory
// into [Run] in a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB, opts storetest.Options) store.Store {
//			return mystore.New(mystore.Options{Now: opts.Now})
//		})
//	}
//
// It also exports the benchmark suite, [Bench], so that every store is
// measured the same way.
package storetest

import (
	"testing"
	"time"

	"github.com/rolebind/rbac/store"
)

// Options is what the suite asks of a new store.
type Options struct {
	// Now, when not nil, is the clock the store must use for CreatedAt and
	// UpdatedAt. The suite uses it to step the clock backward.
	Now func() time.Time
}

// Factory returns a new, empty store for one subtest. It registers any
// cleanup with tb.Cleanup and fails tb if the store cannot be made.
type Factory func(tb testing.TB, opts Options) store.Store
