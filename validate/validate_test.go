package validate_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/sharedtest"
	"github.com/rolebind/rbac/validate"
)

const (
	roleID    = "Um9sZToxOlY0S2E="         // Role:1:V4Ka
	userID    = "VXNlcjoxOmxQZzI="         // User:1:lPg2
	projectID = "TW9kZWw6MTpGdmxM"         // Model:1:FvlL
	spaceID   = "U3BhY2U6MTp1Rk4x"         // Space:1:uFN1
	bindingID = "Um9sZUJpbmRpbmc6MTphQmNE" // RoleBinding:1:aBcD
)

type payloadCase struct {
	Name   string   `json:"name"`
	Body   string   `json:"body"`
	Want   string   `json:"want"`
	Fields []string `json:"fields"`
}

// TestSharedCases decodes every create and update body of
// ../shared/testdata/cases.json. Conflicts need a store and are checked by
// the store suite; here every "conflict" case must at least decode.
func TestSharedCases(t *testing.T) {
	is := is.New(t)
	data := sharedtest.ReadFile(t, "testdata/cases.json")
	var file struct {
		Create []payloadCase `json:"create"`
		Update []payloadCase `json:"update"`
	}
	is.NoErr(json.Unmarshal(data, &file))
	is.True(len(file.Create) > 0 && len(file.Update) > 0)
	v := validate.Default()
	run := func(kind string, cases []payloadCase, decode func([]byte) error) {
		for _, c := range cases {
			t.Run(kind+"/"+c.Name, func(t *testing.T) {
				checkOutcome(t, decode([]byte(c.Body)), c.Want, c.Fields)
			})
		}
	}
	run("create", file.Create, func(b []byte) error { _, err := v.DecodeCreate(b); return err })
	run("update", file.Update, func(b []byte) error { _, err := v.DecodeUpdate(b); return err })
}

func checkOutcome(t *testing.T, err error, want string, fields []string) {
	t.Helper()
	is := is.New(t)
	switch want {
	case "ok", "conflict":
		is.NoErr(err)
	case "invalid":
		is.True(errors.Is(err, rbac.ErrInvalid)) // invalid input
		var ve *rbac.ValidationError
		is.True(errors.As(err, &ve)) // with field detail
		for _, f := range fields {
			if !ve.Has(f) {
				t.Errorf("error %q does not name field %q", err, f)
			}
		}
	default:
		t.Fatalf("unknown want %q", want)
	}
}

func fieldReasons(t *testing.T, err error) map[string]rbac.Reason {
	t.Helper()
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *rbac.ValidationError, got %v", err)
	}
	m := map[string]rbac.Reason{}
	for _, fe := range ve.Fields {
		if _, dup := m[fe.Field]; dup {
			t.Errorf("field %q reported twice in %v", fe.Field, err)
		}
		m[fe.Field] = fe.Reason
		if fe.Message == "" {
			t.Errorf("field %q has no message", fe.Field)
		}
	}
	return m
}

func TestDecodeCreate(t *testing.T) {
	v := validate.Default()
	tests := []struct {
		name string
		body string
		want map[string]rbac.Reason // nil: valid
	}{
		{"a valid project binding", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"PROJECT","resource_id":"` + projectID + `"}`, nil},
		{"keys in any order with whitespace", " {\n\"resource_id\" : \"" + spaceID + "\", \"resource_type\":\"SPACE\",\"user_id\":\"" + userID + "\",\"role_id\":\"" + roleID + "\"}\n", nil},
		{"four bad fields give four errors", `{"role_id":"` + userID + `","user_id":"x","resource_type":"TEAM","resource_id":""}`,
			map[string]rbac.Reason{"role_id": rbac.ReasonInvalid, "user_id": rbac.ReasonInvalid, "resource_type": rbac.ReasonNotSupported, "resource_id": rbac.ReasonRequired}},
		{"duplicate key", `{"role_id":"` + roleID + `","role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `"}`,
			map[string]rbac.Reason{"role_id": rbac.ReasonDuplicate}},
		{"null and wrong types", `{"role_id":null,"user_id":7,"resource_type":true,"resource_id":["x"]}`,
			map[string]rbac.Reason{"role_id": rbac.ReasonRequired, "user_id": rbac.ReasonWrongType, "resource_type": rbac.ReasonWrongType, "resource_id": rbac.ReasonWrongType}},
		{"system fields and an unknown one at once", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `","id":"` + bindingID + `","created_at":"x","updated_at":null,"extra":{}}`,
			map[string]rbac.Reason{"id": rbac.ReasonForbidden, "created_at": rbac.ReasonForbidden, "updated_at": rbac.ReasonForbidden, "extra": rbac.ReasonUnknownField}},
		{"key differing only in case is unknown", `{"Role_ID":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `"}`,
			map[string]rbac.Reason{"Role_ID": rbac.ReasonUnknownField, "role_id": rbac.ReasonRequired}},
		{"trailing object", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `"}{}`,
			map[string]rbac.Reason{"": rbac.ReasonInvalid}},
		{"trailing garbage", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `"} x`,
			map[string]rbac.Reason{"": rbac.ReasonInvalid}},
		{"a string instead of an object", `"hello"`, map[string]rbac.Reason{"": rbac.ReasonInvalid}},
		{"empty body", ``, map[string]rbac.Reason{"": rbac.ReasonInvalid}},
		{"unterminated object", `{"role_id":"` + roleID + `"`, map[string]rbac.Reason{"": rbac.ReasonInvalid}},
		{"too large", `{"role_id":"` + strings.Repeat("A", validate.MaxPayload) + `"}`, map[string]rbac.Reason{"": rbac.ReasonTooLong}},
		{"resource id of the wrong kind with SPACE", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + projectID + `"}`,
			map[string]rbac.Reason{"resource_id": rbac.ReasonInvalid}},
		{"malformed resource id with a bad type", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"space","resource_id":"abc"}`,
			map[string]rbac.Reason{"resource_type": rbac.ReasonNotSupported, "resource_id": rbac.ReasonInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			nb, err := v.DecodeCreate([]byte(tt.body))
			if tt.want == nil {
				is.NoErr(err)
				is.Equal(nb.RoleID, roleID)
				return
			}
			is.True(errors.Is(err, rbac.ErrInvalid))
			is.Equal(fieldReasons(t, err), tt.want) // every problem, each once
		})
	}
}

func TestDecodeCreateCanonicalizesTheProjectAlias(t *testing.T) {
	is := is.New(t)
	alias := base64.StdEncoding.EncodeToString([]byte("Project:1:FvlL"))
	nb, err := validate.Default().DecodeCreate([]byte(`{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"PROJECT","resource_id":"` + alias + `"}`))
	is.NoErr(err)
	is.Equal(nb.ResourceID, projectID) // stored as Model:1:FvlL
}

func TestDecodeUpdate(t *testing.T) {
	v := validate.Default()
	tests := []struct {
		name string
		body string
		want map[string]rbac.Reason
	}{
		{"only role_id", `{"role_id":"` + roleID + `"}`, nil},
		{"every immutable field is forbidden", `{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `","id":"` + bindingID + `","created_at":"","updated_at":""}`,
			map[string]rbac.Reason{"user_id": rbac.ReasonForbidden, "resource_type": rbac.ReasonForbidden, "resource_id": rbac.ReasonForbidden, "id": rbac.ReasonForbidden, "created_at": rbac.ReasonForbidden, "updated_at": rbac.ReasonForbidden}},
		{"empty role_id", `{"role_id":""}`, map[string]rbac.Reason{"role_id": rbac.ReasonRequired}},
		{"a number role_id", `{"role_id":1}`, map[string]rbac.Reason{"role_id": rbac.ReasonWrongType}},
		{"unknown field", `{"role_id":"` + roleID + `","note":"x"}`, map[string]rbac.Reason{"note": rbac.ReasonUnknownField}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			c, err := v.DecodeUpdate([]byte(tt.body))
			if tt.want == nil {
				is.NoErr(err)
				is.Equal(c.RoleID, roleID)
				return
			}
			is.Equal(fieldReasons(t, err), tt.want)
		})
	}
}

func TestReadCreateCapsTheReader(t *testing.T) {
	is := is.New(t)
	_, err := validate.Default().ReadCreate(strings.NewReader(strings.Repeat(" ", 10*validate.MaxPayload)))
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"": rbac.ReasonTooLong})
	nb, err := validate.Default().ReadCreate(strings.NewReader(`{"role_id":"` + roleID + `","user_id":"` + userID + `","resource_type":"SPACE","resource_id":"` + spaceID + `"}`))
	is.NoErr(err)
	is.Equal(nb.ResourceType, rbac.Space)
}

func TestGoInputGoesThroughTheSameRules(t *testing.T) {
	is := is.New(t)
	v := validate.Default()
	_, err := v.NewBinding(rbac.NewBinding{})
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"role_id": rbac.ReasonRequired, "user_id": rbac.ReasonRequired, "resource_type": rbac.ReasonRequired, "resource_id": rbac.ReasonRequired})
	_, err = v.NewBinding(rbac.NewBinding{RoleID: roleID, UserID: "VXNlcjoxOmxQZzJ=", ResourceType: rbac.Project, ResourceID: spaceID})
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"user_id": rbac.ReasonInvalid, "resource_id": rbac.ReasonInvalid})

	c, err := v.RoleChange(rbac.RoleChange{RoleID: roleID, IfUpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))})
	is.NoErr(err)
	is.Equal(c.IfUpdatedAt, time.Date(2026, 1, 2, 2, 4, 5, 6000, time.UTC)) // UTC, microseconds
	_, err = v.BindingID(roleID)
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"id": rbac.ReasonInvalid})
	_, err = v.UserID("")
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"user_id": rbac.ReasonRequired})
	_, err = v.ID("space_id", ids.Space, projectID)
	is.Equal(fieldReasons(t, err), map[string]rbac.Reason{"space_id": rbac.ReasonInvalid}) // reported on the field asked for
	got, err := v.ID("project_id", ids.Project, base64.StdEncoding.EncodeToString([]byte("Project:1:FvlL")))
	is.NoErr(err)
	is.Equal(got, projectID) // canonical form
}

func TestListQuery(t *testing.T) {
	v := validate.Default()
	tests := []struct {
		name      string
		q         rbac.ListQuery
		want      map[string]rbac.Reason
		wantLimit int
	}{
		{"no filters takes the default limit", rbac.ListQuery{}, nil, rbac.DefaultLimit},
		{"limit 1", rbac.ListQuery{Limit: 1}, nil, 1},
		{"limit 100", rbac.ListQuery{Limit: 100}, nil, 100},
		{"limit 101", rbac.ListQuery{Limit: 101}, map[string]rbac.Reason{"limit": rbac.ReasonOutOfRange}, 0},
		{"negative limit", rbac.ListQuery{Limit: -1}, map[string]rbac.Reason{"limit": rbac.ReasonOutOfRange}, 0},
		{"every filter", rbac.ListQuery{ResourceType: rbac.Project, ResourceID: projectID, UserID: userID, RoleID: roleID}, nil, rbac.DefaultLimit},
		{"resource id needs a type", rbac.ListQuery{ResourceID: projectID}, map[string]rbac.Reason{"resource_type": rbac.ReasonRequired}, 0},
		{"bad filters all reported", rbac.ListQuery{ResourceType: "X", UserID: roleID, RoleID: "x", Limit: 500},
			map[string]rbac.Reason{"resource_type": rbac.ReasonNotSupported, "user_id": rbac.ReasonInvalid, "role_id": rbac.ReasonInvalid, "limit": rbac.ReasonOutOfRange}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			q, err := v.ListQuery(tt.q)
			if tt.want == nil {
				is.NoErr(err)
				is.Equal(q.Limit, tt.wantLimit)
				return
			}
			is.Equal(fieldReasons(t, err), tt.want)
		})
	}
}

func TestCustomTypeNames(t *testing.T) {
	is := is.New(t)
	_, err := validate.New(ids.Table{})
	is.True(err != nil) // an empty table is refused
	v, err := validate.New(ids.Table{Role: []string{"R"}, User: []string{"U"}, Space: []string{"S"}, Project: []string{"P"}, RoleBinding: []string{"B"}})
	is.NoErr(err)
	e := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	_, err = v.NewBinding(rbac.NewBinding{RoleID: e("R:1"), UserID: e("U:1"), ResourceType: rbac.Space, ResourceID: e("S:1")})
	is.NoErr(err)
	_, err = v.NewBinding(rbac.NewBinding{RoleID: roleID, UserID: e("U:1"), ResourceType: rbac.Space, ResourceID: e("S:1")})
	is.True(errors.Is(err, rbac.ErrInvalid)) // the default names are not accepted
}
