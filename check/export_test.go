package check

import (
	"fmt"

	"github.com/rolebind/rbac/store"
)

// BindingCount returns the number of bindings in the checker's index.
func BindingCount(c *Checker) int { return c.bindingCount() }

// ApplyUnchecked applies a change to the index as it is, without the
// checks of Apply, so that a test can give the index a state no checked
// change can (a resource ID whose type disagrees with its resource type)
// and show that no question then loops.
func ApplyUnchecked(c *Checker, ch store.Change) error {
	ix := c.ix.Load()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.apply(c.vocab, ch); err != nil {
		return err
	}
	ix.rev = ch.Revision
	return nil
}

// VerifyIndex checks every invariant of the checker's index: the maps and
// their mirrors agree with the records, and every back-pointer points
// back. Tests run it after each random change.
func VerifyIndex(c *Checker) error {
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.verify()
}

func (ix *index) verify() error {
	grants := 0
	bound := map[uint32]int{}
	for id, e := range ix.users {
		u := &ix.userRecs[e.n]
		switch {
		case u.id != id:
			return fmt.Errorf("user %s maps to record of %s", id, u.id)
		case len(u.grants) == 0:
			return fmt.Errorf("user %s has no grants but is interned", id)
		case len(e.grants) != len(u.grants) || &e.grants[0] != &u.grants[0]:
			return fmt.Errorf("user %s: mirrored grants differ from the record", id)
		}
		for i, g := range u.grants {
			r := &ix.resRecs[g.res]
			if int(g.pos) >= len(r.users) || r.users[g.pos] != e.n {
				return fmt.Errorf("user %s grant %d: resource %s does not list the user at %d", id, i, r.id, g.pos)
			}
			for j := range i {
				if u.grants[j].res == g.res {
					return fmt.Errorf("user %s has two grants on %s", id, r.id)
				}
			}
			if rid := ix.roleRecs[g.role].id; rid == "" || ix.roles[rid] != g.role {
				return fmt.Errorf("user %s grant %d: role %d is not interned", id, i, g.role)
			}
			bound[g.role]++
			grants++
		}
	}
	if grants != ix.bindings {
		return fmt.Errorf("%d grants, but the count says %d", grants, ix.bindings)
	}
	for id, e := range ix.res {
		r := &ix.resRecs[e.n]
		switch {
		case r.id != id:
			return fmt.Errorf("resource %s maps to record of %s", id, r.id)
		case e.kind != r.kind || e.space != r.space || e.restricted != r.restricted:
			return fmt.Errorf("resource %s: mirrored fields differ from the record", id)
		case len(r.users) == 0 && len(r.projects) == 0 && r.space == none && !r.restricted:
			return fmt.Errorf("resource %s is interned with nothing referring to it", id)
		}
		for pos, un := range r.users {
			u := &ix.userRecs[un]
			i := u.grantOn(e.n)
			if i < 0 || int(u.grants[i].pos) != pos {
				return fmt.Errorf("resource %s lists user %s at %d without a matching grant", id, u.id, pos)
			}
		}
		for pos, pn := range r.projects {
			if p := &ix.resRecs[pn]; p.space != e.n || int(p.spacePos) != pos || p.kind != kindProject {
				return fmt.Errorf("space %s lists project %s at %d, which does not point back", id, p.id, pos)
			}
		}
		if r.space != none {
			s := &ix.resRecs[r.space]
			if s.kind != kindSpace || int(r.spacePos) >= len(s.projects) || s.projects[r.spacePos] != e.n {
				return fmt.Errorf("project %s points at space %s, which does not list it", id, s.id)
			}
		}
	}
	for id, n := range ix.roles {
		r := &ix.roleRecs[n]
		if r.id != id || r.bound != bound[n] || (!r.exists && r.bound == 0) {
			return fmt.Errorf("role %s: record %q, bound %d, counted %d, exists %v", id, r.id, r.bound, bound[n], r.exists)
		}
	}
	for _, n := range ix.freeUser {
		if ix.userRecs[n].id != "" {
			return fmt.Errorf("free user number %d is in use", n)
		}
	}
	for _, n := range ix.freeRes {
		if ix.resRecs[n].id != "" {
			return fmt.Errorf("free resource number %d is in use", n)
		}
	}
	return nil
}
