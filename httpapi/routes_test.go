package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac/validate"
)

// routeCase is one request and the answer it must get. $NAME in path and
// body stands for the fixture's ID of that name.
type routeCase struct {
	name   string
	key    string
	method string
	path   string
	body   string
	hdr    []string // header name, value pairs; an empty value removes it
	status int
	field  string // a field the 400's errors must name
}

var bindingBody = `{"role_id":"$READONLY","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`

var routeCases = []routeCase{
	// list bindings
	{name: "an administrator lists bindings", key: keyAdmin, method: "GET", path: "/v2/role-bindings?resource_type=SPACE", status: 200},
	{name: "a space admin lists bindings", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&limit=2", status: 200},
	{name: "a member lists and sees nothing", key: keyBob, method: "GET", path: "/v2/role-bindings?resource_type=SPACE", status: 200},
	{name: "a list without credentials", method: "GET", path: "/v2/role-bindings?resource_type=SPACE", status: 401},
	{name: "a list with an unknown key", key: "nope", method: "GET", path: "/v2/role-bindings?resource_type=SPACE", status: 401},
	{name: "a list with an empty bearer token", method: "GET", path: "/v2/role-bindings?resource_type=SPACE", hdr: []string{"Authorization", "Bearer "}, status: 401},
	{name: "a list without a resource type", key: keyAda, method: "GET", path: "/v2/role-bindings", status: 400, field: "resource_type"},
	{name: "a list of a bad resource type", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=space", status: 400, field: "resource_type"},
	{name: "a list with limit 0", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&limit=0", status: 400, field: "limit"},
	{name: "a list with limit 101", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&limit=101", status: 400, field: "limit"},
	{name: "a list with limit abc", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&limit=abc", status: 400, field: "limit"},
	{name: "a list with limit -1", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&limit=-1", status: 400, field: "limit"},
	{name: "a list with a tampered cursor", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&cursor=AAAA", status: 400, field: "cursor"},
	{name: "a list with an unknown parameter", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&usr_id=x", status: 400, field: "usr_id"},
	{name: "a list with a repeated parameter", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&resource_type=SPACE", status: 400, field: "resource_type"},
	{name: "a list with a malformed user filter", key: keyAda, method: "GET", path: "/v2/role-bindings?resource_type=SPACE&user_id=abc", status: 400, field: "user_id"},

	// create a binding
	{name: "a space admin creates a binding", key: keyAda, method: "POST", path: "/v2/role-bindings", body: bindingBody, status: 201},
	{name: "an administrator creates a binding", key: keyAdmin, method: "POST", path: "/v2/role-bindings", body: bindingBody, status: 201},
	{name: "a create without credentials", method: "POST", path: "/v2/role-bindings", body: bindingBody, status: 401},
	{name: "a create with a bad body and no credentials", method: "POST", path: "/v2/role-bindings", body: `{}`, status: 401},
	{name: "a create by a member", key: keyBob, method: "POST", path: "/v2/role-bindings", body: bindingBody, status: 403},
	{name: "a create on an unknown space", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE2"}`, status: 403},
	{name: "a create of an unknown role", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$NOROLE","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 404},
	{name: "a create of an unknown role by a member", key: keyBob, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$NOROLE","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 403},
	{name: "a create that escalates", key: keyGranter, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$MEMBER","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 422},
	{name: "a second binding for one user and resource", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":"$U2","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 409},
	{name: "a create with an unknown key", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE","x":1}`, status: 400, field: "x"},
	{name: "a create with a system key", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"id":"$ADA_B","role_id":"$READONLY","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 400, field: "id"},
	{name: "a create with a duplicate key", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","role_id":"$READONLY","user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 400, field: "role_id"},
	{name: "a create with a null", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":null,"user_id":"$U4","resource_type":"SPACE","resource_id":"$SPACE"}`, status: 400, field: "role_id"},
	{name: "a create with a number", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":4,"resource_type":"SPACE","resource_id":"$SPACE"}`, status: 400, field: "user_id"},
	{name: "a create with a bad enum", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":"$U4","resource_type":"space","resource_id":"$SPACE"}`, status: 400, field: "resource_type"},
	{name: "a create of a space ID as a project", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"$READONLY","user_id":"$U4","resource_type":"PROJECT","resource_id":"$SPACE"}`, status: 400, field: "resource_id"},
	{name: "a create of an empty object", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{}`, status: 400, field: "role_id"},
	{name: "a create of malformed JSON", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":`, status: 400, field: ""},
	{name: "a create over the cap", key: keyAda, method: "POST", path: "/v2/role-bindings", body: `{"role_id":"` + strings.Repeat("A", validate.MaxPayload) + `"}`, status: 400, field: ""},
	{name: "a create as text/plain", key: keyAda, method: "POST", path: "/v2/role-bindings", body: bindingBody, hdr: []string{"Content-Type", "text/plain"}, status: 415},
	{name: "a create without a content type", key: keyAda, method: "POST", path: "/v2/role-bindings", body: bindingBody, hdr: []string{"Content-Type", ""}, status: 415},
	{name: "a create with a charset", key: keyAda, method: "POST", path: "/v2/role-bindings", body: bindingBody, hdr: []string{"Content-Type", "application/json; charset=utf-8"}, status: 201},

	// get a binding
	{name: "a space admin gets a binding", key: keyAda, method: "GET", path: "/v2/role-bindings/$BOB_B", status: 200},
	{name: "a reader gets a binding", key: keyCy, method: "GET", path: "/v2/role-bindings/$BOB_B", status: 200},
	{name: "a member gets a binding it may not read", key: keyBob, method: "GET", path: "/v2/role-bindings/$ADA_B", status: 404},
	{name: "a get of an unknown binding", key: keyAda, method: "GET", path: "/v2/role-bindings/$NOBINDING", status: 404},
	{name: "a get of a malformed ID", key: keyAda, method: "GET", path: "/v2/role-bindings/abc", status: 400, field: "id"},
	{name: "a get of a role ID", key: keyAda, method: "GET", path: "/v2/role-bindings/$ADMIN", status: 400, field: "id"},
	{name: "a get of a non-canonical ID", key: keyAda, method: "GET", path: "/v2/role-bindings/Um9sZUJpbmRpbmc6OTk", status: 400, field: "id"},
	{name: "a get without credentials", method: "GET", path: "/v2/role-bindings/$BOB_B", status: 401},

	// change a binding's role
	{name: "a space admin changes a role", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, status: 200},
	{name: "a change with a matching If-Match", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, hdr: []string{"If-Match", "*"}, status: 200},
	{name: "a change with a stale If-Match", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, hdr: []string{"If-Match", `"1"`}, status: 409},
	{name: "a change with a weak If-Match", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, hdr: []string{"If-Match", `W/"1"`}, status: 409},
	{name: "a change with a malformed If-Match", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, hdr: []string{"If-Match", `1`}, status: 400, field: "If-Match"},
	{name: "a change by a reader", key: keyCy, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, status: 404},
	{name: "a change of an unknown binding", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$NOBINDING", body: `{"role_id":"$READONLY"}`, status: 404},
	{name: "a change to an unknown role", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$NOROLE"}`, status: 404},
	{name: "a change that escalates", key: keyGranter, method: "PATCH", path: "/v2/role-bindings/$CY_B", body: `{"role_id":"$MEMBER"}`, status: 422},
	{name: "a change of the user", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY","user_id":"$U4"}`, status: 400, field: "user_id"},
	{name: "a change with a bad ID and a bad body", key: keyAda, method: "PATCH", path: "/v2/role-bindings/abc", body: `{}`, status: 400, field: "id"},
	{name: "a change as text/plain", key: keyAda, method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, hdr: []string{"Content-Type", "text/plain"}, status: 415},
	{name: "a change without credentials", method: "PATCH", path: "/v2/role-bindings/$BOB_B", body: `{"role_id":"$READONLY"}`, status: 401},

	// delete a binding
	{name: "a space admin deletes a binding", key: keyAda, method: "DELETE", path: "/v2/role-bindings/$BOB_B", status: 204},
	{name: "a delete by a reader", key: keyCy, method: "DELETE", path: "/v2/role-bindings/$BOB_B", status: 404},
	{name: "a delete of an unknown binding", key: keyAda, method: "DELETE", path: "/v2/role-bindings/$NOBINDING", status: 404},
	{name: "a delete of a malformed ID", key: keyAda, method: "DELETE", path: "/v2/role-bindings/abc", status: 400, field: "id"},
	{name: "a delete without credentials", method: "DELETE", path: "/v2/role-bindings/$BOB_B", status: 401},

	// roles
	{name: "a member lists roles", key: keyBob, method: "GET", path: "/v2/roles", status: 200},
	{name: "a list of predefined roles", key: keyBob, method: "GET", path: "/v2/roles?is_predefined=true&limit=1", status: 200},
	{name: "a list of custom roles", key: keyBob, method: "GET", path: "/v2/roles?is_predefined=false", status: 200},
	{name: "a list of roles with a bad filter", key: keyBob, method: "GET", path: "/v2/roles?is_predefined=yes", status: 400, field: "is_predefined"},
	{name: "a list of roles with a tampered cursor", key: keyBob, method: "GET", path: "/v2/roles?cursor=abc.def", status: 400, field: "cursor"},
	{name: "a list of roles without credentials", method: "GET", path: "/v2/roles", status: 401},
	{name: "a member gets a role", key: keyBob, method: "GET", path: "/v2/roles/$MEMBER", status: 200},
	{name: "a get of an unknown role", key: keyBob, method: "GET", path: "/v2/roles/$NOROLE", status: 404},
	{name: "a get of a malformed role ID", key: keyBob, method: "GET", path: "/v2/roles/abc", status: 400, field: "id"},
	{name: "an administrator creates a role", key: keyAdmin, method: "POST", path: "/v2/roles", body: `{"name":"Viewer","permissions":["PROJECT_READ"]}`, status: 201},
	{name: "a space admin creates a role", key: keyAda, method: "POST", path: "/v2/roles", body: `{"name":"Viewer","permissions":["PROJECT_READ"]}`, status: 403},
	{name: "a role with a taken name", key: keyAdmin, method: "POST", path: "/v2/roles", body: `{"name":"Member","permissions":["PROJECT_READ"]}`, status: 409},
	{name: "a role with an unknown permission", key: keyAdmin, method: "POST", path: "/v2/roles", body: `{"name":"Viewer","permissions":["PROJECT_READS"]}`, status: 400, field: "permissions"},
	{name: "a role with is_predefined", key: keyAdmin, method: "POST", path: "/v2/roles", body: `{"name":"Viewer","permissions":["PROJECT_READ"],"is_predefined":false}`, status: 400, field: "is_predefined"},
	{name: "a role as text/plain", key: keyAdmin, method: "POST", path: "/v2/roles", body: `{}`, hdr: []string{"Content-Type", "text/plain"}, status: 415},
	{name: "an administrator renames a role", key: keyAdmin, method: "PATCH", path: "/v2/roles/$GRANTER", body: `{"name":"Granters"}`, status: 200},
	{name: "a member renames a role", key: keyBob, method: "PATCH", path: "/v2/roles/$GRANTER", body: `{"name":"Granters"}`, status: 403},
	{name: "an update of a predefined role", key: keyAdmin, method: "PATCH", path: "/v2/roles/$MEMBER", body: `{"name":"Members"}`, status: 400, field: "id"},
	{name: "an update of an unknown role", key: keyAdmin, method: "PATCH", path: "/v2/roles/$NOROLE", body: `{"name":"X"}`, status: 404},
	{name: "an update with a null", key: keyAdmin, method: "PATCH", path: "/v2/roles/$GRANTER", body: `{"name":null}`, status: 400, field: "name"},
	{name: "a delete of a role still bound", key: keyAdmin, method: "DELETE", path: "/v2/roles/$GRANTER", status: 409},
	{name: "a delete of a predefined role", key: keyAdmin, method: "DELETE", path: "/v2/roles/$MEMBER", status: 400, field: "id"},
	{name: "a delete of an unknown role", key: keyAdmin, method: "DELETE", path: "/v2/roles/$NOROLE", status: 404},
	{name: "a delete of a role by a member", key: keyBob, method: "DELETE", path: "/v2/roles/$GRANTER", status: 403},

	// restrictions
	{name: "a space admin restricts a project", key: keyAda, method: "POST", path: "/v2/resource-restrictions", body: `{"resource_id":"$P1"}`, status: 200},
	{name: "a member restricts a project", key: keyBob, method: "POST", path: "/v2/resource-restrictions", body: `{"resource_id":"$P1"}`, status: 403},
	{name: "a restriction of a project in no space", key: keyAda, method: "POST", path: "/v2/resource-restrictions", body: `{"resource_id":"$SPACE"}`, status: 400, field: "resource_id"},
	{name: "a restriction with an unknown key", key: keyAda, method: "POST", path: "/v2/resource-restrictions", body: `{"resource_id":"$P1","x":true}`, status: 400, field: "x"},
	{name: "a restriction of an empty object", key: keyAda, method: "POST", path: "/v2/resource-restrictions", body: `{}`, status: 400, field: "resource_id"},
	{name: "a restriction as text/plain", key: keyAda, method: "POST", path: "/v2/resource-restrictions", body: `{}`, hdr: []string{"Content-Type", "text/plain"}, status: 415},
	{name: "an unrestrict of a project not restricted", key: keyAda, method: "DELETE", path: "/v2/resource-restrictions/$P1", status: 404},
	{name: "an unrestrict by a member", key: keyBob, method: "DELETE", path: "/v2/resource-restrictions/$P1", status: 403},
	{name: "an unrestrict of a malformed ID", key: keyAda, method: "DELETE", path: "/v2/resource-restrictions/abc", status: 400, field: "resource_id"},
	{name: "a list of restrictions", key: keyAda, method: "GET", path: "/v2/resource-restrictions", status: 200},
	{name: "a list of restrictions of spaces", key: keyAda, method: "GET", path: "/v2/resource-restrictions?resource_type=SPACE", status: 400, field: "resource_type"},

	// routing
	{name: "a known path with another method", key: keyAda, method: "PUT", path: "/v2/role-bindings/$BOB_B", status: 405},
	{name: "an unknown path", key: keyAda, method: "GET", path: "/v2/nothing", status: 404},
	{name: "a path that is not clean", key: keyAda, method: "GET", path: "/v2//role-bindings", status: 404},
	{name: "a trailing slash", key: keyAda, method: "GET", path: "/v2/role-bindings/", status: 404},
}

func TestRoutes(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range routeCases {
				t.Run(tc.name, func(t *testing.T) {
					is := is.New(t)
					f := newFixture(t, st.open)
					target := f.expand(tc.path, true)
					w := f.do(t, tc.key, tc.method, target, f.expand(tc.body, false), tc.hdr...)
					is.Equal(w.Code, tc.status) // status
					if w.Code >= 400 {
						u, _ := url.Parse(target)
						p := checkProblem(t, w, u.Path)
						if tc.status == 400 {
							found := false
							for _, fe := range p.Errors {
								found = found || fe.Field == tc.field
							}
							is.True(found) // the field is named
						}
						if tc.status == 405 {
							is.True(w.Header().Get("Allow") != "") // Allow header
						}
						return
					}
					is.True(w.Header().Get("Location") == "" || w.Code == 201) // no redirect
					if w.Code == 204 {
						is.Equal(w.Body.Len(), 0) // no body
						return
					}
					is.Equal(w.Header().Get("Content-Type"), "application/json") // content type
					var v map[string]any
					is.NoErr(json.Unmarshal(w.Body.Bytes(), &v)) // JSON body
				})
			}
		})
	}
}
