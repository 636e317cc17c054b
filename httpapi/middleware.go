package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
)

// RequirePermission guards a host's own route: next runs only when the
// principal that auth finds may do permission on the resource that
// resource names (an account administrator always may). Otherwise it
// answers with a problem: 401 without credentials, the status of
// resource's error when it fails (a [*rbac.ValidationError] is 400, an
// error matching [rbac.ErrNotFound] 404, anything else 500), and 403 when
// the check says no.
//
// On the allow path it allocates nothing of its own: the check reads the
// checker's index, and the problem machinery runs only on refusal.
// It panics when permission is not in the checker's vocabulary: that is a
// mistake in the host's code, which must fail when the route is set up,
// not turn every request into an error.
func RequirePermission(c *check.Checker, auth Authenticate, permission string, resource func(*http.Request) (rbac.ResourceType, string, error), next http.Handler) http.Handler {
	if _, ok := c.Vocabulary().Index(permission); !ok {
		panic("httpapi: RequirePermission: " + permission + " is not a permission of the checker's vocabulary")
	}
	h := &handler{c: c, auth: auth, log: slog.Default()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth(r)
		if err != nil {
			h.fail(w, r, errUnauthenticated)
			return
		}
		if p.Admin {
			next.ServeHTTP(w, r)
			return
		}
		rt, id, err := resource(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ok, err := c.Check(p.UserID, permission, rt, id)
		switch {
		case err != nil:
			var ve *rbac.ValidationError
			if errors.As(err, &ve) && ve.Has("user_id") {
				err = errUnauthenticated // the credentials name no valid user
			}
			h.fail(w, r, err)
		case !ok:
			h.fail(w, r, &check.Denied{Reason: check.MissingPermission, Missing: []string{permission}, ResourceType: rt, ResourceID: id})
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// BearerKeys authenticates "Authorization: Bearer <key>" against keys.
// It keeps only the SHA-256 of each key (see [BearerKeySums]).
func BearerKeys(keys map[string]Principal) Authenticate {
	sums := make(map[[sha256.Size]byte]Principal, len(keys))
	for k, p := range keys {
		sums[sha256.Sum256([]byte(k))] = p
	}
	return BearerKeySums(sums)
}

// BearerKeySums authenticates "Authorization: Bearer <key>" against the
// SHA-256 sums of the keys, for a host that stores only those. It
// compares the token's sum against every one in constant time, so that
// neither a map lookup nor an early exit tells an attacker how close a
// guess came. A missing or malformed header, an empty token and an
// unknown key are all refused alike, and the token is in no error.
func BearerKeySums(sums map[[sha256.Size]byte]Principal) Authenticate {
	type entry struct {
		sum [sha256.Size]byte
		p   Principal
	}
	entries := make([]entry, 0, len(sums))
	for sum, p := range sums {
		entries = append(entries, entry{sum, p})
	}
	errNoKey := errors.New("httpapi: no valid bearer key")
	return func(r *http.Request) (Principal, error) {
		auth := r.Header.Get("Authorization")
		const scheme = "bearer "
		if len(auth) <= len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
			return Principal{}, errNoKey
		}
		token := strings.TrimSpace(auth[len(scheme):])
		if token == "" {
			return Principal{}, errNoKey
		}
		sum := sha256.Sum256([]byte(token))
		found := -1
		for i := range entries {
			if subtle.ConstantTimeCompare(sum[:], entries[i].sum[:]) == 1 {
				found = i
			}
		}
		if found < 0 {
			return Principal{}, errNoKey
		}
		return entries[found].p, nil
	}
}
