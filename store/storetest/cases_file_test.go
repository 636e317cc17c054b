package storetest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac/store/storetest"
)

// TestCasesMatchSharedFile checks that the cases the suite embeds are a
// byte-identical copy of the project's public cases, so that the two can
// never drift apart. The shared file sits beside the repository
// (../shared/testdata/cases.json from its root); tests run in the package
// directory, three levels below.
func TestCasesMatchSharedFile(t *testing.T) {
	is := is.New(t)
	path := filepath.Join("..", "..", "..", "shared", "testdata", "cases.json")
	shared, err := os.ReadFile(path)
	is.NoErr(err)                                         // read the shared cases (../shared beside the checkout, as in CI)
	is.True(bytes.Equal(storetest.PublicCases(), shared)) // the embedded cases are a byte-identical copy of shared/testdata/cases.json
}
