package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/validate"
)

// readBody reads a JSON request body: 415 unless the Content-Type is
// application/json (a charset parameter, UTF-8, is fine), and at most one
// byte over [validate.MaxPayload], so that the decoders report a body
// over the cap as invalid input without the server reading the rest.
func readBody(r *http.Request) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, &statusError{status: http.StatusUnsupportedMediaType, detail: "the body must be application/json"}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return nil, &statusError{status: http.StatusUnsupportedMediaType, detail: "the body must be application/json, UTF-8, with no parameter but charset"}
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, validate.MaxPayload+1))
	if err != nil {
		return nil, rbac.Invalid("", rbac.ReasonInvalid, "the body could not be read")
	}
	return data, nil
}

// query reads the query string: each parameter at most once, and only the
// ones in known, so that a misspelt filter is an error rather than a
// list of everything. An empty value counts as absent.
func query(r *http.Request, errs *rbac.FieldErrors, known ...string) map[string]string {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		errs.Add("", rbac.ReasonInvalid, "the query string is malformed")
		return nil
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		switch {
		case !contains(known, k):
			errs.Add(k, rbac.ReasonUnknownField, "is not a known query parameter")
		case len(v) > 1:
			errs.Add(k, rbac.ReasonDuplicate, "appears more than once")
		case !utf8.ValidString(v[0]):
			errs.Add(k, rbac.ReasonInvalid, "is not valid UTF-8")
		case v[0] != "":
			out[k] = v[0]
		}
	}
	return out
}

// limit reads the limit parameter: 1 to 100, 50 when absent. Unlike the
// Go API, 0 is not the default here: the wire contract says so.
func limit(errs *rbac.FieldErrors, q map[string]string) int {
	s, ok := q["limit"]
	if !ok {
		return rbac.DefaultLimit
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && len(s) > 0 && strings.Trim(s, "-+0123456789") == "":
		errs.Add("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d", rbac.MaxLimit))
	case err != nil:
		errs.Add("limit", rbac.ReasonWrongType, "must be a whole number")
	case n < 1 || n > rbac.MaxLimit:
		errs.Add("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d", rbac.MaxLimit))
	default:
		return n
	}
	return rbac.DefaultLimit
}

// sealCursor binds a store cursor to a filter the store does not know
// (is_predefined), so that a cursor of one filter is refused with
// another, and a tampered one is refused at all.
func (h *handler) sealCursor(filter, cursor string) string {
	if cursor == "" {
		return ""
	}
	return cursor + "." + h.cursorTag(filter, cursor)
}

// openCursor returns the store cursor that sealed carries, or a 400 on
// field "cursor".
func (h *handler) openCursor(filter, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	i := strings.LastIndexByte(sealed, '.')
	if i < 0 || len(sealed) > 256 || !hmac.Equal([]byte(sealed[i+1:]), []byte(h.cursorTag(filter, sealed[:i]))) {
		return "", rbac.Invalid("cursor", rbac.ReasonInvalid, "cursor is garbled or made for a list with other filters; start again from the first page")
	}
	return sealed[:i], nil
}

func (h *handler) cursorTag(filter, cursor string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(filter))
	m.Write([]byte{0})
	m.Write([]byte(cursor))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// appendString appends s as a JSON string. IDs and enum values are plain
// ASCII, so the common case copies bytes.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigit[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"
