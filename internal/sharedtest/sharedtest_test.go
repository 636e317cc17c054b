package sharedtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/internal/sharedtest"
)

// recorder stands in for a test, to see whether sharedtest skips or
// fails it without skipping or failing the test that asks.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// dirFrom runs sharedtest.DirFrom on its own goroutine, as the testing
// package runs a test, since a skip or a failure ends the goroutine.
func dirFrom(tb testing.TB, wd string, ci bool) (string, *recorder) {
	tb.Helper()
	r := &recorder{TB: tb}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = sharedtest.DirFrom(r, wd, ci)
	}()
	<-done
	return got, r
}

// checkout makes a module at root/repo with a package two levels down,
// and returns root and the package's directory.
func checkout(tb testing.TB) (root, pkg string) {
	tb.Helper()
	is := is.New(tb)
	root = tb.TempDir()
	pkg = filepath.Join(root, "repo", "store", "storetest")
	is.NoErr(os.MkdirAll(pkg, 0o755))
	is.NoErr(os.WriteFile(filepath.Join(root, "repo", "go.mod"), []byte("module example.com/repo\n"), 0o644))
	return root, pkg
}

func TestDirBesideTheModuleRoot(t *testing.T) {
	root, pkg := checkout(t)
	is := is.New(t)
	is.NoErr(os.Mkdir(filepath.Join(root, "shared"), 0o755))
	for _, ci := range []bool{false, true} {
		got, r := dirFrom(t, pkg, ci)
		is.Equal(r.skipped+r.failed, "")             // found, neither skipped nor failed
		is.Equal(got, filepath.Join(root, "shared")) // beside the module root, however deep the package
	}
}

func TestMissingDirSkipsOutsideCI(t *testing.T) {
	_, pkg := checkout(t)
	is := is.New(t)
	_, r := dirFrom(t, pkg, false)
	is.Equal(r.failed, "")                                                    // not a failure
	is.True(strings.Contains(r.skipped, "shared contract files are missing")) // says what is missing
	is.True(strings.Contains(r.skipped, "with CI set, this fails"))           // and when that would fail
}

func TestMissingDirFailsUnderCI(t *testing.T) {
	_, pkg := checkout(t)
	is := is.New(t)
	_, r := dirFrom(t, pkg, true)
	is.Equal(r.skipped, "")                          // never skipped under CI
	is.True(strings.Contains(r.failed, "CI is set")) // failed, saying why
}

func TestSharedFileIsNotADirectory(t *testing.T) {
	root, pkg := checkout(t)
	is := is.New(t)
	is.NoErr(os.WriteFile(filepath.Join(root, "shared"), nil, 0o644))
	_, r := dirFrom(t, pkg, false)
	is.True(strings.Contains(r.failed, "not a directory")) // something is wrong there: not a reason to skip
}

func TestReadFile(t *testing.T) {
	is := is.New(t)
	data := sharedtest.ReadFile(t, "testdata/cases.json")
	is.True(len(data) > 0) // the checkout's shared cases
}
