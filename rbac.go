package rbac

import (
	"errors"
	"fmt"
	"strings"
)

// The three error categories. Every error the library returns for a caller's
// mistake matches exactly one of them under [errors.Is]; anything else (a
// storage failure, a cancelled context) is internal and is passed through
// wrapped, never dressed up as one of these.
var (
	// ErrInvalid is returned for bad input of any kind: a missing or malformed
	// field, a non-canonical ID, an unknown JSON key, a garbled cursor. The
	// error is a [*ValidationError] that names every field at fault. HTTP 400.
	ErrInvalid = errors.New("rbac: invalid input")

	// ErrNotFound is returned when a well-formed ID names nothing. HTTP 404.
	ErrNotFound = errors.New("rbac: not found")

	// ErrConflict is returned when a write would break uniqueness (a second
	// binding for one user and resource) or an update precondition failed
	// because the binding changed since the caller read it. HTTP 409.
	ErrConflict = errors.New("rbac: conflict")

	// ErrForbidden is returned by the escalation guard of package check
	// when an actor may not make an access change: creating, re-roling or
	// deleting a binding without the permissions the public API requires,
	// or granting more than the actor holds. Stores never return it: a
	// store keeps the data rules, and who may change access is the host's
	// question, asked of the guard before the write. HTTP 403.
	ErrForbidden = errors.New("rbac: forbidden")
)

// Reason is the machine-readable part of a [FieldError]: what kind of thing
// is wrong with the field. Clients switch on it; they never parse messages.
type Reason string

// The reasons a field can be rejected for.
const (
	// ReasonRequired: the field is missing, null or empty.
	ReasonRequired Reason = "required"
	// ReasonInvalid: the value is present but malformed, such as an ID that
	// is not canonical base64 or that encodes the wrong type.
	ReasonInvalid Reason = "invalid"
	// ReasonNotSupported: the value is well formed but not one of the
	// allowed values, such as a resource_type other than SPACE or PROJECT.
	ReasonNotSupported Reason = "not_supported"
	// ReasonForbidden: the field exists but the caller may not set it, such
	// as id or created_at on create, or user_id on update.
	ReasonForbidden Reason = "forbidden"
	// ReasonUnknownField: the key is not part of the payload at all.
	ReasonUnknownField Reason = "unknown_field"
	// ReasonDuplicate: the key appears more than once in one JSON object.
	ReasonDuplicate Reason = "duplicate"
	// ReasonWrongType: the JSON value has the wrong type, such as a number
	// where a string belongs.
	ReasonWrongType Reason = "wrong_type"
	// ReasonTooLong: the value or payload is longer than the limit.
	ReasonTooLong Reason = "too_long"
	// ReasonOutOfRange: a number outside its allowed range, such as a list
	// limit of 500.
	ReasonOutOfRange Reason = "out_of_range"
)

// FieldError is one problem with one field of the input.
type FieldError struct {
	// Field is the wire name of the field ("role_id", "resource_type"), or
	// the unknown key itself. It is empty for a problem with the payload as
	// a whole, such as malformed JSON.
	Field string `json:"field"`
	// Reason says what kind of problem it is.
	Reason Reason `json:"reason"`
	// Message says what is wrong, for a person.
	Message string `json:"message"`
}

func (fe FieldError) String() string {
	if fe.Field == "" {
		return fe.Message
	}
	return fe.Field + ": " + fe.Message
}

// ValidationError lists every problem found in one input. It matches
// [ErrInvalid] under [errors.Is]; use [errors.As] to get at the fields.
type ValidationError struct {
	Fields []FieldError
}

// Error says what is wrong with every field, in the words a client may
// see: "invalid input: " and the field errors, with no package prefix, so
// that a host can pass it on as is (it is the detail of [ProblemFor]).
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input")
	for i, fe := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(fe.String())
	}
	return b.String()
}

// Is reports whether target is [ErrInvalid], so that callers test the
// category without caring about the details.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Has reports whether some field error names field.
func (e *ValidationError) Has(field string) bool {
	for _, fe := range e.Fields {
		if fe.Field == field {
			return true
		}
	}
	return false
}

// FieldErrors collects field errors so that a validator can report every
// problem at once instead of stopping at the first. The zero value is ready
// to use.
type FieldErrors []FieldError

// Add records one problem.
func (l *FieldErrors) Add(field string, reason Reason, message string) {
	*l = append(*l, FieldError{Field: field, Reason: reason, Message: message})
}

// Err returns nil when nothing was recorded (a true nil error, not a typed
// nil), and a [*ValidationError] otherwise.
func (l FieldErrors) Err() error {
	if len(l) == 0 {
		return nil
	}
	return &ValidationError{Fields: append([]FieldError(nil), l...)}
}

// JoinInvalid joins the field errors of several validation errors into
// one, so that a method checking several arguments reports them all. Nil
// errors are skipped; nil comes back when every error is nil. An error
// that is not a [*ValidationError] (an internal one) is returned as is,
// since it is not about the input.
func JoinInvalid(errs ...error) error {
	var all FieldErrors
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		all = append(all, ve.Fields...)
	}
	return all.Err()
}

// Invalid returns a [*ValidationError] with a single field error.
func Invalid(field string, reason Reason, message string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason, Message: message}}}
}

// Error is a not-found or conflict error whose message a client may see:
// it names only what the caller named (the caller's own IDs and values),
// never another binding, and carries no package prefix or storage text.
// It matches its Category under [errors.Is]. Stores make their not-found
// and conflict errors with [NotFound] and [Conflict], so that every store
// says the same thing in the same words; [ProblemFor] uses Message as the
// detail.
type Error struct {
	// Category is [ErrNotFound] or [ErrConflict].
	Category error
	// Message says what happened, for a person: lower case, no period.
	Message string
}

// Error returns the message: it is the whole of what a client may see.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is the error's category.
func (e *Error) Is(target error) bool { return target == e.Category }

// NotFound returns an [*Error] matching [ErrNotFound] with the message
// fmt.Sprintf(format, args...).
func NotFound(format string, args ...any) error {
	return &Error{Category: ErrNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict returns an [*Error] matching [ErrConflict] with the message
// fmt.Sprintf(format, args...).
func Conflict(format string, args ...any) error {
	return &Error{Category: ErrConflict, Message: fmt.Sprintf(format, args...)}
}

// HTTPStatus maps an error to the HTTP status a host should answer with:
// 400, 404 or 409 for the three categories, 403 for the guard's
// [ErrForbidden], 200 for nil, and 500 for anything else. The core speaks no HTTP; this is the one place where the
// mapping is written down, so every host maps the same way.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return 200
	case errors.Is(err, ErrInvalid):
		return 400
	case errors.Is(err, ErrNotFound):
		return 404
	case errors.Is(err, ErrConflict):
		return 409
	case errors.Is(err, ErrForbidden):
		return 403
	default:
		return 500
	}
}

// Problem is an RFC 9457 problem details body (application/problem+json),
// for hosts that serve the library over HTTP.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// ProblemFor builds the problem details for err. The detail is the
// client's message of the error, never the text of what wraps it (which
// may carry a package prefix): a [*ValidationError]'s Error, an
// [*Error]'s Message. A not-found or conflict error of another kind gets
// its category's name alone, since its text may name other users'
// bindings; a refusal of the guard (403) keeps its text, which says what
// the actor lacks. Internal errors get a generic detail: their text may
// name tables, files or hosts, which a client has no business seeing.
func ProblemFor(err error) Problem {
	p := Problem{Type: "about:blank", Status: HTTPStatus(err)}
	var ve *ValidationError
	var ce *Error
	switch {
	case errors.As(err, &ve):
		p.Errors = ve.Fields
		p.Detail = ve.Error()
	case errors.As(err, &ce):
		p.Detail = ce.Message
	}
	switch p.Status {
	case 400:
		p.Title = "Bad Request"
		if p.Detail == "" {
			p.Detail = "invalid input"
		}
	case 404:
		p.Title = "Not Found"
		if p.Detail == "" {
			p.Detail = "not found"
		}
	case 409:
		p.Title = "Conflict"
		if p.Detail == "" {
			p.Detail = "conflict"
		}
	case 403:
		p.Title = "Forbidden"
		if p.Detail == "" {
			p.Detail = err.Error()
		}
	default:
		p.Title = "Internal Server Error"
		p.Detail = "internal error"
		p.Errors = nil
	}
	return p
}
