package check

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/sealed"
)

// Grant is one answer to a reverse question: a user who can do the
// permission on a resource, and the binding that lets them.
type Grant struct {
	UserID       string            `json:"user_id"`
	ResourceType rbac.ResourceType `json:"resource_type"`
	ResourceID   string            `json:"resource_id"`
	// BindingID and RoleID name the binding that grants the permission:
	// on the resource itself when there is one that does, else on the
	// project's space.
	BindingID string `json:"binding_id"`
	RoleID    string `json:"role_id"`
	// Inherited is true when the grant comes from the space binding.
	Inherited bool `json:"inherited"`
}

// GrantPage is one page of a reverse question.
type GrantPage struct {
	Grants []Grant `json:"grants"`
	// NextCursor fetches the next page; empty when HasMore is false.
	NextCursor string `json:"next_cursor,omitempty"`
	HasMore    bool   `json:"has_more"`
	// Revision is the index revision the page was read at.
	Revision uint64 `json:"revision"`
}

// WhoCan returns one page of the users who can do permission on the
// resource, counting space bindings and restrictions as a check does:
// exactly the users for whom [Checker.Check] says yes. Users come in the
// byte order of their IDs; each page continues after the last user of the
// previous one, so a user who can do it for the whole paging appears
// exactly once, whatever changes meanwhile.
//
// limit is 1 to 100, 0 meaning 50. Each page costs time proportional to
// the bindings on the resource and its space (the index keeps them in a
// list, not in ID order), which suits audits and admin screens, not the
// request path.
//
// Errors: ErrInvalid for an unknown permission, a bad resource, a limit
// out of range (field "limit") or a cursor that is garbled or was made for
// another question (field "cursor").
func (c *Checker) WhoCan(permission string, rt rbac.ResourceType, resourceID, cursor string, limit int) (GrantPage, error) {
	var errs rbac.FieldErrors
	bit, ok := c.vocab.Index(permission)
	if !ok {
		errs = append(errs, fieldErrors(unknownPermission(permission))...)
	}
	resourceID, err := c.val.Resource(rt, resourceID)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	limit = pageLimit(&errs, limit)
	q := "who\x00" + permission + "\x00" + string(rt) + "\x00" + resourceID
	after, err := c.openCursor(q, cursor)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	if err := errs.Err(); err != nil {
		return GrantPage{}, err
	}

	ix := c.ix.Load()
	ix.mu.RLock()
	var all []Grant
	if rn, ok := ix.resNum(resourceID); ok {
		r := &ix.resRecs[rn]
		seen := map[uint32]bool{}
		consider := func(users []uint32) {
			for _, un := range users {
				// Users up to the cursor were on earlier pages: skip
				// them before the work of explaining.
				if seen[un] || (after != "" && ix.userRecs[un].id <= after) {
					continue
				}
				seen[un] = true
				ex := ix.explain(un, rn, bit, c.prBit)
				if !ex.allowed {
					continue
				}
				all = append(all, ix.grantOf(un, rt, resourceID, ex))
			}
		}
		consider(r.users)
		if r.kind == kindProject && r.space != none {
			consider(ix.resRecs[r.space].users)
		}
	}
	rev := ix.rev
	ix.mu.RUnlock()
	return c.page(all, func(g Grant) string { return g.UserID }, q, after, limit, rev), nil
}

// ResourcesFor returns one page of the resources of type rt on which the
// user can do permission, counting space bindings and restrictions as a
// check does: exactly the known resources for which [Checker.Check] says
// yes. For projects, that includes every project linked to a space where
// the user's role holds the permission (unless restricted). Resources come
// in the byte order of their IDs, with the paging guarantees of
// [Checker.WhoCan].
//
// Errors: ErrInvalid for an unknown permission, a malformed user ID, a bad
// resource type, a limit out of range or a bad cursor.
func (c *Checker) ResourcesFor(userID, permission string, rt rbac.ResourceType, cursor string, limit int) (GrantPage, error) {
	var errs rbac.FieldErrors
	bit, ok := c.vocab.Index(permission)
	if !ok {
		errs = append(errs, fieldErrors(unknownPermission(permission))...)
	}
	userID, err := c.val.UserID(userID)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	if !rt.Valid() {
		errs.Add("resource_type", rbac.ReasonNotSupported, "must be SPACE or PROJECT")
	}
	limit = pageLimit(&errs, limit)
	q := "res\x00" + permission + "\x00" + string(rt) + "\x00" + userID
	after, err := c.openCursor(q, cursor)
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	if err := errs.Err(); err != nil {
		return GrantPage{}, err
	}

	ix := c.ix.Load()
	ix.mu.RLock()
	var all []Grant
	if un, ok := ix.userNum(userID); ok {
		want := kindOf(rt)
		seen := map[uint32]bool{}
		consider := func(rn uint32) {
			if seen[rn] || ix.resRecs[rn].kind != want || (after != "" && ix.resRecs[rn].id <= after) {
				return
			}
			seen[rn] = true
			if ex := ix.explain(un, rn, bit, c.prBit); ex.allowed {
				all = append(all, ix.grantOf(un, rt, ix.resRecs[rn].id, ex))
			}
		}
		grants := ix.userRecs[un].grants
		for _, g := range grants {
			consider(g.res)
		}
		if want == kindProject {
			for _, g := range grants {
				if s := &ix.resRecs[g.res]; s.kind == kindSpace && ix.roleRecs[g.role].perms.has(bit) {
					for _, pn := range s.projects {
						consider(pn)
					}
				}
			}
		}
	}
	rev := ix.rev
	ix.mu.RUnlock()
	return c.page(all, func(g Grant) string { return g.ResourceID }, q, after, limit, rev), nil
}

func (ix *index) grantOf(un uint32, rt rbac.ResourceType, resourceID string, ex explanation) Grant {
	return Grant{
		UserID:       ix.userRecs[un].id,
		ResourceType: rt,
		ResourceID:   resourceID,
		BindingID:    ex.g.id,
		RoleID:       ix.roleRecs[ex.g.role].id,
		Inherited:    ex.reason == Inherited,
	}
}

// page cuts one page from all, whose keys all come after the cursor's:
// the limit smallest keys, in order, and whether more follow. It keeps
// the limit+1 smallest in a bounded max-heap, so a page costs
// O(n log limit) rather than sorting every candidate.
func (c *Checker) page(all []Grant, key func(Grant) string, q, after string, limit int, rev uint64) GrantPage {
	all = smallest(all, limit+1, func(a, b Grant) int { return strings.Compare(key(a), key(b)) })
	p := GrantPage{Grants: all, Revision: rev}
	if len(all) > limit {
		p.Grants, p.HasMore = all[:limit:limit], true
		p.NextCursor = c.sealCursor(q, key(all[limit-1]))
	}
	if p.Grants == nil {
		p.Grants = []Grant{}
	}
	return p
}

// smallest returns the k smallest elements of s under cmp, sorted,
// reusing s's storage.
func smallest[T any](s []T, k int, cmp func(a, b T) int) []T {
	if len(s) <= k {
		slices.SortFunc(s, cmp)
		return s
	}
	// s[:k] is a max-heap of the k smallest seen so far.
	h := s[:k]
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			if r := l + 1; r < k && cmp(h[r], h[l]) > 0 {
				l = r
			}
			if cmp(h[l], h[i]) <= 0 {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, x := range s[k:] {
		if cmp(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}

func pageLimit(errs *rbac.FieldErrors, n int) int {
	switch {
	case n == 0:
		return rbac.DefaultLimit
	case n < 1 || n > rbac.MaxLimit:
		errs.Add("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d (0 means %d)", rbac.MaxLimit, rbac.DefaultLimit))
	}
	return n
}

// A reverse-question cursor is the last key of a page (a user or resource
// ID) and a digest of the question, sealed (package sealed). The key is
// public anyway (it was on the page); the seal makes a garbled or edited
// cursor, or one from another question, invalid input instead of a wrong
// page.
const (
	cursorVersion = 1
	cursorDigest  = 8
	maxCursor     = 1024
)

func (c *Checker) sealCursor(q, last string) string {
	b := make([]byte, 0, 1+cursorDigest+len(last))
	b = append(b, cursorVersion)
	b = append(b, digest(q)...)
	b = append(b, last...)
	return c.cursors.Seal(b)
}

// openCursor returns the key a cursor continues after; "" for no cursor.
func (c *Checker) openCursor(q, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	bad := func(why string) error {
		return rbac.Invalid("cursor", rbac.ReasonInvalid, "cursor is "+why+"; start again from the first page")
	}
	body, err := c.cursors.Open(cursor, maxCursor)
	switch {
	case errors.Is(err, sealed.ErrForged):
		return "", bad("garbled or not issued by this checker")
	case err != nil:
		return "", bad("garbled")
	case len(body) < 1+cursorDigest+1 || body[0] != cursorVersion:
		return "", bad("garbled or not issued by this checker")
	case !hmac.Equal(body[1:1+cursorDigest], digest(q)):
		return "", bad("made for another question")
	}
	return string(body[1+cursorDigest:]), nil
}

func digest(q string) []byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(q)))
	h.Write(n[:])
	h.Write([]byte(q))
	return h.Sum(nil)[:cursorDigest]
}
