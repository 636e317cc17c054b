package storetest_test

import (
	"bytes"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/internal/sharedtest"
	"github.com/rolebind/rbac/store/storetest"
)

// TestCasesMatchSharedFile checks that the cases the suite embeds are a
// byte-identical copy of the project's public cases, so that the two can
// never drift apart. The shared file sits beside the repository
// (../shared/testdata/cases.json from its root).
func TestCasesMatchSharedFile(t *testing.T) {
	is := is.New(t)
	shared := sharedtest.ReadFile(t, "testdata/cases.json")
	is.True(bytes.Equal(storetest.PublicCases(), shared)) // the embedded cases are a byte-identical copy of shared/testdata/cases.json
}
