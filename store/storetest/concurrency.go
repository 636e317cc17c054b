package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
)

// racers is how many goroutines race for one thing.
const racers = 32

// outcomes counts the categories of racing calls' results.
type outcomes map[category]int

// race runs call(i) for i in [0, racers) in as many goroutines, released
// at once, and counts the categories of their errors.
func race(call func(i int) error) outcomes {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count = outcomes{}
		start = make(chan struct{})
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			err := call(i)
			cat, _ := categorize(err)
			mu.Lock()
			count[cat]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return count
}

// wantOutcomes fails t unless exactly one call succeeded and every other
// got the category others.
func wantOutcomes(t *testing.T, got outcomes, others category, what string) {
	t.Helper()
	want := outcomes{catOK: 1, others: racers - 1}
	if !maps.Equal(got, want) {
		t.Fatalf("%d concurrent %s: outcomes %v; want exactly one success and %d %s, nothing else", racers, what, got, racers-1, others)
	}
}

func testConcurrency(t *testing.T, f Factory) {
	for _, c := range []struct {
		name string
		in   func(i int) rbac.NewBinding
	}{
		{"the same role", func(int) rbac.NewBinding { return nb(1, project(1), 1) }},
		{"different roles", func(i int) rbac.NewBinding { return nb(1, project(1), i) }},
		{"different roles and both project spellings", func(i int) rbac.NewBinding {
			r := project(1)
			if i%2 == 1 {
				r = resource{rbac.Project, projectAlias(1)}
			}
			return nb(1, r, i)
		}},
	} {
		run(t, "concurrent creates of one user and resource with "+c.name, f, func(t *testing.T, e *env) {
			is := is.New(t)
			ctx := t.Context()
			for round := range 3 {
				var (
					mu     sync.Mutex
					winner rbac.Binding
				)
				got := race(func(i int) error {
					in := c.in(i)
					in.UserID = userID(round)
					b, err := e.s.Create(ctx, in)
					if err == nil {
						mu.Lock()
						winner = b
						mu.Unlock()
					}
					return err
				})
				wantOutcomes(t, got, catConflict, "creates")
				all := listAll(t, ctx, e, rbac.ListQuery{UserID: userID(round)})
				is.Equal(all, []rbac.Binding{winner}) // the one binding stored is the one create returned
			}
		})
	}

	run(t, "concurrent role changes with one precondition", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		var (
			mu     sync.Mutex
			winner rbac.Binding
		)
		got := race(func(i int) error {
			after, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(100 + i), IfUpdatedAt: b.UpdatedAt})
			if err == nil {
				mu.Lock()
				winner = after
				mu.Unlock()
			}
			return err
		})
		wantOutcomes(t, got, catConflict, "role changes with the same precondition")
		stored, err := e.s.Get(ctx, b.ID)
		is.NoErr(err)            // get the binding
		is.Equal(stored, winner) // the stored binding is the one the winning change returned
	})

	run(t, "concurrent deletes of one binding", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		b := mustCreate(t, ctx, e, nb(1, space(1), 1))
		got := race(func(int) error { return e.s.Delete(ctx, b.ID) })
		wantOutcomes(t, got, catNotFound, "deletes of one binding")
	})

	run(t, "concurrent cascades of one user", f, func(t *testing.T, e *env) {
		is := is.New(t)
		ctx := t.Context()
		for i := range 40 {
			mustCreate(t, ctx, e, nb(1, space(i), 1))
			mustCreate(t, ctx, e, nb(2, space(i), 1))
		}
		var (
			mu    sync.Mutex
			total int
		)
		got := race(func(int) error {
			n, err := e.s.DeleteUserBindings(ctx, userID(1))
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
		is.Equal(got, outcomes{catOK: racers})                            // every cascade succeeds
		is.Equal(total, 40)                                               // the counts add up to the user's bindings: each removed once
		is.Equal(len(listAll(t, ctx, e, rbac.ListQuery{Limit: 100})), 40) // the other user's bindings remain
	})

	run(t, "concurrent creates of different slots", f, func(t *testing.T, e *env) {
		ctx := t.Context()
		const perGoroutine = 8
		var (
			mu   sync.Mutex
			made = map[string]bool{}
		)
		got := race(func(i int) error {
			for k := range perGoroutine {
				b, err := e.s.Create(ctx, nb(i, space(k), 1))
				if err != nil {
					return err
				}
				mu.Lock()
				dup := made[b.ID]
				made[b.ID] = true
				mu.Unlock()
				if dup {
					return fmt.Errorf("storetest: ID %s handed out twice", b.ID)
				}
			}
			return nil
		})
		if got[catOK] != racers {
			t.Fatalf("%d goroutines creating %d distinct bindings each: outcomes %v; want every create to succeed with a new ID", racers, perGoroutine, got)
		}
		listed := idsOf(listAll(t, ctx, e, rbac.ListQuery{Limit: 100}))
		if len(listed) != len(made) {
			t.Fatalf("after %d concurrent creates the store lists %d bindings; want %d", len(made), len(listed), len(made))
		}
		for _, id := range listed {
			if !made[id] {
				t.Fatalf("the store lists %s, which no create returned", id)
			}
		}
	})

	run(t, "mixed concurrent writes on a few slots keep one binding per slot", f, func(t *testing.T, e *env) {
		mixedWrites(t, e)
	})

	for _, size := range []int{1, 2, 5, 53, 100} {
		run(t, fmt.Sprintf("paging at size %d while others write", size), f, func(t *testing.T, e *env) {
			pagingUnderChurn(t, e, size)
		})
	}
}

// pagingUnderChurn pages through a store while one goroutine deletes
// bindings among those being paged, another changes the roles of the
// bindings that stay, and a third creates and deletes others. Bindings that
// exist for the whole paging must each appear exactly once, in creation
// order (a change of role does not move a binding); nothing may appear
// twice.
func pagingUnderChurn(t *testing.T, e *env, size int) {
	ctx := t.Context()
	const n = 150
	var stable, doomed []rbac.Binding
	for i := range 2 * n {
		b := mustCreate(t, ctx, e, nb(i, space(i%3), 1))
		if i%2 == 0 {
			stable = append(stable, b)
		} else {
			doomed = append(doomed, b)
		}
	}
	known, isStable := map[string]bool{}, map[string]bool{}
	for _, b := range stable {
		known[b.ID], isStable[b.ID] = true, true
	}
	for _, b := range doomed {
		known[b.ID] = true
	}

	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		mu      sync.Mutex
		churned []string
	)
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	wg.Go(func() { // deletes the doomed bindings in random order
		r := rand.New(rand.NewPCG(uint64(size), 1))
		for _, i := range r.Perm(len(doomed)) {
			if stopped() {
				return
			}
			if err := e.s.Delete(ctx, doomed[i].ID); err != nil {
				t.Errorf("churn: Delete: %v; want success", err)
				return
			}
			runtime.Gosched()
		}
	})
	wg.Go(func() { // changes the roles of the bindings that stay
		r := rand.New(rand.NewPCG(uint64(size), 2))
		for k := 0; k < 1000 && !stopped(); k++ {
			b := stable[r.IntN(len(stable))]
			if _, err := e.s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: roleID(1 + r.IntN(3))}); err != nil {
				t.Errorf("churn: ChangeRole: %v; want success", err)
				return
			}
			runtime.Gosched()
		}
	})
	wg.Go(func() { // creates bindings and deletes each soon after
		var prev string
		for k := 0; k < 1000 && !stopped(); k++ {
			b, err := e.s.Create(ctx, nb(100000+k, project(k%7), 1))
			if err != nil {
				t.Errorf("churn: Create: %v; want success", err)
				return
			}
			mu.Lock()
			churned = append(churned, b.ID)
			mu.Unlock()
			if prev != "" {
				if err := e.s.Delete(ctx, prev); err != nil {
					t.Errorf("churn: Delete: %v; want success", err)
					return
				}
			}
			prev = b.ID
			runtime.Gosched()
		}
	})

	pages := map[string][]string{}
	for _, q := range []rbac.ListQuery{{Limit: size}, {ResourceType: rbac.Space, Limit: size}} {
		pages[filterName(q)] = idsOf(listAll(t, ctx, e, q))
	}
	close(stop)
	wg.Wait()
	for _, id := range churned {
		known[id] = true
	}

	for name, got := range pages {
		seen := map[string]int{}
		var stableOrder []string
		for _, id := range got {
			seen[id]++
			if seen[id] == 2 {
				t.Fatalf("paging at size %d with %s while others write: binding %s listed twice; want no binding repeated", size, name, id)
			}
			if !known[id] {
				t.Fatalf("paging at size %d with %s while others write: listed %s, which no create returned", size, name, id)
			}
			if isStable[id] {
				stableOrder = append(stableOrder, id)
			}
		}
		if want := idsOf(stable); !slices.Equal(stableOrder, want) {
			t.Fatalf("paging at size %d with %s while others write: the bindings that existed throughout came as\n%v\nwant each exactly once in creation order:\n%v", size, name, stableOrder, want)
		}
	}
}

// mixedWrites runs creates, role changes, deletes and cascades from
// several goroutines on a handful of (user, resource) slots, so that every
// kind of write races with every other. Each call must succeed or fail
// with a category that its situation allows (never an internal error such
// as "database is locked"), no ID may be handed out twice, and afterwards
// the store must hold at most one binding per slot, each readable by ID.
func mixedWrites(t *testing.T, e *env) {
	ctx := t.Context()
	const (
		goroutines = 8
		opsEach    = 60
		users      = 3
	)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created = map[string]bool{}
	)
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			var mine []string
			for range opsEach {
				user := 1 + r.IntN(users)
				res := project(1 + r.IntN(2))
				if r.IntN(2) == 0 {
					res = resource{rbac.Project, projectAlias(1 + r.IntN(2))}
				}
				var (
					err  error
					what string
					ok   []category // the categories this call may end in
				)
				switch op := r.IntN(10); {
				case op < 4:
					var b rbac.Binding
					what, ok = "Create", []category{catOK, catConflict}
					b, err = e.s.Create(ctx, nb(user, res, 1+r.IntN(3)))
					if err == nil {
						mu.Lock()
						dup := created[b.ID]
						created[b.ID] = true
						mu.Unlock()
						if dup {
							t.Errorf("concurrent Create handed out ID %s twice; want a new ID every time", b.ID)
						}
						mine = append(mine, b.ID)
					}
				case op < 6 && len(mine) > 0:
					what, ok = "ChangeRole", []category{catOK, catNotFound}
					_, err = e.s.ChangeRole(ctx, mine[r.IntN(len(mine))], rbac.RoleChange{RoleID: roleID(1 + r.IntN(3))})
				case op < 8 && len(mine) > 0:
					what, ok = "Delete", []category{catOK, catNotFound}
					err = e.s.Delete(ctx, mine[r.IntN(len(mine))])
				case op < 9:
					what, ok = "DeleteUserBindings", []category{catOK}
					_, err = e.s.DeleteUserBindings(ctx, userID(user))
				default:
					what, ok = "DeleteResourceBindings", []category{catOK}
					_, err = e.s.DeleteResourceBindings(ctx, res.rt, res.id)
				}
				if cat, _ := categorize(err); !slices.Contains(ok, cat) {
					t.Errorf("concurrent %s: %s (error %v); want one of %v", what, cat, err, ok)
					return
				}
			}
		})
	}
	wg.Wait()

	all := listAll(t, ctx, e, rbac.ListQuery{Limit: 100})
	slots := map[[2]string]string{}
	for _, b := range all {
		slot := [2]string{b.UserID, b.ResourceID}
		if other, dup := slots[slot]; dup {
			t.Fatalf("after concurrent writes, bindings %s and %s both give user %s a role on %s; want at most one per user and resource", other, b.ID, b.UserID, b.ResourceID)
		}
		slots[slot] = b.ID
		if !created[b.ID] {
			t.Fatalf("after concurrent writes the store lists %s, which no create returned", b.ID)
		}
		got, err := e.s.Get(ctx, b.ID)
		if err != nil || got != b {
			t.Fatalf("after concurrent writes, Get(%s) = %+v, %v; want the listed binding %+v", b.ID, got, err, b)
		}
	}
}
