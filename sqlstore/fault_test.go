package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fault tests (damage_test.go, readonly_test.go) damage a store's
// file, or take its permissions away, under a store that is open. Each
// runs the store in a child process (this test binary again, running
// TestFaultChild), started by runFaultChild: a regression of the
// truncation test is a SIGBUS, which would kill the whole test binary
// rather than fail one test, and the permission test needs a user that
// is not root, since root ignores permissions.

// faultEnv names the child's part in the environment, and faultDBEnv the
// database file.
const (
	faultEnv   = "RBAC_SQLSTORE_FAULT"
	faultDBEnv = "RBAC_SQLSTORE_FAULT_DB"
)

// TestFaultChild is the child side of the tests of this file; run on its
// own it has nothing to do. It prints one line per step: the step's name,
// then "ok", "internal", "category" or "panic", then what happened.
func TestFaultChild(t *testing.T) {
	part := os.Getenv(faultEnv)
	if part == "" {
		t.Skip("the child process of the fault tests")
	}
	path := os.Getenv(faultDBEnv)
	var err error
	switch part {
	case "truncate":
		err = truncateUnderStore(path)
	case "readonly", "readonly-host":
		err = readOnlyForAWhile(path, part == "readonly-host")
	default:
		err = fmt.Errorf("unknown part %q", part)
	}
	if err != nil {
		fmt.Println("setup failed", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// report runs a step of the child and prints how it went. A panic is
// caught and reported, so that the parent can tell it from a signal.
func report(step string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Printf("%s panic %v\n", step, p)
			err = fmt.Errorf("%s: panic: %v", step, p)
		}
	}()
	err = f()
	switch {
	case err == nil:
		fmt.Printf("%s ok\n", step)
	case isCategory(err):
		fmt.Printf("%s category %v\n", step, err)
	default:
		fmt.Printf("%s internal %v\n", step, err)
	}
	return err
}

// runFaultChild runs TestFaultChild as part, on the database at path,
// with cmd's credentials, and returns its outcome per step. It fails t
// if the child was killed by a signal or did not exit cleanly.
func runFaultChild(t *testing.T, cmd *exec.Cmd, part, path string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, "-test.run=^TestFaultChild$", "-test.v=false")
	c.SysProcAttr = cmd.SysProcAttr
	c.Env = append(os.Environ(), faultEnv+"="+part, faultDBEnv+"="+path)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	t.Logf("child (%s):\n%s", part, stdout.String())
	if err != nil {
		// A fault the Go runtime catches (SIGBUS, SIGSEGV) ends the
		// child with "fatal error: fault" and exit status 2; one it
		// does not, with the signal. Either way, the head of its
		// stderr says where.
		head := stderr.String()
		if len(head) > 3000 {
			head = head[:3000]
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("the child was killed by %v instead of reporting errors:\n%s", ws.Signal(), head)
			}
		}
		t.Fatalf("the child crashed or failed instead of reporting errors (%v):\n%s", err, head)
	}
	out := map[string]string{}
	for line := range strings.Lines(stdout.String()) {
		step, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		out[step] = rest
	}
	return out
}
