package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestRunTwice runs the quickstart twice on one file: the first run
// creates, the second finds the data persisted and conflicts.
func TestRunTwice(t *testing.T) {
	is := is.New(t)
	db := filepath.Join(t.TempDir(), "quickstart.db")

	var first bytes.Buffer
	is.NoErr(run(t.Context(), &first, db, false))
	out := first.String()
	is.True(strings.Contains(out, "created:"))                                                               // the valid example is created
	is.True(strings.Contains(out, "field resource_id (invalid): is a Space ID; want a Model or Project ID")) // the invalid example names its field
	is.Equal(strings.Count(out, "HTTP 409"), 2)                                                              // the duplicate and the stale precondition
	is.Equal(strings.Count(out, "\npage "), 3)                                                               // three bindings listed
	is.True(strings.Contains(out, "page 2:"))                                                                // over two pages
	is.True(strings.Contains(out, "do DATASET_READ on PROJECT Model:1:FvlL? ALLOWED"))                       // through the space binding
	is.True(strings.Contains(out, `gives role "Read-only", which holds DATASET_READ (inherited)`))           // and says so
	is.True(strings.Contains(out, "do PROJECT_DELETE on PROJECT Model:1:FvlL? DENIED"))                      // no role holds it
	is.True(strings.Contains(out, "role_lacks_permission"))                                                  // and the explanation says why
	is.True(strings.Contains(out, "HTTP 400"))                                                               // an unknown permission is invalid

	var second bytes.Buffer
	is.NoErr(run(t.Context(), &second, db, false))
	out = second.String()
	is.True(strings.Contains(out, "the data persisted"))                            // the first create conflicts
	is.True(strings.Contains(out, "role is now Um9sZToxOlY0S2E="))                  // the role toggles back
	is.Equal(strings.Count(out, "\npage "), 3)                                      // nothing duplicated
	is.True(strings.Contains(out, "DATASET_READ on PROJECT Model:1:FvlL? ALLOWED")) // the same answers from the reopened file
	is.True(strings.Contains(out, "PROJECT_DELETE on PROJECT Model:1:FvlL? DENIED"))

	var third bytes.Buffer
	is.NoErr(run(t.Context(), &third, db, true))
	is.True(strings.Contains(third.String(), "created:")) // -reset starts over
}
