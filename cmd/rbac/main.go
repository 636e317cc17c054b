// Command rbac is the operators' command line of the rbac library: it
// manages role bindings, roles and the facts about resources in a SQLite
// file or a PostgreSQL database, and answers permission checks.
//
// Every invocation opens the database, does one thing and exits; a check
// loads every binding into memory first, which costs time in proportion
// to the bindings held (see BENCHMARKS.md). A long-running service that
// checks on every request embeds the library instead: it opens the store
// once and keeps a checker current with check.Follow, so that a check is a
// map lookup, not a process start.
//
// Exit status: 0 on success (and an allowed check); 1 when an operation
// was refused or failed (not found, conflict, a denied check, a storage
// failure); 2 for a usage error (an unknown command or flag, a missing
// argument, a flag value the library rejects).
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
