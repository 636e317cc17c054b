package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// run runs the command line args with the given streams and environment
// and returns the exit status. It builds a new command tree each call, so
// tests call it in process. SIGINT and SIGTERM cancel ctx, so a command
// waiting on the database or following the change feed stops cleanly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	code := a.execute(ctx, args)
	// Close in reverse order of opening: the store before its database.
	for i := len(a.cleanup) - 1; i >= 0; i-- {
		a.cleanup[i]()
	}
	return code
}

func (a *app) execute(ctx context.Context, args []string) int {
	root := newRootCmd(a)
	markRunErrors(root)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return report(a.stderr, cmd, err)
}

// newRootCmd returns the command tree. Each group of commands lives in a
// file of its own and is added here.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "rbac",
		Short: "Manage role bindings and roles, and check permissions",
		Long: `rbac manages the role bindings, roles and resource facts of the rbac
library, with the rules of the Arize AX REST API v2, in a SQLite file or a
PostgreSQL database, and answers permission checks.

The database is --db: a SQLite file path (default rbac.db, or $RBAC_DB), or
a postgres:// or postgresql:// URL. Opening it brings its schema up to date.

Each invocation reads the database afresh, so a check costs a process start
and a load of every binding. A long-running service embeds the library
instead and keeps a checker current with check.Follow.

Exit status: 0 success or allowed; 1 refused or failed (not found, conflict,
denied, internal); 2 usage error.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// A bare "rbac" prints help and succeeds, as gh and kubectl do.
	}
	db := a.getenv("RBAC_DB")
	if db == "" {
		db = "rbac.db"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", db, "database: a SQLite file path or a postgres:// URL ($RBAC_DB)")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json (json is the wire body of the REST API)")
	root.SetFlagErrorFunc(flagError)
	// The output format is checked before any command runs, whichever
	// file the command lives in.
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if a.output != outputTable && a.output != outputJSON {
			return usagef("--output: %q is not a format; use table or json", a.output)
		}
		return nil
	}
	for _, mk := range []func(*app) *cobra.Command{
		newRoleBindingsCmd,
		newRolesCmd,
		newPermissionsCmd,
		newProjectsCmd,
		newRestrictionsCmd,
		newCheckCmd,
		newExplainCmd,
		newWhoCanCmd,
		newResourcesForCmd,
		newBootstrapCmd,
		newMigrateCmd,
		newChangesCmd,
		newExportCmd, newImportCmd, newServeCmd, newKeysCmd,
	} {
		root.AddCommand(mk(a))
	}
	return root
}

// version is the module version the binary was built from: set by go
// install pkg@version, "(devel)" for a build from a work tree.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// newGroup returns a command that only holds subcommands: run bare it
// prints its help; with an unknown subcommand it is a usage error (cobra
// checks that for the root only, unless told through Args).
func newGroup(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
}
