package httpapi

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"path"
	"sync"

	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/store"
	"github.com/rolebind/rbac/validate"
)

// Principal is who a request acts for, as the host's authentication says.
type Principal struct {
	// UserID is the user's global ID (type User). An account
	// administrator may leave it empty.
	UserID string
	// Admin marks an account administrator, who may do everything, as
	// Kubernetes' system:masters may: no check and no guard applies.
	Admin bool
}

// Authenticate turns a request into a principal; any error means 401. It
// must not keep r.
type Authenticate func(r *http.Request) (Principal, error)

// Store is what the handler needs of a store: bindings, roles and the
// facts about resources.
type Store interface {
	store.Store
	store.RoleStore
	store.ResourceStore
}

// Options configures [New]. The zero value serves at the root and logs
// with [slog.Default].
type Options struct {
	// Logger receives the cause of every 500, with its request ID. Nil
	// means slog.Default().
	Logger *slog.Logger
	// Prefix is a path the routes are mounted under, such as "/api":
	// then the handler serves /api/v2/role-bindings. "" mounts them at
	// the root. It must start with "/" and not end with one.
	Prefix string
	// Validator holds the ID type names; nil means validate.Default().
	// Pass the store's.
	Validator *validate.Validator
	// CursorKey seals the role list cursors, which carry the
	// is_predefined filter. Servers behind one load balancer must share
	// it; nil means a random key, good for this handler only.
	CursorKey []byte
}

// handler serves the routes of the wire contract.
type handler struct {
	s      Store
	c      *check.Checker
	auth   Authenticate
	log    *slog.Logger
	val    *validate.Validator
	vocab  *perm.Vocabulary
	prefix string
	key    []byte
	mux    *http.ServeMux
}

// New returns a handler serving every route of the wire contract over s,
// with c answering the checks. c must follow s ([check.Follow]), so that
// a check made after a write returned sees that write.
func New(s Store, c *check.Checker, auth Authenticate, opts Options) http.Handler {
	h := &handler{s: s, c: c, auth: auth, log: opts.Logger, val: opts.Validator, vocab: c.Vocabulary(), prefix: opts.Prefix, key: opts.CursorKey}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.val == nil {
		h.val = validate.Default()
	}
	if h.key == nil {
		h.key = make([]byte, 32)
		rand.Read(h.key)
	}
	m := http.NewServeMux()
	p := h.prefix
	routes := []struct {
		pattern string
		f       func(http.ResponseWriter, *http.Request, Principal) error
	}{
		{"GET " + p + "/v2/role-bindings", h.listBindings},
		{"POST " + p + "/v2/role-bindings", h.createBinding},
		{"GET " + p + "/v2/role-bindings/{binding_id}", h.getBinding},
		{"PATCH " + p + "/v2/role-bindings/{binding_id}", h.changeRole},
		{"DELETE " + p + "/v2/role-bindings/{binding_id}", h.deleteBinding},
		{"GET " + p + "/v2/roles", h.listRoles},
		{"POST " + p + "/v2/roles", h.createRole},
		{"GET " + p + "/v2/roles/{role_id}", h.getRole},
		{"PATCH " + p + "/v2/roles/{role_id}", h.updateRole},
		{"DELETE " + p + "/v2/roles/{role_id}", h.deleteRole},
		{"GET " + p + "/v2/resource-restrictions", h.listRestrictions},
		{"POST " + p + "/v2/resource-restrictions", h.restrict},
		{"DELETE " + p + "/v2/resource-restrictions/{resource_id}", h.unrestrict},
	}
	for _, rt := range routes {
		m.Handle(rt.pattern, h.route(rt.f))
	}
	// Every request no route takes lands here, so that the mux routes
	// each request once and never answers with its own plain-text 404
	// or 405.
	m.HandleFunc(catchAll, h.unmatched)
	h.mux = m
	return h
}

// route authenticates, then runs f and answers its error.
func (h *handler) route(f func(http.ResponseWriter, *http.Request, Principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil {
			err = f(w, r, p)
		}
		if err != nil {
			h.fail(w, r, err)
		}
	})
}

// principal authenticates r. A non-administrator must name a
// well-formed user: a check for a malformed one would be a 400 that the
// client can do nothing about.
func (h *handler) principal(r *http.Request) (Principal, error) {
	p, err := h.auth(r)
	if err != nil {
		return Principal{}, errUnauthenticated
	}
	if !p.Admin {
		if _, err := h.val.UserID(p.UserID); err != nil {
			return Principal{}, errUnauthenticated
		}
	}
	return p, nil
}

// ServeHTTP answers what the mux would answer with a redirect or a plain
// text 404 or 405 with a problem instead, and hands the rest to the mux.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer h.recover(w, r)
	// ServeMux redirects a path that is not clean (//, /./, /../) to its
	// clean form; no route of this API redirects, so such a path is
	// simply not one of ours.
	if esc := r.URL.EscapedPath(); r.Method != http.MethodConnect && cleanPath(esc) != esc {
		h.unmatched(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// unmatched answers a request that no route takes: 405 with Allow when
// the path is one of ours with another method, 404 otherwise. Both come
// after authentication, as every answer of this API does.
func (h *handler) unmatched(w http.ResponseWriter, r *http.Request) {
	if _, err := h.principal(r); err != nil {
		h.fail(w, r, err)
		return
	}
	var allow []string
	if esc := r.URL.EscapedPath(); cleanPath(esc) == esc {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			probe := *r
			probe.Method = m
			if _, pattern := h.mux.Handler(&probe); pattern != catchAll {
				allow = append(allow, m)
			}
		}
	}
	if len(allow) == 0 {
		h.fail(w, r, &statusError{status: http.StatusNotFound, detail: "no route for " + r.URL.Path})
		return
	}
	if allow[0] == http.MethodGet {
		allow = append([]string{http.MethodGet, http.MethodHead}, allow[1:]...)
	}
	h.fail(w, r, &statusError{status: http.StatusMethodNotAllowed, detail: "method " + r.Method + " is not allowed on " + r.URL.Path, allow: allow})
}

// catchAll is the pattern of [handler.unmatched]: the least specific
// of all, so it takes only what no route does.
const catchAll = "/"

// cleanPath is the path ServeMux would redirect p to: p cleaned, with a
// trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// bufPool holds response buffers, so that a response costs no
// allocation for its body.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

var (
	jsonType    = []string{"application/json"}
	problemType = []string{"application/problem+json"}
	noSniff     = []string{"nosniff"}
)

// writeJSON writes body with status as application/json.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd["Content-Type"] = jsonType
	hd["X-Content-Type-Options"] = noSniff
	w.WriteHeader(status)
	w.Write(body)
}
