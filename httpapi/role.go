package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
)

// RoleBody is a role on the wire: rbac.Role's JSON form, but with the
// description left out when empty, as the public API does. The core's
// form keeps every field present (CONTRACT.md), so the difference lives
// here, at the one place that speaks the public API; the command line
// prints the same body.
type RoleBody struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
	Predefined  bool     `json:"is_predefined"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// NewRoleBody returns the wire body of r.
func NewRoleBody(r rbac.Role) RoleBody {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return RoleBody{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: perms,
		Predefined: r.Predefined, CreatedAt: rbac.FormatTime(r.CreatedAt), UpdatedAt: rbac.FormatTime(r.UpdatedAt)}
}

func writeValue(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	writeJSON(w, status, body)
	return nil
}

// errNotAdmin refuses a role change by anyone but an account
// administrator: a role's permissions widen access for every holder.
var errNotAdmin = &statusError{status: http.StatusForbidden, detail: "only an account administrator may create, update or delete roles"}

func (h *handler) listRoles(w http.ResponseWriter, r *http.Request, p Principal) error {
	var errs rbac.FieldErrors
	qs := query(r, &errs, "is_predefined", "limit", "cursor")
	n := limit(&errs, qs)
	filter := "all"
	switch v, ok := qs["is_predefined"]; {
	case !ok:
	case v == "true" || v == "false":
		filter = v
	default:
		errs.Add("is_predefined", rbac.ReasonNotSupported, "must be true or false")
	}
	cursor, cerr := h.openCursor("roles:"+filter, qs["cursor"])
	if err := rbac.JoinInvalid(errs.Err(), cerr); err != nil {
		return err
	}
	out := []RoleBody{}
	q := rbac.RoleQuery{Cursor: cursor}
	var page rbac.RolePage
	for scanned := 0; ; scanned++ {
		q.Limit = n - len(out)
		var err error
		page, err = h.s.ListRoles(r.Context(), q)
		if err != nil {
			return err
		}
		for _, role := range page.Roles {
			if filter == "all" || (filter == "true") == role.Predefined {
				out = append(out, NewRoleBody(role))
			}
		}
		if !page.HasMore || len(out) == n || scanned+1 == maxScanPages {
			break
		}
		q.Cursor = page.NextCursor
	}
	return writeValue(w, http.StatusOK, struct {
		Roles      []RoleBody `json:"roles"`
		Pagination pagination `json:"pagination"`
	}{out, pagination{page.HasMore, h.sealCursor("roles:"+filter, page.NextCursor)}})
}

// pagination is the paging object of every list.
type pagination struct {
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (h *handler) roleID(r *http.Request) (string, error) {
	return h.val.ID("id", ids.Role, r.PathValue("role_id"))
}

func (h *handler) getRole(w http.ResponseWriter, r *http.Request, _ Principal) error {
	id, err := h.roleID(r)
	if err != nil {
		return err
	}
	role, err := h.s.GetRole(r.Context(), id)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, NewRoleBody(role))
}

func (h *handler) createRole(w http.ResponseWriter, r *http.Request, p Principal) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	nr, err := h.val.DecodeNewRole(h.vocab, data)
	if err != nil {
		return err
	}
	if !p.Admin {
		return errNotAdmin
	}
	role, err := h.s.CreateRole(r.Context(), nr)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.prefix+"/v2/roles/"+url.PathEscape(role.ID))
	return writeValue(w, http.StatusCreated, NewRoleBody(role))
}

func (h *handler) updateRole(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, idErr := h.roleID(r)
	var u rbac.RoleUpdate
	data, err := readBody(r)
	if err != nil {
		return err
	}
	u, err = h.val.DecodeRoleUpdate(h.vocab, data)
	if err := rbac.JoinInvalid(idErr, err); err != nil {
		return err
	}
	if !p.Admin {
		return errNotAdmin
	}
	role, err := h.s.UpdateRole(r.Context(), id, u)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, NewRoleBody(role))
}

func (h *handler) deleteRole(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := h.roleID(r)
	if err != nil {
		return err
	}
	if !p.Admin {
		return errNotAdmin
	}
	if err := h.s.DeleteRole(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
