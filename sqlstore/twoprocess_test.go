package sqlstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
	"github.com/rolebind/rbac/store"
)

// TestMain runs the child of TestTwoProcessesFollow when RBAC_CHILD is
// set, and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv("RBAC_CHILD") != "" {
		if err := runChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// followInterval is how often each process's follower polls the feed for
// the other's writes.
const followInterval = 20 * time.Millisecond

// command is one line the parent sends the child; reply is the child's
// answer.
type command struct {
	Op     string     `json:"op"`
	User   string     `json:"user,omitempty"`
	Perm   string     `json:"perm,omitempty"`
	RT     string     `json:"rt,omitempty"`
	Res    string     `json:"res,omitempty"`
	Role   string     `json:"role,omitempty"`
	MinRev uint64     `json:"min_rev,omitempty"`
	N      int        `json:"n,omitempty"`
	Qs     []question `json:"questions,omitempty"`
}

type reply struct {
	Rev     uint64   `json:"rev"`
	Allowed bool     `json:"allowed"`
	Answers []bool   `json:"answers,omitempty"`
	Revs    []uint64 `json:"revs,omitempty"`
	Err     string   `json:"err,omitempty"`
}

// question is one permission check.
type question struct {
	User, Perm string
	RT         rbac.ResourceType
	Res        string
}

// proc is one process's side: its store, and a checker following it.
type proc struct {
	s *sqlstore.Store
	c *check.Checker
	f *check.Follower

	mu   sync.Mutex
	seen []uint64 // revisions handed to this store's subscribers
}

// follow opens the checker of a process on s and records the revisions
// of the changes its store hands to subscribers.
func follow(ctx context.Context, s *sqlstore.Store) (*proc, error) {
	p := &proc{s: s}
	s.Subscribe(func(ch store.Change) {
		p.mu.Lock()
		p.seen = append(p.seen, ch.Revision)
		p.mu.Unlock()
	})
	c, err := check.New(check.Options{})
	if err != nil {
		return nil, err
	}
	f, err := check.Follow(ctx, c, s, check.FollowOptions{Interval: followInterval})
	if err != nil {
		return nil, err
	}
	p.c, p.f = c, f
	return p, nil
}

// lastSeen returns the revision of this process's last write.
func (p *proc) lastSeen() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[len(p.seen)-1]
}

func (p *proc) seenSince(n int) []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen[n:])
}

func (p *proc) seenCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

func (p *proc) answers(qs []question) ([]bool, error) {
	out := make([]bool, len(qs))
	for i, q := range qs {
		ok, err := p.c.Check(q.User, q.Perm, q.RT, q.Res)
		if err != nil {
			return nil, err
		}
		out[i] = ok
	}
	return out, nil
}

// writes makes n writes of every kind on keys of its own (prefix keeps
// the two processes apart) and returns the revisions it was handed.
func (p *proc) writes(ctx context.Context, prefix, n int) ([]uint64, error) {
	from := p.seenCount()
	for i := range n {
		user := userID(prefix*1000 + i)
		project := projectID(prefix*1000 + i%10)
		var err error
		switch i % 5 {
		case 0, 1:
			_, err = p.s.Create(ctx, rbac.NewBinding{RoleID: roleID(i % 3), UserID: user, ResourceType: rbac.Space, ResourceID: spaceID(i % 4)})
		case 2:
			err = p.s.SetProjectSpace(ctx, project, spaceID(i%4))
		case 3:
			_, err = p.s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: user, ResourceType: rbac.Project, ResourceID: project})
		case 4:
			if (i/5)%2 == 0 {
				err = p.s.RestrictProject(ctx, projectID(prefix*1000+(i/5)%10))
			} else {
				err = p.s.UnrestrictProject(ctx, projectID(prefix*1000+(i/5-1)%10))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("write %d: %w", i, err)
		}
	}
	return p.seenSince(from), nil
}

func projectID(n int) string { return ids.Encode("Model", strconv.Itoa(n), "p") }

// openChild opens the store the parent names in the environment, with
// opts and the test catalogue.
func openChild(ctx context.Context, opts sqlstore.Options) (*sqlstore.Store, error) {
	opts.Catalogue = testCatalogue()
	switch os.Getenv("RBAC_CHILD_ENGINE") {
	case "sqlite":
		return sqlstore.OpenSQLite(ctx, os.Getenv("RBAC_CHILD_DB"), opts)
	case "postgres":
		cfg, err := pgx.ParseConfig(os.Getenv("RBAC_POSTGRES_DSN"))
		if err != nil {
			return nil, err
		}
		cfg.RuntimeParams["search_path"] = os.Getenv("RBAC_CHILD_DB")
		return sqlstore.New(ctx, stdlib.OpenDB(*cfg), sqlstore.PostgreSQL, opts)
	}
	return nil, errors.New("RBAC_CHILD_ENGINE is neither sqlite nor postgres")
}

// runChild is the child process: it follows the store and answers the
// parent's commands, one JSON line each, until its input ends.
func runChild(in io.Reader, out io.Writer) error {
	ctx := context.Background()
	s, err := openChild(ctx, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := follow(ctx, s)
	if err != nil {
		return err
	}
	defer p.f.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(reply{Rev: p.c.Revision()}); err != nil { // ready
		return err
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var cmd command
		if err := json.Unmarshal(lines.Bytes(), &cmd); err != nil {
			return err
		}
		var rep reply
		switch cmd.Op {
		case "check":
			err = p.f.Sync(ctx, cmd.MinRev)
			if err == nil {
				rep.Allowed, err = p.c.Check(cmd.User, cmd.Perm, rbac.ResourceType(cmd.RT), cmd.Res)
			}
		case "restrict":
			if err = s.RestrictProject(ctx, cmd.Res); err == nil {
				rep.Rev = p.lastSeen()
			}
		case "writes":
			rep.Revs, err = p.writes(ctx, 2, cmd.N)
		case "remove admins":
			rep.Answers, err = removeAdmins(ctx, cmd)
		case "first admins":
			rep.Answers, err = firstAdmins(ctx, s, cmd.User, cmd.N)
		case "answers":
			if err = p.f.Sync(ctx, cmd.MinRev); err == nil {
				rep.Answers, err = p.answers(cmd.Qs)
			}
		default:
			err = fmt.Errorf("unknown op %q", cmd.Op)
		}
		rep.Rev = max(rep.Rev, p.c.Revision())
		if err != nil {
			rep.Err = err.Error()
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return lines.Err()
}

// child is the parent's handle on the child process.
type child struct {
	t   *testing.T
	in  io.Writer
	out *bufio.Scanner
}

func (c *child) do(cmd command) reply {
	c.t.Helper()
	line, err := json.Marshal(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.in.Write(append(line, '\n')); err != nil {
		c.t.Fatalf("send %s: %v", cmd.Op, err)
	}
	if !c.out.Scan() {
		c.t.Fatalf("child gave no answer to %s: %v", cmd.Op, c.out.Err())
	}
	var rep reply
	if err := json.Unmarshal(c.out.Bytes(), &rep); err != nil {
		c.t.Fatalf("child's answer %q: %v", c.out.Text(), err)
	}
	if rep.Err != "" {
		c.t.Fatalf("child: %s: %s", cmd.Op, rep.Err)
	}
	return rep
}

// startChild runs this test binary as the child, on the parent's
// database, and stops it at cleanup.
func startChild(t *testing.T, engine, db string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RBAC_CHILD=1", "RBAC_CHILD_ENGINE="+engine, "RBAC_CHILD_DB="+db)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	c := &child{t: t, in: in, out: bufio.NewScanner(out)}
	c.out.Buffer(nil, 1<<20)
	if !c.out.Scan() {
		t.Fatalf("the child did not start: %v", c.out.Err())
	}
	return c
}

// eventually polls cond every few milliseconds until it holds, and fails
// t when it still does not after limit. It returns how long it took.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: still not so after %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func TestTwoProcessesFollow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		var s *sqlstore.Store
		var db string
		switch e.dialect {
		case sqlstore.SQLite:
			db = filepath.Join(t.TempDir(), "shared.db")
			s = openSQLite(t, db, sqlstore.Options{})
		default:
			db = newSchema(t)
			var err error
			s, err = sqlstore.New(ctx, postgresDB(t, db), sqlstore.PostgreSQL, sqlstore.Options{Catalogue: testCatalogue()})
			is.NoErr(err)
			t.Cleanup(func() { s.Close() })
		}
		parent, err := follow(ctx, s)
		is.NoErr(err)
		t.Cleanup(parent.f.Close)
		kid := startChild(t, e.name, db)

		admin, reader := userID(1), userID(2)
		space, project := spaceID(1), projectID(1)
		is.NoErr(s.SetProjectSpace(ctx, project, space))

		// A write here, and a check there at least as fresh as it: the
		// answer reflects the write at once, whatever the interval.
		_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: admin, ResourceType: rbac.Space, ResourceID: space})
		is.NoErr(err)
		rev := parent.lastSeen()
		rep := kid.do(command{Op: "check", User: admin, Perm: "PROJECT_RESTRICT", RT: string(rbac.Project), Res: project, MinRev: rev})
		is.True(rep.Allowed)    // at least as fresh as the write
		is.True(rep.Rev >= rev) // and the child's checker says how fresh

		// Without a revision to wait for, the child's answer flips
		// within a few polls.
		_, err = s.Create(ctx, rbac.NewBinding{RoleID: perm.ReadOnlyRoleID, UserID: reader, ResourceType: rbac.Space, ResourceID: space})
		is.NoErr(err)
		took := eventually(t, 2*time.Second, "the child sees the parent's binding", func() bool {
			return kid.do(command{Op: "check", User: reader, Perm: "DATASET_READ", RT: string(rbac.Project), Res: project}).Allowed
		})
		t.Logf("%s: the child saw the parent's write after %v (interval %v)", e.name, took, followInterval)

		// The child restricts the project; the parent's checker cuts the
		// space reader off within the interval, not the administrator.
		rep = kid.do(command{Op: "restrict", Res: project})
		is.True(rep.Rev > rev)
		took = eventually(t, 2*time.Second, "the parent sees the child's restriction", func() bool {
			ok, err := parent.c.Check(reader, "DATASET_READ", rbac.Project, project)
			return err == nil && !ok
		})
		t.Logf("%s: the parent saw the child's write after %v", e.name, took)
		ok, err := parent.c.Check(admin, "DATASET_READ", rbac.Project, project)
		is.NoErr(err)
		is.True(ok) // a space administrator still reaches in
		is.NoErr(parent.f.Sync(ctx, rep.Rev))
		is.Equal(parent.c.Revision(), rep.Rev) // Sync to the child's revision

		// Both write at once, 100 writes each.
		before, err := s.Revision(ctx)
		is.NoErr(err)
		var theirs reply
		var wg sync.WaitGroup
		wg.Go(func() { theirs = kid.do(command{Op: "writes", N: 100}) })
		mine, err := parent.writes(ctx, 1, 100)
		is.NoErr(err)
		wg.Wait()
		last, err := s.Revision(ctx)
		is.NoErr(err)
		is.Equal(last, before+200) // one revision per write

		// The revisions each process was handed are the whole range,
		// once each: no gap, no revision twice.
		all := append(slices.Clone(mine), theirs.Revs...)
		slices.Sort(all)
		is.Equal(len(all), 200)
		for i, r := range all {
			is.Equal(r, before+1+uint64(i))
		}
		// And the feed holds them, in order.
		var changes []store.Change
		for after := before; after < last; {
			page, err := s.Changes(ctx, after, 7)
			is.NoErr(err)
			is.True(len(page) > 0)
			changes = append(changes, page...)
			after = page[len(page)-1].Revision
		}
		is.Equal(len(changes), 200)

		// Synced to the last revision, both answer alike.
		var qs []question
		for _, u := range []int{1, 2, 1000, 1001, 1003, 2000, 2001, 2003, 1008, 2013} {
			for _, perm := range []string{"DATASET_READ", "PROJECT_DELETE", "PROJECT_RESTRICT"} {
				for _, res := range []struct {
					rt rbac.ResourceType
					id string
				}{{rbac.Space, spaceID(0)}, {rbac.Space, spaceID(1)}, {rbac.Project, projectID(1)}, {rbac.Project, projectID(1003)}, {rbac.Project, projectID(2003)}, {rbac.Project, projectID(2000)}} {
					qs = append(qs, question{User: userID(u), Perm: perm, RT: res.rt, Res: res.id})
				}
			}
		}
		is.NoErr(parent.f.Sync(ctx, last))
		want, err := parent.answers(qs)
		is.NoErr(err)
		got := kid.do(command{Op: "answers", Qs: qs, MinRev: last})
		is.Equal(got.Rev, last)
		is.Equal(parent.c.Revision(), last)
		is.Equal(got.Answers, want) // the same answers in both processes
		yes := 0
		for _, a := range want {
			if a {
				yes++
			}
		}
		is.True(yes > 0 && yes < len(want)) // the questions both allow and deny
		is.NoErr(parent.f.Err())
	})
}
