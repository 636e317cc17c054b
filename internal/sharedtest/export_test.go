package sharedtest

import "testing"

// DirFrom is Dir from the working directory wd, with ci standing for the
// CI environment variable, so that tests can try each case on a tree of
// their own.
func DirFrom(tb testing.TB, wd string, ci bool) string { return dir(tb, wd, ci) }
