// Package sharedtest finds the project's shared contract files for the
// tests that read them, and decides once, for every package, what a test
// does when they are not there.
//
// The files (the public cases, the permission vocabulary) live in a
// directory named shared beside the repository's root, not inside the
// module, so that every implementation of the contract reads the same
// copy. A checkout in CI has it; a copy of the module from the module
// cache, or an archive of the repository, does not. Outside CI a test
// that needs the files then skips, saying why, so that `go test ./...`
// on such a copy passes on everything it can check. Under CI (the CI
// environment variable set, as CI services do) the same test fails
// instead: there a missing directory means the contract was not checked,
// and that must not pass quietly.
package sharedtest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of the shared directory: shared, beside
// the root of the module whose test is running (the nearest directory
// holding go.mod, from the test's working directory up). When the
// directory is missing, Dir skips tb, or fails it when CI is set.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("sharedtest: working directory: %v", err)
	}
	return dir(tb, wd, os.Getenv("CI") != "")
}

// ReadFile returns the contents of the file at rel, a slash-separated
// path inside the shared directory (such as "testdata/cases.json"). A
// missing directory skips or fails tb as [Dir] does; a missing file in a
// directory that is there always fails tb, since the directory is then
// incomplete, not absent.
func ReadFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(tb), filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatalf("sharedtest: read the shared file: %v", err)
	}
	return data
}

// dir is Dir from the working directory wd, with ci saying whether CI is
// set; tests call it with a directory tree of their own.
func dir(tb testing.TB, wd string, ci bool) string {
	tb.Helper()
	root, err := moduleRoot(wd)
	if err != nil {
		tb.Fatalf("sharedtest: %v", err)
	}
	shared := filepath.Join(filepath.Dir(root), "shared")
	info, err := os.Stat(shared)
	switch {
	case err == nil && info.IsDir():
		return shared
	case err == nil:
		tb.Fatalf("sharedtest: %s is not a directory", shared)
	case !errors.Is(err, fs.ErrNotExist):
		tb.Fatalf("sharedtest: %v", err)
	case ci:
		tb.Fatalf("sharedtest: the shared contract files are missing: %s does not exist "+
			"(CI is set, so this fails instead of skipping: CI must check the contract)", shared)
	default:
		tb.Skipf("sharedtest: skipped: the shared contract files are missing: %s does not exist; "+
			"they sit beside a checkout of the repository, not beside a copy of the module "+
			"(with CI set, this fails instead)", shared)
	}
	return ""
}

// moduleRoot returns the nearest directory from wd up that holds go.mod.
func moduleRoot(wd string) (string, error) {
	d, err := filepath.Abs(wd)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("no go.mod in " + wd + " or any directory above it")
		}
		d = up
	}
}
