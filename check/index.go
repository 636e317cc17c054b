package check

import (
	"fmt"
	"sync"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
)

// none marks "no number" in the index's uint32 links.
const none = ^uint32(0)

// The resource kinds, as the index stores them.
const (
	kindSpace   uint8 = 1
	kindProject uint8 = 2
)

func kindOf(rt rbac.ResourceType) uint8 {
	switch rt {
	case rbac.Space:
		return kindSpace
	case rbac.Project:
		return kindProject
	}
	return 0
}

// index is the in-memory state a Checker answers from.
//
// Every ID is interned to a small integer when a change is applied, so a
// check hashes each ID string of its question once (user, resource,
// permission) and everything after that is slice indexing: the user's
// grants are a short slice scanned for the resource number (a user has a
// handful of bindings; the scan touches one cache line or two), roles are
// bitsets in a slice, and the project's space and restriction flag sit in
// the resource's record, found by the same lookup that found its number.
//
// Reverse links (the users bound on a resource, the projects of a space)
// keep each entry's position in the other list, so that removing a binding
// or moving a project costs O(1) rather than a scan of a big space.
// Numbers are recycled when the last reference to an ID goes, so an index
// that lives through years of churn stays the size of the current state.
//
// mu guards everything: checks hold it for reading, applies for writing.
type index struct {
	mu  sync.RWMutex
	rev uint64

	users    map[string]userEntry
	userRecs []userRec
	freeUser []uint32

	res     map[string]resEntry
	resRecs []resRec
	freeRes []uint32

	roles    map[string]uint32
	roleRecs []roleRec
	freeRole []uint32

	bindings int
}

// grant is one binding, as its user sees it.
type grant struct {
	res  uint32
	role uint32
	pos  uint32 // the user's position in resRecs[res].users
	id   string // the binding ID, for explanations
}

type userRec struct {
	id     string
	grants []grant
}

// userEntry is what the user map holds: the user's number and, mirrored
// from its record, its grants, so that a check reaches them without
// another dependent load (which, in a big index, is another cache miss).
type userEntry struct {
	grants []grant
	n      uint32
}

// resEntry is what the resource map holds: the resource's number and,
// mirrored from its record, what a check needs of it.
type resEntry struct {
	n          uint32
	space      uint32
	kind       uint8
	restricted bool
}

type resRec struct {
	id         string
	kind       uint8
	restricted bool
	space      uint32   // projects: the space's number, or none
	spacePos   uint32   // projects: position in resRecs[space].projects
	users      []uint32 // users with a binding on the resource
	projects   []uint32 // spaces: the projects linked to the space
}

type roleRec struct {
	id         string
	name       string
	perms      permSet
	predefined bool
	exists     bool // false for a placeholder: a binding named a role not (yet) seen
	bound      int  // grants pointing at the role
}

func newIndex() *index {
	return &index{
		users: map[string]userEntry{},
		res:   map[string]resEntry{},
		roles: map[string]uint32{},
	}
}

// grantOn returns the position in the user's grants of its binding on
// resource rn, or -1.
func (u *userRec) grantOn(rn uint32) int {
	for i := range u.grants {
		if u.grants[i].res == rn {
			return i
		}
	}
	return -1
}

// userNum returns the number of a known user.
func (ix *index) userNum(id string) (uint32, bool) {
	e, ok := ix.users[id]
	return e.n, ok
}

// resNum returns the number of a known resource.
func (ix *index) resNum(id string) (uint32, bool) {
	e, ok := ix.res[id]
	return e.n, ok
}

// syncUser mirrors user n's grants into the user map after they changed
// length or moved.
func (ix *index) syncUser(n uint32) {
	u := &ix.userRecs[n]
	ix.users[u.id] = userEntry{grants: u.grants, n: n}
}

// syncRes mirrors resource n's check fields into the resource map.
func (ix *index) syncRes(n uint32) {
	r := &ix.resRecs[n]
	ix.res[r.id] = resEntry{n: n, space: r.space, kind: r.kind, restricted: r.restricted}
}

func (ix *index) internUser(id string) uint32 {
	if e, ok := ix.users[id]; ok {
		return e.n
	}
	var n uint32
	if k := len(ix.freeUser); k > 0 {
		n = ix.freeUser[k-1]
		ix.freeUser = ix.freeUser[:k-1]
		ix.userRecs[n] = userRec{id: id}
	} else {
		n = uint32(len(ix.userRecs))
		ix.userRecs = append(ix.userRecs, userRec{id: id})
	}
	ix.users[id] = userEntry{n: n}
	return n
}

func (ix *index) releaseUser(n uint32) {
	if len(ix.userRecs[n].grants) > 0 {
		return
	}
	delete(ix.users, ix.userRecs[n].id)
	ix.userRecs[n] = userRec{}
	ix.freeUser = append(ix.freeUser, n)
}

func (ix *index) internRes(id string, kind uint8) (uint32, error) {
	if e, ok := ix.res[id]; ok {
		n := e.n
		if ix.resRecs[n].kind != kind {
			return 0, fmt.Errorf("check: resource %s is used as two resource types", id)
		}
		return n, nil
	}
	rec := resRec{id: id, kind: kind, space: none}
	var n uint32
	if k := len(ix.freeRes); k > 0 {
		n = ix.freeRes[k-1]
		ix.freeRes = ix.freeRes[:k-1]
		ix.resRecs[n] = rec
	} else {
		n = uint32(len(ix.resRecs))
		ix.resRecs = append(ix.resRecs, rec)
	}
	ix.syncRes(n)
	return n, nil
}

func (ix *index) releaseRes(n uint32) {
	r := &ix.resRecs[n]
	if len(r.users) > 0 || len(r.projects) > 0 || r.space != none || r.restricted {
		return
	}
	delete(ix.res, r.id)
	*r = resRec{}
	ix.freeRes = append(ix.freeRes, n)
}

func (ix *index) internRole(id string) uint32 {
	if n, ok := ix.roles[id]; ok {
		return n
	}
	var n uint32
	if k := len(ix.freeRole); k > 0 {
		n = ix.freeRole[k-1]
		ix.freeRole = ix.freeRole[:k-1]
		ix.roleRecs[n] = roleRec{id: id}
	} else {
		n = uint32(len(ix.roleRecs))
		ix.roleRecs = append(ix.roleRecs, roleRec{id: id})
	}
	ix.roles[id] = n
	return n
}

func (ix *index) releaseRole(n uint32) {
	r := &ix.roleRecs[n]
	if r.exists || r.bound > 0 {
		return
	}
	delete(ix.roles, r.id)
	*r = roleRec{}
	ix.freeRole = append(ix.freeRole, n)
}

// putRole creates or replaces a role. Permissions outside the vocabulary
// are dropped: no check can ask for them (asking is invalid input), so
// they could never grant anything.
func (ix *index) putRole(v *perm.Vocabulary, r rbac.Role) error {
	if r.ID == "" {
		return fmt.Errorf("check: role change without a role id")
	}
	n := ix.internRole(r.ID)
	rec := &ix.roleRecs[n]
	rec.perms = setOf(v, r.Permissions)
	rec.name = r.Name
	rec.predefined = r.Predefined
	rec.exists = true
	return nil
}

// dropRole deletes a role. A role with bindings cannot be deleted in a
// store; should a change say otherwise, the role keeps its number as a
// placeholder without permissions, so its bindings grant nothing.
func (ix *index) dropRole(id string) {
	n, ok := ix.roles[id]
	if !ok {
		return
	}
	rec := &ix.roleRecs[n]
	rec.exists, rec.perms, rec.name = false, permSet{}, ""
	ix.releaseRole(n)
}

// putBinding creates a binding, or replaces the user's binding on the
// resource (a role change).
func (ix *index) putBinding(b rbac.Binding) error {
	kind := kindOf(b.ResourceType)
	if b.ID == "" || b.UserID == "" || b.ResourceID == "" || b.RoleID == "" || kind == 0 {
		return fmt.Errorf("check: binding change with missing fields: %+v", b)
	}
	rn, err := ix.internRes(b.ResourceID, kind)
	if err != nil {
		return err
	}
	un := ix.internUser(b.UserID)
	role := ix.internRole(b.RoleID)
	u := &ix.userRecs[un]
	if i := u.grantOn(rn); i >= 0 {
		g := &u.grants[i]
		ix.roleRecs[g.role].bound--
		old := g.role
		g.role, g.id = role, b.ID
		ix.roleRecs[role].bound++
		ix.releaseRole(old)
		return nil
	}
	r := &ix.resRecs[rn]
	u.grants = append(u.grants, grant{res: rn, role: role, pos: uint32(len(r.users)), id: b.ID})
	ix.syncUser(un)
	r.users = append(r.users, un)
	ix.roleRecs[role].bound++
	ix.bindings++
	return nil
}

// removeGrant removes the i-th grant of user un, and frees whatever is
// left unreferenced except the user itself (callers loop over a user's
// grants).
func (ix *index) removeGrant(un uint32, i int) {
	u := &ix.userRecs[un]
	g := u.grants[i]
	r := &ix.resRecs[g.res]
	last := len(r.users) - 1
	moved := r.users[last]
	r.users[g.pos] = moved
	r.users = r.users[:last]
	if moved != un {
		m := &ix.userRecs[moved]
		m.grants[m.grantOn(g.res)].pos = g.pos
	}
	k := len(u.grants) - 1
	u.grants[i] = u.grants[k]
	u.grants[k] = grant{}
	u.grants = u.grants[:k]
	ix.syncUser(un)
	ix.bindings--
	ix.roleRecs[g.role].bound--
	ix.releaseRole(g.role)
	ix.releaseRes(g.res)
}

func (ix *index) deleteBinding(b rbac.Binding) {
	un, ok := ix.userNum(b.UserID)
	if !ok {
		return
	}
	rn, ok := ix.resNum(b.ResourceID)
	if !ok {
		return
	}
	if i := ix.userRecs[un].grantOn(rn); i >= 0 {
		ix.removeGrant(un, i)
		ix.releaseUser(un)
	}
}

func (ix *index) deleteUserBindings(userID string) {
	un, ok := ix.userNum(userID)
	if !ok {
		return
	}
	for k := len(ix.userRecs[un].grants); k > 0; k-- {
		ix.removeGrant(un, k-1)
	}
	ix.releaseUser(un)
}

func (ix *index) deleteResourceBindings(resourceID string) {
	rn, ok := ix.resNum(resourceID)
	if !ok {
		return
	}
	// removeGrant may free the record when the last binding goes; a freed
	// record has no users, which ends the loop.
	for len(ix.resRecs[rn].users) > 0 {
		users := ix.resRecs[rn].users
		un := users[len(users)-1]
		ix.removeGrant(un, ix.userRecs[un].grantOn(rn))
		ix.releaseUser(un)
	}
}

// setSpace links project projectID to space spaceID, moving it if it was
// linked to another.
func (ix *index) setSpace(projectID, spaceID string) error {
	if projectID == "" || spaceID == "" {
		return fmt.Errorf("check: project space change with missing ids")
	}
	pn, err := ix.internRes(projectID, kindProject)
	if err != nil {
		return err
	}
	sn, err := ix.internRes(spaceID, kindSpace)
	if err != nil {
		return err
	}
	if ix.resRecs[pn].space == sn {
		return nil
	}
	ix.unlinkSpace(pn)
	s := &ix.resRecs[sn]
	p := &ix.resRecs[pn]
	p.space, p.spacePos = sn, uint32(len(s.projects))
	s.projects = append(s.projects, pn)
	ix.syncRes(pn)
	return nil
}

func (ix *index) unlinkSpace(pn uint32) {
	p := &ix.resRecs[pn]
	old := p.space
	if old == none {
		return
	}
	s := &ix.resRecs[old]
	last := len(s.projects) - 1
	moved := s.projects[last]
	s.projects[p.spacePos] = moved
	ix.resRecs[moved].spacePos = p.spacePos
	s.projects = s.projects[:last]
	p.space, p.spacePos = none, 0
	ix.syncRes(pn)
	ix.releaseRes(old)
}

func (ix *index) setRestricted(projectID string, on bool) error {
	if projectID == "" {
		return fmt.Errorf("check: restriction change without a project id")
	}
	if !on {
		if pn, ok := ix.resNum(projectID); ok {
			ix.resRecs[pn].restricted = false
			ix.syncRes(pn)
			ix.releaseRes(pn)
		}
		return nil
	}
	pn, err := ix.internRes(projectID, kindProject)
	if err != nil {
		return err
	}
	ix.resRecs[pn].restricted = true
	ix.syncRes(pn)
	return nil
}

// apply makes one change. Changes are applied by one writer at a time,
// under mu.
func (ix *index) apply(v *perm.Vocabulary, ch store.Change) error {
	switch ch.Kind {
	case store.BindingCreated, store.BindingRoleChanged:
		return ix.putBinding(ch.Binding)
	case store.BindingDeleted:
		ix.deleteBinding(ch.Binding)
	case store.UserBindingsDeleted:
		ix.deleteUserBindings(ch.Binding.UserID)
	case store.ResourceBindingsDeleted:
		ix.deleteResourceBindings(ch.Binding.ResourceID)
	case store.RoleCreated, store.RoleUpdated:
		return ix.putRole(v, ch.Role)
	case store.RoleDeleted:
		ix.dropRole(ch.Role.ID)
	case store.ProjectSpaceSet:
		return ix.setSpace(ch.ProjectID, ch.SpaceID)
	case store.ProjectRestricted:
		return ix.setRestricted(ch.ProjectID, true)
	case store.ProjectUnrestricted:
		return ix.setRestricted(ch.ProjectID, false)
	default:
		return fmt.Errorf("check: unknown change kind %v", ch.Kind)
	}
	return nil
}
