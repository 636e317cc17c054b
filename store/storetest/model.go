package storetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/validate"
)

// The model-based test runs random sequences of operations against a store
// and against refModel, a reference written as plainly as possible, and
// demands the same results: the same bindings, the same pages, the same
// errors (category, message and field errors: invalid input as package
// validate reports it, the other errors in the words of the contract, see
// messages.go). The clock is the suite's own, so the model predicts
// timestamps exactly, except the one the contract leaves open: after the
// clock steps back, a changed binding's updated_at only has to be later
// than before.
//
// Environment, for longer runs:
//
//	RBAC_STORETEST_SEED   run this seed too (a failure prints its seed)
//	RBAC_STORETEST_STEPS  operations per seed (default modelSteps)

// modelSeeds are the seeds every run uses.
var modelSeeds = []uint64{1, 2, 3, 4}

// modelSteps is the default number of operations per seed: enough to
// reach deep paging and every error path, small enough for a SQL store
// under the race detector.
const modelSteps = 300

// modelEntry is one live binding of the model: what the store must return
// for it, and its place in creation order.
type modelEntry struct {
	seq int
	b   rbac.Binding
}

// refModel is the reference: live bindings in creation order, and every ID
// the store ever handed out.
type refModel struct {
	live   []modelEntry
	issued map[string]int // binding ID -> creation sequence, live or not
	seq    int
}

func (m *refModel) find(id string) int {
	for i, e := range m.live {
		if e.b.ID == id {
			return i
		}
	}
	return -1
}

func (m *refModel) slotTaken(user string, rt rbac.ResourceType, resourceID string) bool {
	for _, e := range m.live {
		if e.b.UserID == user && e.b.ResourceType == rt && e.b.ResourceID == resourceID {
			return true
		}
	}
	return false
}

// page returns the live bindings that match q (canonical IDs), created
// after sequence number after, at most limit of them, and whether more
// follow.
func (m *refModel) page(q rbac.ListQuery, after, limit int) ([]modelEntry, bool) {
	var out []modelEntry
	for _, e := range m.live {
		if e.seq <= after || !matches(e.b, q) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, e)
	}
	return out, false
}

// removeWhere deletes the live bindings for which drop is true and
// returns how many there were.
func (m *refModel) removeWhere(drop func(rbac.Binding) bool) int {
	n := 0
	kept := m.live[:0]
	for _, e := range m.live {
		if drop(e.b) {
			n++
		} else {
			kept = append(kept, e)
		}
	}
	m.live = kept
	return n
}

// openList is a list the test is paging through: its query (as sent to
// the store and in canonical form for the model), the store's cursor, and
// the sequence number of the last binding seen.
type openList struct {
	sent, canon rbac.ListQuery
	cursor      string
	after       int
}

// modelRun is one seed's run.
type modelRun struct {
	t     *testing.T
	seed  uint64
	r     *rand.Rand
	e     *env
	m     refModel
	open  []*openList
	trace []string
	step  int

	// For a store that keeps roles (store.RoleStore): the run also
	// creates and deletes custom roles, and binds to roles that do not
	// exist. For a store with a feed: every write that changes something
	// must move the revision by one, every other call not at all.
	hasRoles, hasFeed bool
	custom            []customRole
	rev               uint64 // the revision the model expects
}

// customRole is a custom role the run created, live or deleted.
type customRole struct {
	id, name string
	live     bool
}

// roleKnown reports whether the store must accept id as a binding's role.
func (mr *modelRun) roleKnown(id string) bool {
	if !mr.hasRoles {
		return true
	}
	for i := 1; i <= modelRoles; i++ {
		if id == roleID(i) {
			return true
		}
	}
	for _, c := range mr.custom {
		if c.id == id {
			return c.live
		}
	}
	return false
}

// wrote tells the model that the last call changed something (changed)
// or not, and checks the store's revision against it.
func (mr *modelRun) wrote(op string, changed bool) {
	mr.t.Helper()
	if !mr.hasFeed {
		return
	}
	if changed {
		mr.rev++
	}
	if got := mr.e.revision(mr.t); got != mr.rev {
		mr.fail("%s: the store is at revision %d; want %d (one change per write that changed something, none otherwise)", op, got, mr.rev)
	}
}

func testModel(t *testing.T, f Factory) {
	seeds := slices.Clone(modelSeeds)
	if s := os.Getenv("RBAC_STORETEST_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RBAC_STORETEST_SEED=%q: %v; want a non-negative integer", s, err)
		}
		seeds = append(seeds, seed)
	}
	steps := modelSteps
	if s := os.Getenv("RBAC_STORETEST_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("RBAC_STORETEST_STEPS=%q; want a positive integer", s)
		}
		steps = n
	}
	for _, seed := range seeds {
		run(t, fmt.Sprintf("seed=%d", seed), f, func(t *testing.T, e *env) {
			mr := &modelRun{t: t, seed: seed, r: rand.New(rand.NewPCG(seed, 0x5eed)), e: e, m: refModel{issued: map[string]int{}}}
			mr.hasRoles, mr.hasFeed = has(e.raw, capRoles), has(e.raw, capFeed)
			mr.rev = e.revision(t)
			for mr.step = 1; mr.step <= steps; mr.step++ {
				mr.once()
				if mr.step%50 == 0 {
					mr.checkAll()
				}
			}
			mr.checkAll()
		})
	}
}

// fail stops the run with what went wrong, the seed to reproduce it and
// the operations that led there.
func (mr *modelRun) fail(format string, args ...any) {
	mr.t.Helper()
	from := max(0, len(mr.trace)-30)
	mr.t.Fatalf("model-based test, seed %d (rerun with RBAC_STORETEST_SEED=%d), step %d: %s\nlast operations:\n  %s",
		mr.seed, mr.seed, mr.step, fmt.Sprintf(format, args...), strings.Join(mr.trace[from:], "\n  "))
}

func (mr *modelRun) log(format string, args ...any) {
	mr.trace = append(mr.trace, fmt.Sprintf("%d: ", mr.step)+fmt.Sprintf(format, args...))
}

// name makes IDs readable in the trace: the test's users, roles and
// resources by number, bindings by creation sequence.
func (mr *modelRun) name(id string) string {
	for i := range 10 {
		switch id {
		case userID(i):
			return "user" + strconv.Itoa(i)
		case roleID(i):
			return "role" + strconv.Itoa(i)
		case spaceID(i):
			return "space" + strconv.Itoa(i)
		case projectID(i):
			return "project" + strconv.Itoa(i)
		case projectAlias(i):
			return "project" + strconv.Itoa(i) + "(alias)"
		}
	}
	if seq, ok := mr.m.issued[id]; ok {
		return "binding" + strconv.Itoa(seq)
	}
	for i, c := range mr.custom {
		if c.id == id {
			return "custom" + strconv.Itoa(i)
		}
	}
	for i := range 5 {
		if id == missingRoleID(i) {
			return "missingRole" + strconv.Itoa(i)
		}
	}
	return strconv.Quote(id)
}

// expect checks that err has the category want and, for invalid input,
// names field.
func (mr *modelRun) expect(op string, err error, want category, field string) {
	mr.t.Helper()
	got, problem := categorize(err)
	if problem != "" {
		mr.fail("%s: %s", op, problem)
	}
	if got != want {
		mr.fail("%s: got %s (error %v); want %s", op, got, err, want)
	}
	if want != catOK {
		mr.wrote(op, false)
	}
	if want == catInvalid && field != "" {
		if missing := missingFields(err, field); len(missing) > 0 {
			mr.fail("%s: invalid-input error names %q; want it to name %q", op, fieldsOf(err), field)
		}
	}
}

// expectErr checks that err is exactly want, the error the contract asks
// for (see sameError), and that it wrote nothing.
func (mr *modelRun) expectErr(op string, err, want error) {
	mr.t.Helper()
	if d := sameError(err, want); d != "" {
		mr.fail("%s: %s", op, d)
	}
	mr.wrote(op, false)
}

func (mr *modelRun) chance(p float64) bool { return mr.r.Float64() < p }

// pick returns a random element of list.
func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// The universe is small so that conflicts, shared filters and cascades
// with several victims are common.
const (
	modelUsers     = 6
	modelRoles     = 3
	modelResources = 3 // of each type
)

// randomResource returns a resource as sent (maybe the Project alias) and
// in canonical form.
func (mr *modelRun) randomResource() (sent, canon resource) {
	i := 1 + mr.r.IntN(modelResources)
	if mr.chance(0.5) {
		return space(i), space(i)
	}
	if mr.chance(0.3) {
		return resource{rbac.Project, projectAlias(i)}, project(i)
	}
	return project(i), project(i)
}

func (mr *modelRun) randomUser() string { return userID(1 + mr.r.IntN(modelUsers)) }

// randomRole returns a role to bind: a fixture role, or, for a store
// that keeps roles, sometimes a custom role (live or deleted) or a role
// that never existed.
func (mr *modelRun) randomRole() string {
	if mr.hasRoles && mr.chance(0.25) {
		if len(mr.custom) > 0 && mr.chance(0.8) {
			return pick(mr.r, mr.custom).id
		}
		return missingRoleID(mr.r.IntN(2))
	}
	return roleID(1 + mr.r.IntN(modelRoles))
}

// bindingTarget returns a binding ID to get, change or delete: usually a
// live one, sometimes a deleted one, one that never existed, or a bad one
// (bad is true when the ID is invalid input).
func (mr *modelRun) bindingTarget() (id string, bad bool) {
	switch x := mr.r.Float64(); {
	case x < 0.65 && len(mr.m.live) > 0:
		return pick(mr.r, mr.m.live).b.ID, false
	case x < 0.8 && len(mr.m.issued) > len(mr.m.live):
		var gone []string
		for id := range mr.m.issued {
			if mr.m.find(id) < 0 {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone) // map order is random; only the seed may choose
		return pick(mr.r, gone), false
	case x < 0.9:
		return missingBindingID(1 + mr.r.IntN(5)), false
	default:
		return pick(mr.r, badIDs("RoleBinding", "Role")).id, true
	}
}

// once runs one random operation.
func (mr *modelRun) once() {
	switch x := mr.r.IntN(100); {
	case x < 28:
		mr.create()
	case x < 36:
		mr.get()
	case x < 56:
		mr.changeRole()
	case x < 64:
		mr.delete()
	case x < 76:
		mr.listFirst()
	case x < 88:
		mr.listNext()
	case x < 91:
		mr.deleteUser()
	case x < 94:
		mr.deleteResource()
	case x < 97 && mr.hasRoles:
		mr.createRole()
	case x < 99 && mr.hasRoles:
		mr.deleteRole()
	default:
		mr.stepClock()
	}
}

// modelRoleNames are the names custom roles get: few, so that names clash.
var modelRoleNames = []string{"Alpha", "Beta", "Gamma", "Delta", "Admin"}

func (mr *modelRun) createRole() {
	name := pick(mr.r, modelRoleNames)
	op := "CreateRole(" + name + ")"
	mr.log("%s", op)
	r, err := mr.e.roles().CreateRole(mr.t.Context(), rbac.NewRole{Name: name, Permissions: []string{"PROJECT_READ"}})
	taken := name == "Admin" // the default catalogue's
	for _, c := range mr.custom {
		taken = taken || (c.live && c.name == name)
	}
	if taken {
		mr.expectErr(op, err, conflict(msgNameTaken(name)))
		return
	}
	mr.expect(op, err, catOK, "")
	for _, c := range mr.custom {
		if c.id == r.ID {
			mr.fail("%s returned ID %s, which the store handed out before as %s; want a new ID", op, r.ID, mr.name(r.ID))
		}
	}
	mr.custom = append(mr.custom, customRole{id: r.ID, name: name, live: true})
	mr.trace[len(mr.trace)-1] += " = " + mr.name(r.ID)
	mr.wrote(op, true)
}

func (mr *modelRun) deleteRole() {
	var id string
	bad := false
	switch x := mr.r.Float64(); {
	case x < 0.75 && len(mr.custom) > 0:
		id = pick(mr.r, mr.custom).id
	case x < 0.85:
		id = roleID(1 + mr.r.IntN(modelRoles)) // predefined in the suite's catalogue
	case x < 0.95:
		id = missingRoleID(mr.r.IntN(2))
	default:
		id, bad = pick(mr.r, badIDs("Role", "User")).id, true
	}
	op := "DeleteRole(" + mr.name(id) + ")"
	mr.log("%s", op)
	err := mr.e.roles().DeleteRole(mr.t.Context(), id)
	i := slices.IndexFunc(mr.custom, func(c customRole) bool { return c.id == id })
	bound := slices.ContainsFunc(mr.m.live, func(e modelEntry) bool { return e.b.RoleID == id })
	switch {
	case bad:
		_, want := validate.Default().ID("id", ids.Role, id)
		mr.expectErr(op, err, want)
	case i < 0 && mr.roleKnown(id):
		mr.expectErr(op, err, predefinedRole)
	case i < 0 || !mr.custom[i].live:
		mr.expectErr(op, err, notFound(msgRoleNotFound(id)))
	case bound:
		mr.expectErr(op, err, conflict(msgRoleBound(id)))
	default:
		mr.expect(op, err, catOK, "")
		mr.custom[i].live = false
		mr.wrote(op, true)
	}
}

func (mr *modelRun) stepClock() {
	var d time.Duration
	switch x := mr.r.IntN(4); x {
	case 0:
		d = 0
	case 1:
		d = -time.Duration(mr.r.Int64N(int64(3 * time.Second))) // backward
	default:
		d = time.Duration(mr.r.Int64N(int64(2 * time.Second)))
	}
	mr.e.clock.Advance(d)
	mr.log("clock %+v", d)
}

func (mr *modelRun) create() {
	sentRes, canonRes := mr.randomResource()
	in := rbac.NewBinding{RoleID: mr.randomRole(), UserID: mr.randomUser(), ResourceType: sentRes.rt, ResourceID: sentRes.id}
	badField := ""
	if mr.chance(0.08) {
		switch mr.r.IntN(4) {
		case 0:
			badField, in.RoleID = "role_id", pick(mr.r, badIDs("Role", "User")).id
		case 1:
			badField, in.UserID = "user_id", pick(mr.r, badIDs("User", "Role")).id
		case 2:
			badField, in.ResourceType = "resource_type", pick(mr.r, []rbac.ResourceType{"", "space", "Project", "DATASET"})
		default:
			other := "Model"
			if in.ResourceType == rbac.Project {
				other = "Space"
			}
			typ := map[rbac.ResourceType]string{rbac.Space: "Space", rbac.Project: "Model"}[in.ResourceType]
			badField, in.ResourceID = "resource_id", pick(mr.r, badIDs(typ, other)).id
		}
	}
	op := fmt.Sprintf("Create(%s, %s, %s %s)", mr.name(in.RoleID), mr.name(in.UserID), in.ResourceType, mr.name(in.ResourceID))
	mr.log("%s", op)
	b, err := mr.e.s.Create(mr.t.Context(), in)
	taken := mr.m.slotTaken(in.UserID, canonRes.rt, canonRes.id)
	// The order of checks of the contract: input, the role (404), the
	// slot (409).
	switch {
	case badField != "":
		mr.expect(op, err, catInvalid, badField)
		_, want := validate.Default().NewBinding(in)
		mr.expectErr(op, err, want)
	case !mr.roleKnown(in.RoleID):
		mr.expectErr(op, err, notFound(msgRoleNotFound(in.RoleID)))
	case taken:
		mr.expectErr(op, err, conflict(msgSlotTaken(in.UserID, canonRes.rt, canonRes.id)))
	default:
		mr.expect(op, err, catOK, "")
		mr.wrote(op, true)
		if _, again := mr.m.issued[b.ID]; again {
			mr.fail("%s returned ID %s, which the store handed out before as %s; want a new ID", op, b.ID, mr.name(b.ID))
		}
		now := rbac.StoreTime(mr.e.clock.Now())
		want := rbac.Binding{ID: b.ID, RoleID: in.RoleID, UserID: in.UserID, ResourceType: canonRes.rt, ResourceID: canonRes.id, CreatedAt: now, UpdatedAt: now}
		if b != want {
			mr.fail("%s returned\n%+v\nwant\n%+v", op, b, want)
		}
		mr.m.seq++
		mr.m.issued[b.ID] = mr.m.seq
		mr.m.live = append(mr.m.live, modelEntry{seq: mr.m.seq, b: b})
		mr.trace[len(mr.trace)-1] += " = " + mr.name(b.ID)
	}
}

func (mr *modelRun) get() {
	id, bad := mr.bindingTarget()
	op := "Get(" + mr.name(id) + ")"
	mr.log("%s", op)
	b, err := mr.e.s.Get(mr.t.Context(), id)
	i := mr.m.find(id)
	switch {
	case bad:
		_, want := validate.Default().BindingID(id)
		mr.expectErr(op, err, want)
	case i < 0:
		mr.expectErr(op, err, notFound(msgBindingNotFound(id)))
	default:
		mr.expect(op, err, catOK, "")
		if want := mr.m.live[i].b; b != want {
			mr.fail("%s returned\n%+v\nwant\n%+v", op, b, want)
		}
	}
}

func (mr *modelRun) changeRole() {
	id, badID := mr.bindingTarget()
	rc := rbac.RoleChange{RoleID: mr.randomRole()}
	badRole := mr.chance(0.06)
	if badRole {
		rc.RoleID = pick(mr.r, badIDs("Role", "User")).id
	}
	i := mr.m.find(id)
	precondition := "none"
	stale := false
	if x := mr.r.Float64(); x < 0.6 {
		var cur time.Time
		if i >= 0 {
			cur = mr.m.live[i].b.UpdatedAt
		} else {
			cur = clockStart
		}
		if x < 0.35 {
			// The current updated_at, spelled in another zone with a
			// sub-microsecond remainder: the same instant at the store's
			// precision.
			rc.IfUpdatedAt = cur.In(time.FixedZone("X", 3600*(1+mr.r.IntN(5)))).Add(time.Duration(mr.r.IntN(1000)))
			precondition = "current"
		} else {
			rc.IfUpdatedAt = cur.Add(time.Duration(1+mr.r.IntN(5)) * time.Microsecond * time.Duration(1-2*mr.r.IntN(2)))
			precondition, stale = "stale", true
		}
	}
	op := fmt.Sprintf("ChangeRole(%s, %s, precondition %s)", mr.name(id), mr.name(rc.RoleID), precondition)
	mr.log("%s", op)
	b, err := mr.e.s.ChangeRole(mr.t.Context(), id, rc)
	// The order of checks of the contract: input (id, then role_id), the
	// binding (404), the new role (404), the precondition (409).
	switch {
	case badID || badRole:
		if badID {
			mr.expect(op, err, catInvalid, "id")
		}
		if badRole {
			mr.expect(op, err, catInvalid, "role_id")
		}
		_, idErr := validate.Default().BindingID(id)
		_, rcErr := validate.Default().RoleChange(rc)
		mr.expectErr(op, err, rbac.JoinInvalid(idErr, rcErr))
	case i < 0:
		mr.expectErr(op, err, notFound(msgBindingNotFound(id)))
	case !mr.roleKnown(rc.RoleID):
		mr.expectErr(op, err, notFound(msgRoleNotFound(rc.RoleID)))
	case stale:
		mr.expectErr(op, err, conflict(msgBindingChanged(id, mr.m.live[i].b.UpdatedAt, rbac.StoreTime(rc.IfUpdatedAt))))
	default:
		mr.expect(op, err, catOK, "")
		mr.wrote(op, rc.RoleID != mr.m.live[i].b.RoleID)
		prev := mr.m.live[i].b
		want := prev
		if rc.RoleID != prev.RoleID {
			want.RoleID = rc.RoleID
			now := rbac.StoreTime(mr.e.clock.Now())
			switch {
			case now.After(prev.UpdatedAt):
				want.UpdatedAt = now
			case !b.UpdatedAt.After(prev.UpdatedAt):
				mr.fail("%s with the clock at %v, behind updated_at %v: updated_at became %v; want it strictly later than before", op, now, prev.UpdatedAt, b.UpdatedAt)
			default:
				want.UpdatedAt = b.UpdatedAt // the contract only says "later"
			}
		}
		if b != want {
			mr.fail("%s returned\n%+v\nwant\n%+v", op, b, want)
		}
		mr.m.live[i].b = want
	}
}

func (mr *modelRun) delete() {
	id, bad := mr.bindingTarget()
	op := "Delete(" + mr.name(id) + ")"
	mr.log("%s", op)
	err := mr.e.s.Delete(mr.t.Context(), id)
	i := mr.m.find(id)
	switch {
	case bad:
		_, want := validate.Default().BindingID(id)
		mr.expectErr(op, err, want)
	case i < 0:
		mr.expectErr(op, err, notFound(msgBindingNotFound(id)))
	default:
		mr.expect(op, err, catOK, "")
		mr.wrote(op, true)
		mr.m.live = slices.Delete(mr.m.live, i, i+1)
	}
}

// randomQuery returns list filters as sent and in canonical form.
func (mr *modelRun) randomQuery() (sent, canon rbac.ListQuery) {
	if mr.chance(0.6) {
		r, c := mr.randomResource()
		sent.ResourceType, canon.ResourceType = r.rt, c.rt
		if mr.chance(0.4) {
			sent.ResourceID, canon.ResourceID = r.id, c.id
		}
	}
	if mr.chance(0.4) {
		sent.UserID = mr.randomUser()
		canon.UserID = sent.UserID
	}
	if mr.chance(0.3) {
		sent.RoleID = mr.randomRole()
		canon.RoleID = sent.RoleID
	}
	return sent, canon
}

func (mr *modelRun) randomLimit() int { return pick(mr.r, []int{0, 1, 1, 2, 2, 3, 5, 100}) }

func (mr *modelRun) queryName(q rbac.ListQuery) string {
	var parts []string
	if q.ResourceType != "" {
		parts = append(parts, string(q.ResourceType))
	}
	for _, id := range []string{q.ResourceID, q.UserID, q.RoleID} {
		if id != "" {
			parts = append(parts, mr.name(id))
		}
	}
	parts = append(parts, "limit "+strconv.Itoa(q.Limit))
	return strings.Join(parts, " ")
}

func (mr *modelRun) listFirst() {
	sent, canon := mr.randomQuery()
	sent.Limit = mr.randomLimit()
	badField := ""
	switch x := mr.r.Float64(); {
	case x < 0.04:
		sent.Limit, badField = pick(mr.r, []int{-1, 101}), "limit"
	case x < 0.08:
		sent.UserID, badField = pick(mr.r, badIDs("User", "Role")[1:]).id, "user_id"
	}
	op := "List(" + mr.queryName(sent) + ")"
	mr.log("%s", op)
	p, err := mr.e.s.List(mr.t.Context(), sent)
	if badField != "" {
		mr.expect(op, err, catInvalid, badField)
		_, want := validate.Default().ListQuery(sent)
		mr.expectErr(op, err, want)
		return
	}
	mr.checkPage(op, &openList{sent: sent, canon: canon}, p, err)
}

// checkPage compares a page with the model's and keeps the list open when
// there is more.
func (mr *modelRun) checkPage(op string, l *openList, p rbac.Page, err error) {
	mr.t.Helper()
	mr.expect(op, err, catOK, "")
	limit := l.sent.Limit
	if limit == 0 {
		limit = rbac.DefaultLimit
	}
	want, more := mr.m.page(l.canon, l.after, limit)
	wantIDs := make([]string, len(want))
	for i, e := range want {
		wantIDs[i] = mr.name(e.b.ID)
	}
	gotIDs := make([]string, len(p.Bindings))
	for i, b := range p.Bindings {
		gotIDs[i] = mr.name(b.ID)
	}
	if !slices.Equal(gotIDs, wantIDs) || p.HasMore != more {
		mr.fail("%s returned %v, has_more %v; want %v, has_more %v", op, gotIDs, p.HasMore, wantIDs, more)
	}
	for i, e := range want {
		if p.Bindings[i] != e.b {
			mr.fail("%s returned\n%+v\nwant\n%+v", op, p.Bindings[i], e.b)
		}
	}
	mr.trace[len(mr.trace)-1] += fmt.Sprintf(" = %v more=%v", gotIDs, more)
	i := slices.Index(mr.open, l)
	switch {
	case more:
		l.cursor, l.after = p.NextCursor, want[len(want)-1].seq
		if i < 0 {
			mr.open = append(mr.open, l)
			if len(mr.open) > 4 {
				mr.open = mr.open[1:]
			}
		}
	case i >= 0:
		mr.open = slices.Delete(mr.open, i, i+1)
	}
}

func (mr *modelRun) listNext() {
	if len(mr.open) == 0 {
		mr.listFirst()
		return
	}
	l := pick(mr.r, mr.open)
	q := l.sent
	q.Cursor = l.cursor
	if mr.chance(0.3) {
		q.Limit = mr.randomLimit()
	}
	switch x := mr.r.Float64(); {
	case x < 0.05:
		q.Cursor = pick(mr.r, garble(l.cursor)).cursor
		op := "List(" + mr.queryName(q) + ", garbled cursor)"
		mr.log("%s", op)
		_, err := mr.e.s.List(mr.t.Context(), q)
		mr.expect(op, err, catInvalid, "cursor")
		return
	case x < 0.1:
		if q.RoleID == "" {
			q.RoleID = mr.randomRole()
		} else {
			q.RoleID = ""
		}
		op := "List(" + mr.queryName(q) + ", cursor of " + mr.queryName(l.sent) + ")"
		mr.log("%s", op)
		_, err := mr.e.s.List(mr.t.Context(), q)
		mr.expect(op, err, catInvalid, "cursor")
		return
	}
	op := "List(" + mr.queryName(q) + ", next page after " + strconv.Itoa(l.after) + ")"
	mr.log("%s", op)
	p, err := mr.e.s.List(mr.t.Context(), q)
	l.sent.Limit = q.Limit
	mr.checkPage(op, l, p, err)
}

func (mr *modelRun) deleteUser() {
	user := mr.randomUser()
	bad := mr.chance(0.1)
	if bad {
		user = pick(mr.r, badIDs("User", "Role")).id
	}
	op := "DeleteUserBindings(" + mr.name(user) + ")"
	mr.log("%s", op)
	n, err := mr.e.s.DeleteUserBindings(mr.t.Context(), user)
	if bad {
		_, want := validate.Default().UserID(user)
		mr.expectErr(op, err, want)
		return
	}
	mr.expect(op, err, catOK, "")
	want := mr.m.removeWhere(func(b rbac.Binding) bool { return b.UserID == user })
	if n != want {
		mr.fail("%s returned %d; want %d", op, n, want)
	}
	mr.wrote(op, want > 0)
	mr.trace[len(mr.trace)-1] += " = " + strconv.Itoa(n)
}

func (mr *modelRun) deleteResource() {
	sent, canon := mr.randomResource()
	badField := ""
	if mr.chance(0.1) {
		if mr.chance(0.5) {
			badField, sent.rt = "resource_type", pick(mr.r, []rbac.ResourceType{"", "space", "DATASET"})
		} else {
			wrong := map[rbac.ResourceType]string{rbac.Space: "Model", rbac.Project: "Space"}[sent.rt]
			right := map[rbac.ResourceType]string{rbac.Space: "Space", rbac.Project: "Model"}[sent.rt]
			badField, sent.id = "resource_id", pick(mr.r, badIDs(right, wrong)).id
		}
	}
	op := fmt.Sprintf("DeleteResourceBindings(%s %s)", sent.rt, mr.name(sent.id))
	mr.log("%s", op)
	n, err := mr.e.s.DeleteResourceBindings(mr.t.Context(), sent.rt, sent.id)
	if badField != "" {
		mr.expect(op, err, catInvalid, badField)
		_, want := validate.Default().Resource(sent.rt, sent.id)
		mr.expectErr(op, err, want)
		return
	}
	mr.expect(op, err, catOK, "")
	want := mr.m.removeWhere(func(b rbac.Binding) bool { return b.ResourceType == canon.rt && b.ResourceID == canon.id })
	if n != want {
		mr.fail("%s returned %d; want %d", op, n, want)
	}
	mr.wrote(op, want > 0)
	mr.trace[len(mr.trace)-1] += " = " + strconv.Itoa(n)
}

// checkAll compares the whole store with the model: every live binding
// listed in creation order and readable by ID, every deleted one gone.
func (mr *modelRun) checkAll() {
	mr.t.Helper()
	ctx := mr.t.Context()
	got := listAll(mr.t, ctx, mr.e, rbac.ListQuery{Limit: rbac.MaxLimit})
	want := make([]rbac.Binding, len(mr.m.live))
	for i, e := range mr.m.live {
		want[i] = e.b
	}
	if !slices.Equal(got, want) {
		mr.fail("the store holds\n%v\nwant\n%v", got, want)
	}
	for _, e := range mr.m.live {
		if b, err := mr.e.s.Get(ctx, e.b.ID); err != nil || b != e.b {
			mr.fail("Get(%s) = %+v, %v; want %+v", mr.name(e.b.ID), b, err, e.b)
		}
	}
	if mr.hasRoles {
		var got, want []string
		for _, r := range listAllRoles(mr.t, mr.e, rbac.MaxLimit) {
			if !r.Predefined {
				got = append(got, mr.name(r.ID))
			}
		}
		for _, c := range mr.custom {
			if c.live {
				want = append(want, mr.name(c.id))
			}
		}
		if !slices.Equal(got, want) {
			mr.fail("the store lists custom roles %v; want %v", got, want)
		}
	}
	mr.wrote("the checks of the whole store", false)
	// Deleted bindings stay deleted; a sample keeps long runs fast on
	// SQL stores.
	var gone []string
	for id := range mr.m.issued {
		if mr.m.find(id) < 0 {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for range min(len(gone), 20) {
		id := pick(mr.r, gone)
		if _, err := mr.e.s.Get(ctx, id); !isCategory(err, catNotFound) {
			mr.fail("Get(%s) of a deleted binding: %v; want not found", mr.name(id), err)
		}
	}
}
