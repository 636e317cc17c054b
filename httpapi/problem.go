package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
)

// problem is an RFC 9457 problem details body: the fields of
// [rbac.Problem], the request path as instance, and the extensions this
// API adds.
type problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail"`
	Instance string            `json:"instance"`
	Errors   []rbac.FieldError `json:"errors,omitempty"`
	// Missing names the permissions the actor lacks, on a 403 or 422
	// from the guard.
	Missing []string `json:"missing_permissions,omitempty"`
	// RequestID is on a 500 only: the one string an operator needs to
	// find the cause in the log.
	RequestID string `json:"request_id,omitempty"`
}

// statusError is an answer of the HTTP layer itself: 401, 403 for a role
// change by a non-administrator, 404 and 405 for routes, 415.
type statusError struct {
	status int
	detail string
	allow  []string
}

func (e *statusError) Error() string { return e.detail }

var errUnauthenticated = &statusError{status: http.StatusUnauthorized, detail: "missing or invalid credentials"}

// titles are the titles of the statuses this API answers with.
var titles = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	409: "Conflict",
	415: "Unsupported Media Type",
	422: "Unprocessable Content",
	500: "Internal Server Error",
}

// problemFor maps err to its problem. [rbac.ProblemFor] is the mapping
// for the library's categories; the guard's refusals and the HTTP
// layer's own answers are mapped here, since they carry more than a
// category: which permissions are missing, which methods are allowed.
func problemFor(err error) (problem, []string) {
	var se *statusError
	if errors.As(err, &se) {
		return problem{Type: "about:blank", Title: titles[se.status], Status: se.status, Detail: se.detail}, se.allow
	}
	var d *check.Denied
	if errors.As(err, &d) {
		return deniedProblem(d), nil
	}
	rp := rbac.ProblemFor(err)
	return problem{Type: rp.Type, Title: rp.Title, Status: rp.Status, Detail: rp.Detail, Errors: rp.Errors}, nil
}

// deniedProblem answers a refusal of the guard. An escalation is 422:
// the actor may manage access there, but not hand out this role, and the
// body names what the role holds beyond the actor's own. A last
// administrator is 409, as the store's own rule answers it. The rest is
// 403. The detail names only the caller's own request and permissions.
func deniedProblem(d *check.Denied) problem {
	where := fmt.Sprintf("%s %s", d.ResourceType, d.ResourceID)
	switch d.Reason {
	case check.Escalation:
		return problem{Type: "about:blank", Title: titles[422], Status: 422, Missing: d.Missing,
			Detail: "the role grants permissions you do not hold on " + where + ": " + strings.Join(d.Missing, ", ")}
	case check.LastAdministrator:
		return problem{Type: "about:blank", Title: titles[409], Status: 409,
			Detail: "space " + d.ResourceID + " would be left without an administrator"}
	case check.NoSpace:
		return problem{Type: "about:blank", Title: titles[403], Status: 403,
			Detail: "project " + d.ProjectID + " belongs to no space, so only an account administrator can restrict it"}
	}
	return problem{Type: "about:blank", Title: titles[403], Status: 403, Missing: d.Missing,
		Detail: "you lack " + strings.Join(d.Missing, " and ") + " on " + where}
}

// fail answers err as a problem. The cause of a 500 goes to the log
// only, under a request ID that the response carries too.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, allow := problemFor(err)
	p.Instance = r.URL.Path
	hd := w.Header()
	if p.Status == http.StatusInternalServerError {
		p.RequestID = requestID()
		hd.Set("X-Request-Id", p.RequestID)
		h.log.ErrorContext(r.Context(), "httpapi: internal error", "request_id", p.RequestID,
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	if allow != nil {
		hd.Set("Allow", strings.Join(allow, ", "))
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p problem) {
	body, err := json.Marshal(p)
	if err != nil { // a problem holds only strings and ints
		panic(err)
	}
	hd := w.Header()
	hd.Del("ETag")
	hd["Content-Type"] = problemType
	hd["X-Content-Type-Options"] = noSniff
	w.WriteHeader(p.Status)
	w.Write(body)
}

// recover answers a panic of a route with a 500 problem and logs it,
// unless the route was aborting on purpose.
func (h *handler) recover(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.fail(w, r, fmt.Errorf("httpapi: panic: %v", v))
}

// requestID returns 16 random bytes in hex.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
