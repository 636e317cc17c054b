package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/rolebind/rbac"
)

// MaxPayload is the largest create or update payload accepted, in bytes.
// A real payload is a few hundred bytes; the cap bounds the work a hostile
// client can cause.
const MaxPayload = 16 << 10

// The keys of a create payload, and the keys the store sets.
var (
	createKeys = []string{"role_id", "user_id", "resource_type", "resource_id"}
	systemKeys = []string{"id", "created_at", "updated_at"}
)

// DecodeCreate decodes a create payload strictly and checks it: exactly a
// JSON object with string values for role_id, user_id, resource_type and
// resource_id. Unknown keys, duplicate keys, null, values of other JSON
// types, the system-managed keys id, created_at and updated_at, malformed
// JSON, trailing data after the object and payloads over [MaxPayload] are
// all rejected, every problem reported at once.
func (v *Validator) DecodeCreate(data []byte) (rbac.NewBinding, error) {
	vals, errs := decodeObject(data, createKeys, func(key string) (rbac.Reason, string, bool) {
		if contains(systemKeys, key) {
			return rbac.ReasonForbidden, "is set by the store and must not be sent", true
		}
		return "", "", false
	})
	if vals == nil {
		return rbac.NewBinding{}, errs.Err()
	}
	nb := rbac.NewBinding{
		RoleID:       vals["role_id"],
		UserID:       vals["user_id"],
		ResourceType: rbac.ResourceType(vals["resource_type"]),
		ResourceID:   vals["resource_id"],
	}
	nb, err := v.NewBinding(nb)
	return nb, merge(errs, err)
}

// DecodeUpdate decodes an update payload strictly and checks it: exactly a
// JSON object with one string value, role_id. Every other field of a
// binding is rejected as forbidden, since only the role can change; the
// other rules are those of [Validator.DecodeCreate].
func (v *Validator) DecodeUpdate(data []byte) (rbac.RoleChange, error) {
	vals, errs := decodeObject(data, []string{"role_id"}, func(key string) (rbac.Reason, string, bool) {
		switch {
		case contains(systemKeys, key):
			return rbac.ReasonForbidden, "is set by the store and must not be sent", true
		case contains(createKeys, key):
			return rbac.ReasonForbidden, "cannot change: only role_id can be updated", true
		}
		return "", "", false
	})
	if vals == nil {
		return rbac.RoleChange{}, errs.Err()
	}
	c, err := v.RoleChange(rbac.RoleChange{RoleID: vals["role_id"]})
	return c, merge(errs, err)
}

// ReadCreate reads a create payload from r, at most [MaxPayload] bytes,
// and decodes it with [Validator.DecodeCreate].
func (v *Validator) ReadCreate(r io.Reader) (rbac.NewBinding, error) {
	data, err := readCapped(r)
	if err != nil {
		return rbac.NewBinding{}, err
	}
	return v.DecodeCreate(data)
}

// ReadUpdate reads an update payload from r, at most [MaxPayload] bytes,
// and decodes it with [Validator.DecodeUpdate].
func (v *Validator) ReadUpdate(r io.Reader) (rbac.RoleChange, error) {
	data, err := readCapped(r)
	if err != nil {
		return rbac.RoleChange{}, err
	}
	return v.DecodeUpdate(data)
}

// readCapped reads r to the end, failing as invalid input past MaxPayload
// without reading more than one byte beyond it. A read error is internal
// (the client went away) and is passed through.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("validate: read payload: %w", err)
	}
	return data, nil
}

// decodeObject reads one JSON object whose known keys take string values.
// extra classifies the other keys: it returns the reason to reject a key
// that belongs to the binding but not to this payload; any key it does not
// claim is unknown. It returns nil values when the payload as a whole is
// unusable (malformed, not an object, too large).
func decodeObject(data []byte, known []string, extra func(string) (rbac.Reason, string, bool)) (map[string]string, rbac.FieldErrors) {
	vals, _, errs := decodeFields(data, known, nil, nil, extra)
	return vals, errs
}

// decodeFields is decodeObject for payloads that also have keys whose
// values are arrays of strings (a role's permissions): those keys, listed
// in lists, come back in the second map, with the rules of string values
// applied to each element. An empty array is kept as an empty, non-nil
// slice, so that callers can tell it from an absent key.
//
// A key of nullable may be null, which sets it to "": the public API's
// way of clearing an optional text (a role's description).
func decodeFields(data []byte, known, lists, nullable []string, extra func(string) (rbac.Reason, string, bool)) (map[string]string, map[string][]string, rbac.FieldErrors) {
	var errs rbac.FieldErrors
	if len(data) > MaxPayload {
		errs.Add("", rbac.ReasonTooLong, fmt.Sprintf("payload is larger than %d bytes", MaxPayload))
		return nil, nil, errs
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		errs.Add("", rbac.ReasonInvalid, malformed(err))
		return nil, nil, errs
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		errs.Add("", rbac.ReasonInvalid, "payload must be a JSON object")
		return nil, nil, errs
	}
	vals := map[string]string{}
	listVals := map[string][]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, rbac.FieldErrors{{Reason: rbac.ReasonInvalid, Message: malformed(err)}}
		}
		key := tok.(string) // inside an object, json.Decoder yields keys as strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, rbac.FieldErrors{{Reason: rbac.ReasonInvalid, Message: malformed(err)}}
		}
		if seen[key] {
			errs.Add(key, rbac.ReasonDuplicate, "appears more than once")
			delete(vals, key)
			delete(listVals, key)
			continue
		}
		seen[key] = true
		if contains(lists, key) {
			if l, ok := decodeStrings(&errs, key, raw); ok {
				listVals[key] = l
			}
			continue
		}
		if !contains(known, key) {
			if reason, msg, ok := extra(key); ok {
				errs.Add(key, reason, msg)
			} else {
				errs.Add(key, rbac.ReasonUnknownField, "is not a known field")
			}
			continue
		}
		switch raw[0] {
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				errs.Add(key, rbac.ReasonInvalid, "is not a valid JSON string")
				continue
			}
			if replaced(raw, s) {
				errs.Add(key, rbac.ReasonInvalid, "is not valid UTF-8")
				continue
			}
			vals[key] = s
		case 'n':
			if contains(nullable, key) {
				vals[key] = ""
				continue
			}
			errs.Add(key, rbac.ReasonRequired, "must not be null")
		default:
			errs.Add(key, rbac.ReasonWrongType, "must be a string, not "+jsonKind(raw[0]))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, rbac.FieldErrors{{Reason: rbac.ReasonInvalid, Message: malformed(err)}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, rbac.FieldErrors{{Reason: rbac.ReasonInvalid, Message: "trailing data after the JSON object"}}
	}
	return vals, listVals, errs
}

// decodeStrings reads a JSON array of strings for key, recording what is
// wrong with it, element by element, with the element's index.
func decodeStrings(errs *rbac.FieldErrors, key string, raw json.RawMessage) ([]string, bool) {
	switch raw[0] {
	case '[':
	case 'n':
		errs.Add(key, rbac.ReasonRequired, "must not be null")
		return nil, false
	case '"':
		errs.Add(key, rbac.ReasonWrongType, "must be an array of strings, not a string")
		return nil, false
	default:
		errs.Add(key, rbac.ReasonWrongType, "must be an array of strings, not "+jsonKind(raw[0]))
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		errs.Add(key, rbac.ReasonInvalid, "is not a valid JSON array")
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok := true
	for i, item := range items {
		var s string
		switch {
		case item[0] == '"' && json.Unmarshal(item, &s) == nil && replaced(item, s):
			errs.Add(key, rbac.ReasonInvalid, fmt.Sprintf("item %d is not valid UTF-8", i))
			ok = false
		case item[0] == '"' && json.Unmarshal(item, &s) == nil:
			out = append(out, s)
		case item[0] == '"':
			errs.Add(key, rbac.ReasonInvalid, fmt.Sprintf("item %d is not a valid JSON string", i))
			ok = false
		case item[0] == 'n':
			errs.Add(key, rbac.ReasonWrongType, fmt.Sprintf("item %d must be a string, not null", i))
			ok = false
		default:
			errs.Add(key, rbac.ReasonWrongType, fmt.Sprintf("item %d must be a string, not %s", i, jsonKind(item[0])))
			ok = false
		}
	}
	return out, ok
}

// replaced reports whether encoding/json replaced something in the JSON
// string raw by U+FFFD while decoding it to s: bytes that are not UTF-8,
// or an escaped lone surrogate (\ud800). The decoder does that silently,
// and a role name stored with a replacement character is not what the
// caller sent, so such input is refused instead. It compares the number of
// U+FFFD in s with the number raw really holds, written out or escaped.
func replaced(raw []byte, s string) bool {
	n := strings.Count(s, "\uFFFD")
	if n == 0 {
		return false
	}
	kept := 0
	for i := 0; i < len(raw); {
		switch r, size := utf8.DecodeRune(raw[i:]); {
		case r == utf8.RuneError && size <= 1:
			return true // a byte that is not UTF-8
		case r == '\\' && i+1 < len(raw) && raw[i+1] == 'u':
			if i+6 <= len(raw) && strings.EqualFold(string(raw[i+2:i+6]), "fffd") {
				kept++
			}
			i += 6
		case r == '\\':
			i += 2 // an escape of one character, such as \" or \\
		default:
			if r == utf8.RuneError {
				kept++ // U+FFFD written out
			}
			i += size
		}
	}
	return n != kept
}

// merge joins the JSON-level errors with those of the Go rules, dropping
// the rule errors for fields that already have a JSON-level one.
func merge(jsonErrs rbac.FieldErrors, ruleErr error) error {
	var ve *rbac.ValidationError
	if errors.As(ruleErr, &ve) {
		for _, fe := range ve.Fields {
			if !hasField(jsonErrs, fe.Field) {
				jsonErrs = append(jsonErrs, fe)
			}
		}
	}
	return jsonErrs.Err()
}

func hasField(errs rbac.FieldErrors, field string) bool {
	for _, fe := range errs {
		if fe.Field == field {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func malformed(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: unexpected end of input"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(first byte) string {
	switch first {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}
