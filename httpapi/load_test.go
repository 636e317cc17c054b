package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/rbactest"
)

// The load test's shape: 4 clients, and 20,000 requests in all unless
// the race detector or -short asks for fewer (the race detector makes
// each request several times slower, and what it looks for, data races,
// shows up in a few thousand requests as well as in 20,000).
const (
	loadClients      = 4
	loadRequests     = 20000
	loadRequestsSlow = 4000
	loadSpaces       = 4
	loadProjects     = 8 // projects 1 to 8, two per space
	loadUsers        = 150
	loadFirstUser    = 1000
)

// loadOp names a kind of request, for the counts and latencies.
type loadOp string

const (
	opCreate    loadOp = "create"
	opConflict  loadOp = "create, taken slot"
	opGet       loadOp = "get"
	opList      loadOp = "list"
	opChange    loadOp = "change role"
	opDelete    loadOp = "delete"
	opRefused   loadOp = "refused create"
	opInvisible loadOp = "get, no permission"
	opBlindList loadOp = "list, no permission"
)

// loadBinding is what a client was told about a binding it created.
type loadBinding struct {
	user, resource string
	rt             rbac.ResourceType
	role           string // the role of the last 200 or the 201
	deleted        bool
}

// loadClient is one client's state: it changes and deletes only the
// bindings it created, so it knows what each of those must be at the
// end, whatever the others do.
type loadClient struct {
	n       int
	key     string // acts as this principal
	hc      *http.Client
	rng     *rand.Rand
	own     map[string]*loadBinding // by binding ID
	live    []string                // IDs of own bindings not deleted
	lat     map[loadOp][]time.Duration
	status  map[loadOp]map[int]int
	errs    []string
	fivexx  int
	baseURL string
}

// TestLoad runs 4 clients against the handler over SQLite through a real
// loopback listener: creates, reads, lists, role changes and deletes,
// some conflicting, some refused. No request may get a 5xx or an
// unexpected status, and afterwards the store must hold exactly what
// the clients were told: every binding a 201 made and no 204 removed
// exists once, with the role of its last change; every deleted one is
// gone; nothing else exists (a 409 created nothing).
func TestLoad(t *testing.T) {
	is := is.New(t)
	total := loadRequests
	if raceDetector || testing.Short() {
		total = loadRequestsSlow
	}
	s, c := openFollowedSQLite(t)
	ctx := t.Context()
	// Two account administrators, two space administrators (Admin on
	// every space, through the checker), and bob, a member everywhere,
	// whose requests are refused.
	spaceAdmins := []string{rbactest.User(2), rbactest.User(3)}
	bob := rbactest.User(4)
	principals := map[string]httpapi.Principal{
		"load-0": {Admin: true},
		"load-1": {Admin: true},
		"load-2": {UserID: spaceAdmins[0]},
		"load-3": {UserID: spaceAdmins[1]},
		"bob":    {UserID: bob},
	}
	var seeded []string
	seed := func(user, role string, rt rbac.ResourceType, resource string) {
		b, err := s.Create(ctx, rbac.NewBinding{UserID: user, RoleID: role, ResourceType: rt, ResourceID: resource})
		is.NoErr(err) // seed a binding
		seeded = append(seeded, b.ID)
	}
	for sp := 1; sp <= loadSpaces; sp++ {
		for _, u := range spaceAdmins {
			seed(u, perm.AdminRoleID, rbac.Space, rbactest.Space(sp))
		}
		seed(bob, perm.MemberRoleID, rbac.Space, rbactest.Space(sp))
	}
	for p := 1; p <= loadProjects; p++ {
		is.NoErr(s.SetProjectSpace(ctx, rbactest.Project(p), rbactest.Space(1+(p-1)/2))) // link a project
	}
	base := serveLoopback(t, httpapi.New(s, c, bearerAuth(principals), httpapi.Options{}))

	clients := make([]*loadClient, loadClients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		cl := &loadClient{
			n:   i,
			key: fmt.Sprintf("load-%d", i),
			// Each client its own connection pool, as separate
			// processes would have.
			hc:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: 30 * time.Second},
			rng:     rand.New(rand.NewPCG(uint64(i), 2026)),
			own:     map[string]*loadBinding{},
			lat:     map[loadOp][]time.Duration{},
			status:  map[loadOp]map[int]int{},
			baseURL: base,
		}
		clients[i] = cl
		n := total / loadClients
		if i < total%loadClients {
			n++
		}
		wg.Go(func() {
			defer cl.hc.CloseIdleConnections()
			for range n {
				if ctx.Err() != nil {
					return
				}
				cl.step()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	// What the clients saw.
	var all []time.Duration
	byOp := map[loadOp][]time.Duration{}
	counts := map[loadOp]map[int]int{}
	fivexx := 0
	for _, cl := range clients {
		for op, ds := range cl.lat {
			byOp[op] = append(byOp[op], ds...)
			all = append(all, ds...)
		}
		for op, m := range cl.status {
			if counts[op] == nil {
				counts[op] = map[int]int{}
			}
			for st, k := range m {
				counts[op][st] += k
			}
		}
		fivexx += cl.fivexx
		for i, e := range cl.errs {
			if i == 10 {
				t.Errorf("client %d: %d more unexpected answers", cl.n, len(cl.errs)-10)
				break
			}
			t.Errorf("client %d: %s", cl.n, e)
		}
	}
	t.Logf("%d requests by %d clients in %v (%.0f requests/s) on SQLite over 127.0.0.1, race detector %v",
		len(all), loadClients, elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds(), raceDetector)
	t.Logf("latency, all requests: %s", percentiles(all))
	ops := make([]loadOp, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		t.Logf("  %-20s %6d requests, statuses %v: %s", op, len(byOp[op]), counts[op], percentiles(byOp[op]))
	}
	is.Equal(len(all), total) // every request was made
	is.Equal(fivexx, 0)       // no 5xx
	for _, op := range []loadOp{opCreate, opConflict, opGet, opList, opChange, opDelete, opRefused, opInvisible, opBlindList} {
		is.True(len(byOp[op]) > 0) // the mix has every kind of request
	}
	is.True(counts[opConflict][http.StatusConflict] > 0) // some creates conflicted

	// What the store holds, listed to the end, against what the clients
	// were told.
	stored := map[string]rbac.Binding{}
	for _, rt := range []rbac.ResourceType{rbac.Space, rbac.Project} {
		q := rbac.ListQuery{ResourceType: rt, Limit: rbac.MaxLimit}
		for {
			page, err := s.List(ctx, q)
			is.NoErr(err) // list the store
			for _, b := range page.Bindings {
				if _, dup := stored[b.ID]; dup {
					t.Errorf("binding %s listed twice", b.ID)
				}
				stored[b.ID] = b
			}
			if !page.HasMore {
				break
			}
			q.Cursor = page.NextCursor
		}
	}
	want := len(seeded)
	for _, id := range seeded {
		if _, ok := stored[id]; !ok {
			t.Errorf("seeded binding %s is gone", id)
		}
	}
	slots := map[string]string{}
	for id, b := range stored {
		slot := b.UserID + " " + string(b.ResourceType) + " " + b.ResourceID
		if other, taken := slots[slot]; taken {
			t.Errorf("two bindings for one user and resource: %s and %s", other, id)
		}
		slots[slot] = id
	}
	created, deleted := 0, 0
	for _, cl := range clients {
		for id, lb := range cl.own {
			created++
			b, ok := stored[id]
			switch {
			case lb.deleted && ok:
				t.Errorf("binding %s: deleted with a 204, but still stored", id)
			case lb.deleted:
				deleted++
			case !ok:
				t.Errorf("binding %s: created with a 201 and not deleted, but not stored (lost)", id)
			case b.UserID != lb.user || b.ResourceID != lb.resource || b.ResourceType != lb.rt:
				t.Errorf("binding %s: stored as %+v, created for %s on %s %s", id, b, lb.user, lb.rt, lb.resource)
			case b.RoleID != lb.role:
				t.Errorf("binding %s: stored with role %s, but the last change answered %s (lost update)", id, b.RoleID, lb.role)
			}
			if !lb.deleted {
				want++
			}
		}
	}
	t.Logf("bindings: %d seeded, %d created (201), %d of them deleted (204), %d stored at the end", len(seeded), created, deleted, len(stored))
	is.Equal(len(stored), want) // nothing stored that no client was told of: 409s and refusals created nothing
}

// step makes one request of the mix, chosen at random, and checks its
// status against what the client knows.
func (cl *loadClient) step() {
	r := cl.rng.IntN(100)
	switch {
	case r < 5:
		cl.refused()
	case r < 35 || len(cl.live) == 0:
		cl.create()
	case r < 40:
		cl.conflict()
	case r < 55:
		cl.get()
	case r < 70:
		cl.list()
	case r < 83:
		cl.change()
	default:
		cl.delete()
	}
}

// slot picks a user and a resource from pools small enough that the
// clients' creates collide.
func (cl *loadClient) slot() (user string, rt rbac.ResourceType, resource string) {
	user = rbactest.User(loadFirstUser + cl.rng.IntN(loadUsers))
	if cl.rng.IntN(3) == 0 {
		return user, rbac.Space, rbactest.Space(1 + cl.rng.IntN(loadSpaces))
	}
	return user, rbac.Project, rbactest.Project(1 + cl.rng.IntN(loadProjects))
}

var loadRoles = []string{perm.ReadOnlyRoleID, perm.MemberRoleID, perm.AnnotatorRoleID}

func (cl *loadClient) role() string { return loadRoles[cl.rng.IntN(len(loadRoles))] }

// loadCreateBody is a create request's body.
func loadCreateBody(role, user string, rt rbac.ResourceType, resource string) string {
	return fmt.Sprintf(`{"role_id":%q,"user_id":%q,"resource_type":%q,"resource_id":%q}`, role, user, rt, resource)
}

func (cl *loadClient) create() {
	user, rt, resource := cl.slot()
	role := cl.role()
	body := loadCreateBody(role, user, rt, resource)
	st, data := cl.do(opCreate, cl.key, "POST", "/v2/role-bindings", body)
	switch st {
	case http.StatusCreated:
		var b rbac.Binding
		if err := json.Unmarshal(data, &b); err != nil || b.ID == "" {
			cl.fail("create: 201 with body %s: %v", data, err)
			return
		}
		if _, again := cl.own[b.ID]; again {
			cl.fail("create: 201 with the ID %s of an earlier binding", b.ID)
			return
		}
		cl.own[b.ID] = &loadBinding{user: user, rt: rt, resource: resource, role: role}
		cl.live = append(cl.live, b.ID)
	case http.StatusConflict:
		// Another binding holds the slot: a client's or this one's.
	default:
		cl.fail("create %s: got %d: %s", body, st, data)
	}
}

// conflict creates a binding for the slot of one of its own live
// bindings, which must conflict.
func (cl *loadClient) conflict() {
	lb := cl.own[cl.pick()]
	body := loadCreateBody(cl.role(), lb.user, lb.rt, lb.resource)
	if st, data := cl.do(opConflict, cl.key, "POST", "/v2/role-bindings", body); st != http.StatusConflict {
		cl.fail("create on a taken slot %s: got %d, want 409: %s", body, st, data)
	}
}

// refused sends what bob may not do: a create (403), or a read of a
// binding he may not read (404, as if it did not exist), or a list, which
// must leave out everything.
func (cl *loadClient) refused() {
	k := cl.rng.IntN(3)
	if k == 1 && len(cl.live) == 0 {
		k = 0 // nothing to read yet
	}
	switch k {
	case 0:
		user, rt, resource := cl.slot()
		body := loadCreateBody(cl.role(), user, rt, resource)
		if st, data := cl.do(opRefused, "bob", "POST", "/v2/role-bindings", body); st != http.StatusForbidden {
			cl.fail("create as bob: got %d, want 403: %s", st, data)
		}
	case 1:
		id := cl.pick()
		if st, data := cl.do(opInvisible, "bob", "GET", "/v2/role-bindings/"+id, ""); st != http.StatusNotFound {
			cl.fail("get %s as bob: got %d, want 404: %s", id, st, data)
		}
	default:
		st, data := cl.do(opBlindList, "bob", "GET", "/v2/role-bindings?resource_type=SPACE&limit=100", "")
		var page rbac.Page
		if st != http.StatusOK || json.Unmarshal(data, &page) != nil || len(page.Bindings) != 0 {
			cl.fail("list as bob: got %d, want 200 and no bindings: %.300s", st, data)
		}
	}
}

func (cl *loadClient) get() {
	id := cl.pick()
	st, data := cl.do(opGet, cl.key, "GET", "/v2/role-bindings/"+id, "")
	var b rbac.Binding
	if st != http.StatusOK || json.Unmarshal(data, &b) != nil || b.ID != id || b.RoleID != cl.own[id].role {
		cl.fail("get %s (role %s): got %d: %s", id, cl.own[id].role, st, data)
	}
}

func (cl *loadClient) list() {
	q := "resource_type=PROJECT"
	if cl.rng.IntN(2) == 0 {
		q = "resource_type=SPACE"
	}
	if cl.rng.IntN(2) == 0 {
		user, _, _ := cl.slot()
		q += "&user_id=" + user
	}
	q += fmt.Sprintf("&limit=%d", 1+cl.rng.IntN(rbac.MaxLimit))
	st, data := cl.do(opList, cl.key, "GET", "/v2/role-bindings?"+q, "")
	var page rbac.Page
	if st != http.StatusOK || json.Unmarshal(data, &page) != nil {
		cl.fail("list %s: got %d: %.300s", q, st, data)
	}
}

func (cl *loadClient) change() {
	id := cl.pick()
	role := cl.role()
	st, data := cl.do(opChange, cl.key, "PATCH", "/v2/role-bindings/"+id, fmt.Sprintf(`{"role_id":%q}`, role))
	var b rbac.Binding
	if st != http.StatusOK || json.Unmarshal(data, &b) != nil || b.RoleID != role {
		cl.fail("change %s to %s: got %d: %s", id, role, st, data)
		return
	}
	cl.own[id].role = role
}

func (cl *loadClient) delete() {
	i := cl.rng.IntN(len(cl.live))
	id := cl.live[i]
	st, data := cl.do(opDelete, cl.key, "DELETE", "/v2/role-bindings/"+id, "")
	if st != http.StatusNoContent || len(data) != 0 {
		cl.fail("delete %s: got %d: %s", id, st, data)
		return
	}
	cl.own[id].deleted = true
	cl.live = slices.Delete(cl.live, i, i+1)
}

// pick returns one of the client's live bindings.
func (cl *loadClient) pick() string { return cl.live[cl.rng.IntN(len(cl.live))] }

// do makes one request as key and returns its status and body, timing it
// from the request's start to the body's last byte.
func (cl *loadClient) do(op loadOp, key, method, path, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, cl.baseURL+path, rd)
	if err != nil {
		cl.fail("%s %s: %v", method, path, err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := cl.hc.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	cl.lat[op] = append(cl.lat[op], time.Since(start))
	if err != nil {
		cl.fail("%s %s: %v", method, path, err)
		return 0, nil
	}
	if cl.status[op] == nil {
		cl.status[op] = map[int]int{}
	}
	cl.status[op][resp.StatusCode]++
	if resp.StatusCode >= 500 {
		cl.fivexx++
	}
	return resp.StatusCode, data
}

func (cl *loadClient) fail(format string, args ...any) {
	cl.errs = append(cl.errs, fmt.Sprintf(format, args...))
}

// percentiles formats the p50, p90, p99 and max of ds (nearest rank).
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no requests"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %v, p90 %v, p99 %v, max %v", r(at(0.50)), r(at(0.90)), r(at(0.99)), r(ds[len(ds)-1]))
}
