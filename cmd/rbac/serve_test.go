package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// axClientDir is where httpapi's tests install @arizeai/ax-client (npm ci,
// from the committed lockfile); the serve test uses the same install.
const axClientDir = "../../httpapi/testdata/axclient"

// needNode returns the path of node, or skips the test when node or the
// client is missing; under CI it fails instead, so that a skip never
// hides that the server was not driven.
func needNode(t *testing.T) string {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		msg += " (.ci/run installs it: npm ci in httpapi/testdata/axclient)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(axClientDir, "node_modules", "@arizeai", "ax-client", "package.json")); err != nil {
		missing("@arizeai/ax-client is not installed")
	}
	return node
}

// serveLine is one line of testdata/serve.mjs.
type serveLine struct {
	Phase   string `json:"phase"`
	Name    string `json:"name"`
	I       int    `json:"i"`
	UserID  string `json:"userId"`
	OK      bool   `json:"ok"`
	ID      string `json:"id"`
	Error   string `json:"error"`
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// TestServe builds the binary, starts `rbac serve` as a real process on a
// free loopback port, drives it with @arizeai/ax-client, and stops it with
// SIGTERM while many creates are in flight: it must exit 0, and every
// create that got an answer must be in the database, whole, and no other.
func TestServe(t *testing.T) {
	node := needNode(t)
	is := is.New(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "rbac.db")
	keys := filepath.Join(dir, "keys")
	res := rbacPipe(t, nil, "keys", "add", "--keys", keys, "--user-id", testUser(1), "--admin")
	is.Equal(res.code, 0) // keys add
	adminKey := strings.TrimSpace(res.stdout)

	srv := startServe(t, "--db", db, "serve", "--addr", "127.0.0.1:0", "--keys", keys, "--grace", "20s")
	base, exited, logs := srv.base, srv.exited, srv.logs
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		is.NoErr(err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		is.Equal(resp.StatusCode, 200) // probe
		is.Equal(string(body), "ok\n")
	}

	const creates = 400
	users := make([]string, creates+1)
	for i := range users {
		users[i] = testUser(1000 + i)
	}
	fx, err := json.Marshal(map[string]any{"baseUrl": base, "adminKey": adminKey, "clientDir": axClientDir,
		"users": users, "roleId": perm.ReadOnlyRoleID, "spaceId": testSpace(1)})
	is.NoErr(err)
	script := exec.Command(node, "testdata/serve.mjs")
	script.Env = append(os.Environ(), "SERVE_FIXTURE="+string(fx), "DISABLE_PRERELEASE_WARNING=true")
	script.Stderr = os.Stderr
	out, err := script.StdoutPipe()
	is.NoErr(err)
	is.NoErr(script.Start()) // start node
	var lines []serveLine
	sc := bufio.NewScanner(out)
	signalled := false
	for sc.Scan() {
		var l serveLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("script wrote %q: %v", sc.Text(), err)
		}
		if l.Phase == "midway" {
			is.NoErr(srv.cmd.Process.Signal(syscall.SIGTERM)) // stop the server mid-way
			signalled = true
			continue
		}
		lines = append(lines, l)
	}
	is.NoErr(script.Wait()) // node
	is.True(signalled)      // the script got a quarter of its answers
	select {
	case err := <-exited:
		is.NoErr(err) // rbac serve exits 0 after SIGTERM
	case <-time.After(30 * time.Second):
		t.Fatal("rbac serve did not stop after SIGTERM")
	}
	var log strings.Builder
	for len(logs) > 0 {
		log.WriteString(<-logs + "\n")
	}
	is.True(strings.Contains(log.String(), "msg=stopped"))
	is.True(!strings.Contains(log.String(), adminKey)) // never logs a key

	answered := map[string]string{} // user: binding ID, of each create that got an answer
	var smoke, refused int
	for _, l := range lines {
		switch l.Phase {
		case "smoke":
			smoke++
			switch l.Name {
			case "create and get":
				is.True(l.OK) // create and get as an administrator
				answered[l.UserID] = l.ID
			case "unknown key":
				is.Equal(l.Error, "AuthenticationError") // unknown key
				is.Equal(l.Status, 401)
			}
		case "load":
			switch {
			case l.OK:
				answered[l.UserID] = l.ID
			case l.Status != 0:
				t.Errorf("create %d got an error answer: %s %d %s", l.I, l.Error, l.Status, l.Message)
			default:
				refused++ // no answer: the server had stopped listening
			}
		}
	}
	is.Equal(smoke, 2)
	t.Logf("%d creates answered, %d found the server gone", len(answered)-1, refused)
	is.True(len(answered) > creates/4) // the creates before the signal

	// The database holds exactly the answered creates, each whole.
	s, err := sqlstore.OpenSQLite(t.Context(), db, sqlstore.Options{})
	is.NoErr(err)
	defer s.Close()
	stored := map[string]rbac.Binding{}
	q := rbac.ListQuery{Limit: rbac.MaxLimit}
	for {
		p, err := s.List(t.Context(), q)
		is.NoErr(err)
		for _, b := range p.Bindings {
			stored[b.UserID] = b
		}
		if !p.HasMore {
			break
		}
		q.Cursor = p.NextCursor
	}
	is.Equal(len(stored), len(answered)) // none lost, none written unanswered
	for user, id := range answered {
		b, ok := stored[user]
		if !ok || b.ID != id {
			t.Errorf("user %s: answered with binding %s, stored %+v", user, id, b)
			continue
		}
		is.Equal(b.RoleID, perm.ReadOnlyRoleID)
		is.Equal(b.ResourceID, testSpace(1))
	}
}

// served is a running `rbac serve` process.
type served struct {
	cmd    *exec.Cmd
	base   string      // http://host:port
	exited chan error  // its exit, once
	logs   chan string // its log lines, as far as the buffer holds
}

// startServe builds the binary and starts it with args (a serve command)
// on a free loopback port, and returns once it says where it listens.
// The process is killed when the test ends.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rbac")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	srv := &served{cmd: exec.Command(bin, args...), exited: make(chan error, 1), logs: make(chan string, 1000)}
	stderr, err := srv.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("start rbac serve: %v", err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			select {
			case srv.logs <- sc.Text():
			default:
			}
		}
		srv.exited <- srv.cmd.Wait()
	}()
	t.Cleanup(func() { srv.cmd.Process.Kill() })
	select {
	case a := <-addr:
		srv.base = "http://" + a
	case err := <-srv.exited:
		t.Fatalf("rbac serve exited at start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("rbac serve did not say where it listens")
	}
	return srv
}

// TestServeReloadsKeys adds a key, revokes one and writes a broken keys
// file under a running `rbac serve`, with SIGHUP after each: a key works
// from the reload after it was added, is refused from the reload after it
// was removed, and a file that does not read leaves the keys in use.
func TestServeReloadsKeys(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	add := func(user string) (key, line string) {
		t.Helper()
		before, _ := os.ReadFile(keys)
		res := rbacPipe(t, nil, "keys", "add", "--keys", keys, "--user-id", user)
		is.Equal(res.code, 0) // keys add
		after, err := os.ReadFile(keys)
		is.NoErr(err)
		return strings.TrimSpace(res.stdout), strings.TrimPrefix(string(after), string(before))
	}
	first, firstLine := add(testUser(1))
	srv := startServe(t, "--db", filepath.Join(dir, "rbac.db"), "serve", "--addr", "127.0.0.1:0", "--keys", keys)

	status := func(key string) int {
		t.Helper()
		req, err := http.NewRequest("GET", srv.base+"/v2/roles", nil)
		is.NoErr(err)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		is.NoErr(err)
		resp.Body.Close()
		return resp.StatusCode
	}
	// reload sends SIGHUP and waits for the log line that answers it.
	reload := func(want string) {
		t.Helper()
		is.NoErr(srv.cmd.Process.Signal(syscall.SIGHUP))
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l := <-srv.logs:
				if strings.Contains(l, want) {
					return
				}
			case err := <-srv.exited:
				t.Fatalf("rbac serve exited on SIGHUP: %v", err)
			case <-deadline:
				t.Fatalf("no log line %q after SIGHUP", want)
			}
		}
	}
	is.Equal(status(first), 200) // the key of the file at start

	second, _ := add(testUser(2))
	is.Equal(status(second), 401) // not before the reload
	reload("msg=\"keys reloaded\" keys=2")
	is.Equal(status(second), 200) // added
	is.Equal(status(first), 200)

	content, err := os.ReadFile(keys)
	is.NoErr(err)
	is.NoErr(os.WriteFile(keys, []byte(strings.Replace(string(content), firstLine, "", 1)), 0o600))
	reload("msg=\"keys reloaded\" keys=1")
	is.Equal(status(first), 401) // revoked
	is.Equal(status(second), 200)

	is.NoErr(os.WriteFile(keys, []byte("not a keys line\n"), 0o600))
	reload("keys file not reloaded")
	is.Equal(status(second), 200) // a broken file leaves the keys in use
	is.Equal(status(first), 401)

	is.NoErr(srv.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-srv.exited:
		is.NoErr(err) // exits 0 after SIGTERM
	case <-time.After(30 * time.Second):
		t.Fatal("rbac serve did not stop after SIGTERM")
	}
}
