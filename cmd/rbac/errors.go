package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // refused or failed: not found, conflict, denied, internal
	exitUsage  = 2 // the command was called wrongly
)

// usageError is a mistake in how a command was called that the command
// found itself (a flag value it parses, a missing flag): exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error; name the flag first ("--if-updated-at:
// ..."), as the library's field errors are named.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errDenied is a check that said no: exit status 1 with nothing on
// stderr, since stdout already says "denied".
var errDenied = errors.New("denied")

// opError marks an error returned by a command's RunE, as against one of
// cobra's own parsing errors, which are all usage errors.
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// openProblem is a database that could not be opened.
type openProblem struct {
	db  string
	err error
}

func (e *openProblem) Error() string { return "cannot open database " + e.db + ": " + e.err.Error() }
func (e *openProblem) Unwrap() error { return e.err }

func openError(db string, err error) error { return &openProblem{db: db, err: err} }

// markRunErrors wraps the RunE of c and of every command under it, so
// that run can tell the errors of an operation from cobra's usage errors
// whatever file the command lives in.
func markRunErrors(c *cobra.Command) {
	if f := c.RunE; f != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := f(cmd, args); err != nil {
				return &opError{err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markRunErrors(sub)
	}
}

// flagError turns pflag's errors into usage errors in the words of this
// command line: its message for a bad value quotes strconv, which names
// Go functions.
func flagError(_ *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		f := iv.GetFlag()
		return usagef("--%s: %q is not a valid %s", f.Name, iv.GetValue(), typeName(f.Value.Type()))
	}
	return &usageError{msg: err.Error()}
}

func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "whole number"
	case t == "bool":
		return "boolean (true or false)"
	case t == "duration":
		return "duration (such as 1s or 500ms)"
	}
	return t
}

// report writes the one line that says what went wrong, and returns the
// exit status. cmd is the command that ran (for the names of its flags);
// it may be nil.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errDenied) {
		return exitFailed
	}
	var op *opError
	if !errors.As(err, &op) {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(w, "rbac: %s\n", ue.msg)
		} else {
			// cobra's own errors: an unknown command, a wrong number of
			// arguments. Its messages are plain and name no Go function.
			fmt.Fprintf(w, "rbac: %s; see 'rbac --help'\n", err)
		}
		return exitUsage
	}
	msg, code := describe(cmd, op.err)
	fmt.Fprintf(w, "rbac: %s\n", msg)
	return code
}

// describe says what an operation's error means, in one line, and gives
// its exit status.
func describe(cmd *cobra.Command, err error) (string, int) {
	var (
		ue  *usageError
		ve  *rbac.ValidationError
		ce  *rbac.Error
		cpe *store.CompactedError
		ope *openProblem
	)
	switch {
	case errors.As(err, &ue):
		return ue.msg, exitUsage
	case errors.As(err, &ve):
		parts := make([]string, len(ve.Fields))
		for i, fe := range ve.Fields {
			if fe.Field == "" {
				parts[i] = fe.Message
			} else {
				parts[i] = fieldName(cmd, fe.Field) + ": " + fe.Message
			}
		}
		return strings.Join(parts, "; "), exitUsage
	case errors.As(err, &ce):
		// The library's not-found and conflict messages are written for
		// clients: they name only what the caller named.
		return ce.Message, exitFailed
	case errors.As(err, &cpe):
		return fmt.Sprintf("--after: changes after revision %d are no longer kept; the oldest kept is %d", cpe.After, cpe.Oldest), exitFailed
	case errors.Is(err, context.Canceled):
		return "interrupted", exitFailed
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out", exitFailed
	case errors.As(err, &ope):
		return "cannot open database " + ope.db + ": " + openCause(ope.err), exitFailed
	case errors.Is(err, rbac.ErrNotFound):
		return "not found", exitFailed
	case errors.Is(err, rbac.ErrConflict):
		return "conflict", exitFailed
	case errors.Is(err, rbac.ErrForbidden):
		return "forbidden", exitFailed
	}
	// An internal error's text is a chain of package prefixes and driver
	// words, for a developer; an operator gets its last link, which says
	// what actually failed.
	return "internal error: " + innermost(err), exitFailed
}

// openCause says why a database could not be opened.
func openCause(err error) string {
	if errors.Is(err, sqlstore.ErrSchemaTooNew) {
		return "its schema is newer than this rbac; upgrade rbac"
	}
	return innermost(err)
}

// innermost returns the message of the last error in err's chain.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// fieldName names a field of the library's input the way the command
// line spells it: a flag ("--user-id") when the command has one of that
// name, the argument named by the command's annotation "field:<name>"
// (such as BINDING_ID), or the field itself.
func fieldName(cmd *cobra.Command, field string) string {
	if cmd == nil {
		return field
	}
	if name, ok := cmd.Annotations["field:"+field]; ok {
		return name
	}
	flag := strings.ReplaceAll(field, "_", "-")
	if cmd.Flags().Lookup(flag) != nil {
		return "--" + flag
	}
	return field
}
