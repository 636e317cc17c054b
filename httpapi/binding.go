package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
)

// The permissions of the binding routes.
const (
	permRead   = "ROLE_BINDING_READ"
	permCreate = perm.RoleBindingCreate
	permDelete = perm.RoleBindingDelete
)

// maxScanPages bounds the store pages one list request reads on behalf
// of an actor who may read only some of what matches (see "Lists" in the
// package documentation).
const maxScanPages = 20

func (h *handler) createBinding(w http.ResponseWriter, r *http.Request, p Principal) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	nb, err := h.val.DecodeCreate(data)
	if err != nil {
		return err
	}
	if !p.Admin {
		ok, err := h.c.Check(p.UserID, permCreate, nb.ResourceType, nb.ResourceID)
		if err != nil {
			return err
		}
		if !ok {
			return &check.Denied{Op: "create", Reason: check.MissingPermission, Missing: []string{permCreate},
				ActorID: p.UserID, ResourceType: nb.ResourceType, ResourceID: nb.ResourceID}
		}
		if err := h.c.CanCreateBinding(p.UserID, nb); err != nil {
			return roleNotFound(err, nb.RoleID)
		}
	}
	b, err := h.s.Create(r.Context(), nb)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.prefix+"/v2/role-bindings/"+url.PathEscape(b.ID))
	writeBinding(w, http.StatusCreated, b)
	return nil
}

// roleNotFound gives the guard's not-found error the store's words: the
// guard's own text carries its package prefix.
func roleNotFound(err error, roleID string) error {
	var d *check.Denied
	if errors.Is(err, rbac.ErrNotFound) && !errors.As(err, &d) {
		return rbac.NotFound("role %s not found", roleID)
	}
	return err
}

// readable returns the binding with the ID in the path, or not found when
// it does not exist or the actor lacks any of perms on its resource: a
// binding the actor may not see does not exist for it.
func (h *handler) readable(r *http.Request, p Principal, perms ...string) (rbac.Binding, error) {
	id, err := h.val.BindingID(r.PathValue("binding_id"))
	if err != nil {
		return rbac.Binding{}, err
	}
	b, err := h.s.Get(r.Context(), id)
	if err != nil || p.Admin {
		return b, err
	}
	for _, pm := range perms {
		ok, err := h.c.Check(p.UserID, pm, b.ResourceType, b.ResourceID)
		if err != nil {
			return rbac.Binding{}, err
		}
		if !ok {
			return rbac.Binding{}, rbac.NotFound("role binding %s not found", id)
		}
	}
	return b, nil
}

func (h *handler) getBinding(w http.ResponseWriter, r *http.Request, p Principal) error {
	b, err := h.readable(r, p, permRead)
	if err != nil {
		return err
	}
	writeBinding(w, http.StatusOK, b)
	return nil
}

func (h *handler) changeRole(w http.ResponseWriter, r *http.Request, p Principal) error {
	// Everything the request says is checked first, all of it at once:
	// the ID in the path, the precondition, the body.
	_, idErr := h.val.BindingID(r.PathValue("binding_id"))
	tags, tagErr := parseIfMatch(r.Header.Values("If-Match"))
	var c rbac.RoleChange
	data, err := readBody(r)
	if err == nil {
		c, err = h.val.DecodeUpdate(data)
	}
	var se *statusError
	if errors.As(err, &se) {
		return err
	}
	if err := rbac.JoinInvalid(idErr, tagErr, err); err != nil {
		return err
	}
	b, err := h.readable(r, p, permCreate, permDelete)
	if err != nil {
		return err
	}
	if !p.Admin {
		if err := h.c.CanChangeRole(p.UserID, b, c.RoleID); err != nil {
			if d := (*check.Denied)(nil); errors.As(err, &d) && d.Reason == check.MissingPermission {
				// The index moved between the two checks.
				return rbac.NotFound("role binding %s not found", b.ID)
			}
			return roleNotFound(err, c.RoleID)
		}
	}
	if tags != nil {
		if !tags.match(etag(b)) {
			return rbac.Conflict("role binding %s changed at %s: If-Match does not match its ETag %s", b.ID, rbac.FormatTime(b.UpdatedAt), etag(b))
		}
		if !tags.any {
			// The store checks again inside the write, so that a change
			// between the read above and the write is a conflict too.
			c.IfUpdatedAt = b.UpdatedAt
		}
	}
	b, err = h.s.ChangeRole(r.Context(), b.ID, c)
	if err != nil {
		return err
	}
	writeBinding(w, http.StatusOK, b)
	return nil
}

func (h *handler) deleteBinding(w http.ResponseWriter, r *http.Request, p Principal) error {
	b, err := h.readable(r, p, permDelete)
	if err != nil {
		return err
	}
	if !p.Admin {
		if err := h.c.CanDeleteBinding(p.UserID, b); err != nil {
			if d := (*check.Denied)(nil); errors.As(err, &d) && d.Reason == check.MissingPermission {
				return rbac.NotFound("role binding %s not found", b.ID)
			}
			return err
		}
	}
	if err := h.s.Delete(r.Context(), b.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) listBindings(w http.ResponseWriter, r *http.Request, p Principal) error {
	var errs rbac.FieldErrors
	qs := query(r, &errs, "resource_type", "user_id", "resource_id", "role_id", "limit", "cursor")
	n := limit(&errs, qs)
	q := rbac.ListQuery{
		ResourceType: rbac.ResourceType(qs["resource_type"]),
		UserID:       qs["user_id"],
		ResourceID:   qs["resource_id"],
		RoleID:       qs["role_id"],
		Limit:        n,
		Cursor:       qs["cursor"],
	}
	if q.ResourceType == "" && qs != nil {
		errs.Add("resource_type", rbac.ReasonRequired, "is required")
	}
	q2, err := h.val.ListQuery(q)
	if err := rbac.JoinInvalid(errs.Err(), err); err != nil {
		return err
	}
	q = q2
	var out []rbac.Binding
	var page rbac.Page
	for scanned := 0; ; scanned++ {
		q.Limit = n - len(out)
		page, err = h.s.List(r.Context(), q)
		if err != nil {
			return err
		}
		for _, b := range page.Bindings {
			if !p.Admin {
				ok, err := h.c.Check(p.UserID, permRead, b.ResourceType, b.ResourceID)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			out = append(out, b)
		}
		if !page.HasMore || len(out) == n || scanned+1 == maxScanPages {
			break
		}
		q.Cursor = page.NextCursor
	}
	bp := bufPool.Get().(*[]byte)
	buf := append((*bp)[:0], `{"role_bindings":[`...)
	for i, b := range out {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendBinding(buf, b)
	}
	buf = append(buf, `],"pagination":`...)
	buf = appendPagination(buf, page.HasMore, page.NextCursor)
	buf = append(buf, '}')
	writeJSON(w, http.StatusOK, buf)
	*bp = buf
	bufPool.Put(bp)
	return nil
}

func appendPagination(buf []byte, more bool, cursor string) []byte {
	if !more {
		return append(buf, `{"has_more":false}`...)
	}
	buf = append(buf, `{"has_more":true,"next_cursor":`...)
	buf = appendString(buf, cursor)
	return append(buf, '}')
}

// writeBinding writes one binding with its ETag.
func writeBinding(w http.ResponseWriter, status int, b rbac.Binding) {
	bp := bufPool.Get().(*[]byte)
	buf := appendETag((*bp)[:0], b)
	w.Header()["Etag"] = []string{string(buf)}
	buf = appendBinding(buf[:0], b)
	writeJSON(w, status, buf)
	*bp = buf
	bufPool.Put(bp)
}

// appendBinding writes b as CONTRACT.md's JSON form, as
// rbac.Binding.MarshalJSON does, without its reflection.
func appendBinding(buf []byte, b rbac.Binding) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, b.ID)
	buf = append(buf, `,"role_id":`...)
	buf = appendString(buf, b.RoleID)
	buf = append(buf, `,"user_id":`...)
	buf = appendString(buf, b.UserID)
	buf = append(buf, `,"resource_type":`...)
	buf = appendString(buf, string(b.ResourceType))
	buf = append(buf, `,"resource_id":`...)
	buf = appendString(buf, b.ResourceID)
	buf = append(buf, `,"created_at":"`...)
	buf = b.CreatedAt.UTC().AppendFormat(buf, rbac.TimeLayout)
	buf = append(buf, `","updated_at":"`...)
	buf = b.UpdatedAt.UTC().AppendFormat(buf, rbac.TimeLayout)
	return append(buf, `"}`...)
}

// etag is a binding's strong ETag: its updated_at in microseconds since
// the epoch. Entity tags are scoped to their URL, which holds the ID, and
// updated_at moves on every change of the binding (its role; nothing
// else of it can change), so the time alone tells versions apart.
func etag(b rbac.Binding) string { return string(appendETag(nil, b)) }

func appendETag(buf []byte, b rbac.Binding) []byte {
	buf = append(buf, '"')
	buf = strconv.AppendInt(buf, b.UpdatedAt.UnixMicro(), 10)
	return append(buf, '"')
}

// ifMatch is a parsed If-Match header: "*" or a list of entity tags.
type ifMatch struct {
	any  bool
	tags []string // strong tags, quotes included; weak ones never match
}

// match reports whether the header matches the current ETag, with the
// strong comparison that RFC 9110 prescribes for If-Match.
func (m *ifMatch) match(current string) bool {
	return m.any || contains(m.tags, current)
}

// parseIfMatch parses If-Match headers: nil when absent, a 400 on field
// "If-Match" when malformed.
func parseIfMatch(values []string) (*ifMatch, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := &ifMatch{}
	bad := rbac.Invalid("If-Match", rbac.ReasonInvalid, `must be "*" or a list of entity tags such as "1700000000000000"`)
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			weak := strings.HasPrefix(t, "W/")
			if weak {
				t = t[2:]
			}
			switch {
			case t == "*" && !weak:
				m.any = true
			case len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' && validETagChars(t[1:len(t)-1]):
				if !weak {
					m.tags = append(m.tags, t)
				}
			default:
				return nil, bad
			}
		}
	}
	return m, nil
}

// validETagChars reports whether s holds only etagc characters of RFC
// 9110: visible ASCII but the double quote, and obs-text.
func validETagChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}
