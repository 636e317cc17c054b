package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/validate"
)

// RestrictionBody is a restricted project on the wire, as the public API
// spells it: the project as resource_id, resource_type PROJECT, and when
// it was restricted as created_at.
type RestrictionBody struct {
	ResourceID   string `json:"resource_id"`
	ResourceType string `json:"resource_type"`
	CreatedAt    string `json:"created_at"`
}

// NewRestrictionBody returns the wire body of r.
func NewRestrictionBody(r rbac.Restriction) RestrictionBody {
	return RestrictionBody{ResourceID: r.ProjectID, ResourceType: string(rbac.Project), CreatedAt: rbac.FormatTime(r.RestrictedAt)}
}

func (h *handler) restrict(w http.ResponseWriter, r *http.Request, p Principal) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	id, err := h.decodeRestriction(data)
	if err != nil {
		return err
	}
	if !p.Admin {
		if err := h.c.CanRestrictProject(p.UserID, id); err != nil {
			return err
		}
	}
	if err := h.s.RestrictProject(r.Context(), id); err != nil {
		return err
	}
	rec, err := h.findRestriction(r, id)
	if err != nil {
		return err
	}
	return writeValue(w, http.StatusOK, NewRestrictionBody(rec))
}

// findRestriction reads the record of a restricted project. The store
// has no lookup by project, so it walks the list of restrictions, which
// is short: projects are restricted by hand, one at a time.
func (h *handler) findRestriction(r *http.Request, id string) (rbac.Restriction, error) {
	q := rbac.RestrictedQuery{Limit: rbac.MaxLimit}
	for {
		page, err := h.s.ListRestricted(r.Context(), q)
		if err != nil {
			return rbac.Restriction{}, err
		}
		for _, rec := range page.Projects {
			if rec.ProjectID == id {
				return rec, nil
			}
		}
		if !page.HasMore {
			// Unrestricted again in between: the restriction stood when
			// the write returned.
			return rbac.Restriction{}, rbac.NotFound("project %s is not restricted", id)
		}
		q.Cursor = page.NextCursor
	}
}

func (h *handler) unrestrict(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := h.val.ID("resource_id", ids.Project, r.PathValue("resource_id"))
	if err != nil {
		return err
	}
	if !p.Admin {
		if err := h.c.CanUnrestrictProject(p.UserID, id); err != nil {
			return err
		}
	}
	if err := h.s.UnrestrictProject(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) listRestrictions(w http.ResponseWriter, r *http.Request, p Principal) error {
	var errs rbac.FieldErrors
	qs := query(r, &errs, "resource_type", "limit", "cursor")
	n := limit(&errs, qs)
	if rt, ok := qs["resource_type"]; ok && rt != string(rbac.Project) {
		errs.Add("resource_type", rbac.ReasonNotSupported, "must be PROJECT")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	out := []RestrictionBody{}
	q := rbac.RestrictedQuery{Cursor: qs["cursor"]}
	var page rbac.RestrictedPage
	for scanned := 0; ; scanned++ {
		q.Limit = n - len(out)
		var err error
		page, err = h.s.ListRestricted(r.Context(), q)
		if err != nil {
			return err
		}
		for _, rec := range page.Projects {
			if !p.Admin {
				ok, err := h.c.Check(p.UserID, "PROJECT_RESTRICT", rbac.Project, rec.ProjectID)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			out = append(out, NewRestrictionBody(rec))
		}
		if !page.HasMore || len(out) == n || scanned+1 == maxScanPages {
			break
		}
		q.Cursor = page.NextCursor
	}
	return writeValue(w, http.StatusOK, struct {
		Restrictions []RestrictionBody `json:"resource_restrictions"`
		Pagination   pagination        `json:"pagination"`
	}{out, pagination{page.HasMore, page.NextCursor}})
}

// decodeRestriction decodes {"resource_id": "..."} as strictly as the
// validate package decodes bindings: one JSON object, the one key, a
// string, nothing else; resource_type may be sent too, and must then be
// PROJECT, the only type that can be restricted.
func (h *handler) decodeRestriction(data []byte) (string, error) {
	var errs rbac.FieldErrors
	if len(data) > validate.MaxPayload {
		return "", rbac.Invalid("", rbac.ReasonTooLong, fmt.Sprintf("payload is larger than %d bytes", validate.MaxPayload))
	}
	malformed := rbac.Invalid("", rbac.ReasonInvalid, "malformed JSON: the payload must be one JSON object")
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", malformed
	}
	seen := map[string]bool{}
	var id string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", malformed
		}
		key := tok.(string) // inside an object, json.Decoder yields keys as strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", malformed
		}
		if seen[key] {
			errs.Add(key, rbac.ReasonDuplicate, "appears more than once")
			continue
		}
		seen[key] = true
		if key != "resource_id" && key != "resource_type" {
			if key == "created_at" {
				errs.Add(key, rbac.ReasonForbidden, "is set by the store and must not be sent")
			} else {
				errs.Add(key, rbac.ReasonUnknownField, "is not a known field")
			}
			continue
		}
		var s string
		switch {
		case raw[0] == 'n':
			errs.Add(key, rbac.ReasonRequired, "must not be null")
			continue
		case raw[0] != '"' || json.Unmarshal(raw, &s) != nil:
			errs.Add(key, rbac.ReasonWrongType, "must be a string")
			continue
		}
		if key == "resource_type" {
			if s != string(rbac.Project) {
				errs.Add(key, rbac.ReasonNotSupported, "must be PROJECT")
			}
			continue
		}
		id = s
		if _, err := h.val.ID("resource_id", ids.Project, s); err != nil {
			var ve *rbac.ValidationError
			errors.As(err, &ve)
			errs = append(errs, ve.Fields...)
		}
	}
	if _, err := dec.Token(); err != nil {
		return "", malformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", rbac.Invalid("", rbac.ReasonInvalid, "trailing data after the JSON object")
	}
	if !seen["resource_id"] {
		errs.Add("resource_id", rbac.ReasonRequired, "is required")
	}
	if err := errs.Err(); err != nil {
		return "", err
	}
	return h.val.ID("resource_id", ids.Project, id)
}
