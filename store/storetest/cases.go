package storetest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"slices"
	"testing"

	"github.com/matryer/is"
	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/validate"
)

// casesJSON is a byte-identical copy of the project's public cases
// (shared/testdata/cases.json); a test in this package checks that the two
// have not drifted apart.
//
//go:embed testdata/cases.json
var casesJSON []byte

// PublicCases returns the public contract cases that the suite embeds, in
// the JSON form that [RunCases] reads.
func PublicCases() []byte { return bytes.Clone(casesJSON) }

// publicCases is the shape of the cases file.
type publicCases struct {
	Create []payloadCase `json:"create"`
	Update []payloadCase `json:"update"`
	IDs    []idCase      `json:"ids"`
}

// payloadCase is a create or update body and what must come of it.
type payloadCase struct {
	Name   string   `json:"name"`
	Body   string   `json:"body"`
	Want   string   `json:"want"`
	Fields []string `json:"fields"`
}

// idCase is a global ID and whether it is canonical.
type idCase struct {
	ID     string `json:"id"`
	Want   string `json:"want"`
	Why    string `json:"why"`
	Type   string `json:"type"`
	Number string `json:"number"`
	Key    string `json:"key"`
}

// createKeys are the keys of a create body that [rbac.NewBinding] can carry.
var createKeys = []string{"role_id", "user_id", "resource_type", "resource_id"}

// RunCases runs the public cases in casesJSON (the format of the project's
// testdata/cases.json) against the stores f makes:
//
//   - Each create body is decoded with [validate.Validator.DecodeCreate]
//     and, when that accepts it, given to Create; the outcome must be the
//     case's (ok, or invalid naming at least the listed fields).
//   - Each create body that is a JSON object of strings with only the four
//     create keys also goes to Create directly, without package validate,
//     so a store that leaves validation to its callers fails.
//   - Each update body is applied in the same two ways to a fresh binding.
//   - Each ID goes to Get, ChangeRole and Delete: invalid on field "id"
//     unless it is a canonical RoleBinding ID, which names nothing and so
//     is not found; a canonical ID of any type, rewritten as a RoleBinding
//     ID, is not found. Each ID also goes into every ID field of Create,
//     where it is accepted exactly when its type fits the field.
func RunCases(t *testing.T, f Factory, casesJSON []byte) {
	t.Helper()
	var cs publicCases
	if err := json.Unmarshal(casesJSON, &cs); err != nil {
		t.Fatalf("storetest: cannot read the cases: %v", err)
	}
	if len(cs.Create) == 0 || len(cs.Update) == 0 || len(cs.IDs) == 0 {
		t.Fatalf("storetest: the cases have %d create, %d update and %d ID cases; want some of each", len(cs.Create), len(cs.Update), len(cs.IDs))
	}
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		for _, c := range cs.Create {
			t.Run(c.Name, func(t *testing.T) { runCreateCase(t, f, c) })
		}
	})
	t.Run("update", func(t *testing.T) {
		t.Parallel()
		for _, c := range cs.Update {
			t.Run(c.Name, func(t *testing.T) { runUpdateCase(t, f, c) })
		}
	})
	t.Run("ids", func(t *testing.T) {
		t.Parallel()
		for _, c := range cs.IDs {
			name := c.ID
			if c.Why != "" {
				name += " (" + c.Why + ")"
			}
			t.Run(name, func(t *testing.T) { runIDCase(t, f, c) })
		}
	})
}

// checkWant checks an outcome against a case: ok, or invalid naming at
// least the case's fields. Conflict and not found never appear in the
// public payload cases.
func checkWant(t *testing.T, c payloadCase, err error, what string) {
	t.Helper()
	switch c.Want {
	case "ok":
		if err != nil {
			t.Fatalf("%s of %s: %v; want success", what, c.Body, err)
		}
	case "invalid":
		wantInvalid(t, err, what+" of "+c.Body, c.Fields...)
	default:
		t.Fatalf("case %q: unknown want %q; want ok or invalid", c.Name, c.Want)
	}
}

func runCreateCase(t *testing.T, f Factory, c payloadCase) {
	t.Run("decoded", func(t *testing.T) {
		is := is.New(t)
		e := newEnv(t, f)
		in, err := validate.Default().DecodeCreate([]byte(c.Body))
		if err == nil {
			var b rbac.Binding
			b, err = e.s.Create(t.Context(), in)
			if err == nil {
				is.Equal(b.RoleID, in.RoleID)                        // created binding has the role of the body
				is.Equal(b.UserID, in.UserID)                        // created binding has the user of the body
				is.Equal(b.ResourceType, in.ResourceType)            // created binding has the resource type of the body
				is.Equal(b.ResourceID, in.ResourceID)                // created binding has the resource of the body
				is.Equal(b.CreatedAt, rbac.StoreTime(e.clock.Now())) // created_at is the store's clock in StoreTime form
				got, err := e.s.Get(t.Context(), b.ID)
				is.NoErr(err)    // get the created binding
				is.Equal(got, b) // get returns what create returned
			}
		}
		checkWant(t, c, err, "decode and Create")
	})
	raw, ok := stringObject(c.Body)
	if !ok {
		return
	}
	for k := range raw {
		if !slices.Contains(createKeys, k) {
			return // only the JSON decoder can see this key
		}
	}
	for _, field := range c.Fields {
		if !slices.Contains(createKeys, field) {
			return
		}
	}
	t.Run("direct", func(t *testing.T) {
		e := newEnv(t, f)
		in := rbac.NewBinding{
			RoleID:       raw["role_id"],
			UserID:       raw["user_id"],
			ResourceType: rbac.ResourceType(raw["resource_type"]),
			ResourceID:   raw["resource_id"],
		}
		b, err := e.s.Create(t.Context(), in)
		checkWant(t, c, err, "Create without package validate")
		if err == nil {
			want, _ := validate.Default().NewBinding(in)
			got := rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID}
			if got != want {
				t.Fatalf("Create without package validate stored %+v; want the input in canonical form %+v", got, want)
			}
		}
	})
}

func runUpdateCase(t *testing.T, f Factory, c payloadCase) {
	// setup creates the binding each update is applied to. The clock stays
	// where it is, so a change of role shows in updated_at only if the
	// store moves it past the clock as the contract demands.
	setup := func(t *testing.T) (*env, rbac.Binding) {
		e := newEnv(t, f)
		b := mustCreate(t, t.Context(), e, nb(1, project(1), 1))
		return e, b
	}
	// check checks the outcome of a successful update.
	check := func(t *testing.T, e *env, before, after rbac.Binding, role string) {
		is := is.New(t)
		want := before
		want.RoleID = role
		want.UpdatedAt = after.UpdatedAt
		is.Equal(after, want)                            // only role_id and updated_at change
		is.True(after.UpdatedAt.After(before.UpdatedAt)) // updated_at moves forward when the role changes
		got, err := e.s.Get(t.Context(), before.ID)
		is.NoErr(err)        // get the updated binding
		is.Equal(got, after) // get returns what ChangeRole returned
	}
	t.Run("decoded", func(t *testing.T) {
		e, b := setup(t)
		rc, err := validate.Default().DecodeUpdate([]byte(c.Body))
		if err == nil {
			var after rbac.Binding
			after, err = e.s.ChangeRole(t.Context(), b.ID, rc)
			if err == nil {
				check(t, e, b, after, rc.RoleID)
			}
		}
		checkWant(t, c, err, "decode and ChangeRole")
		if err != nil {
			unchanged(t, e, b)
		}
	})
	raw, ok := stringObject(c.Body)
	if !ok {
		return
	}
	for k := range raw {
		if k != "role_id" {
			return
		}
	}
	t.Run("direct", func(t *testing.T) {
		e, b := setup(t)
		after, err := e.s.ChangeRole(t.Context(), b.ID, rbac.RoleChange{RoleID: raw["role_id"]})
		checkWant(t, c, err, "ChangeRole without package validate")
		if err == nil {
			check(t, e, b, after, raw["role_id"])
		} else {
			unchanged(t, e, b)
		}
	})
}

// unchanged fails t unless the stored binding is still b.
func unchanged(t *testing.T, e *env, b rbac.Binding) {
	t.Helper()
	got, err := e.s.Get(t.Context(), b.ID)
	if err != nil || got != b {
		t.Fatalf("after a failed write, Get gives %+v, %v; want the binding unchanged: %+v", got, err, b)
	}
}

// stringObject decodes body when it is a JSON object whose values are all
// strings, the payloads that a Go caller can pass to a store directly.
func stringObject(body string) (map[string]string, bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil || raw == nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range raw {
		if len(v) == 0 || v[0] != '"' {
			return nil, false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// wantMissing fails t unless id, a well-formed RoleBinding ID, is not
// found by Get, ChangeRole and Delete.
func wantMissing(t *testing.T, e *env, id string) {
	t.Helper()
	ctx := t.Context()
	_, err := e.s.Get(ctx, id)
	wantCategory(t, err, catNotFound, "Get of RoleBinding ID "+id+" that names nothing")
	_, err = e.s.ChangeRole(ctx, id, rbac.RoleChange{RoleID: roleID(1)})
	wantCategory(t, err, catNotFound, "ChangeRole of RoleBinding ID "+id+" that names nothing")
	err = e.s.Delete(ctx, id)
	wantCategory(t, err, catNotFound, "Delete of RoleBinding ID "+id+" that names nothing")
}

func runIDCase(t *testing.T, f Factory, c idCase) {
	e := newEnv(t, f)
	ctx := t.Context()
	// A canonical RoleBinding ID names no binding in an empty store; any
	// other ID is invalid as a binding ID.
	if c.Want == "ok" && c.Type == "RoleBinding" {
		wantMissing(t, e, c.ID)
	} else {
		_, err := e.s.Get(ctx, c.ID)
		wantInvalid(t, err, "Get("+c.ID+")", "id")
		_, err = e.s.ChangeRole(ctx, c.ID, rbac.RoleChange{RoleID: roleID(1)})
		wantInvalid(t, err, "ChangeRole("+c.ID+")", "id")
		err = e.s.Delete(ctx, c.ID)
		wantInvalid(t, err, "Delete("+c.ID+")", "id")
	}
	if c.Want == "ok" {
		// The same number and key as a binding ID: well formed, names
		// nothing.
		wantMissing(t, e, ids.Encode("RoleBinding", c.Number, c.Key))
	}

	// The ID in each ID field of a create. The other fields are fixed and
	// differ per use, so that no two accepted creates collide.
	uses := []struct {
		field string
		in    rbac.NewBinding
		types []string // types accepted in the field
	}{
		{"role_id", rbac.NewBinding{RoleID: c.ID, UserID: userID(901), ResourceType: rbac.Space, ResourceID: spaceID(901)}, []string{"Role"}},
		{"user_id", rbac.NewBinding{RoleID: roleID(1), UserID: c.ID, ResourceType: rbac.Space, ResourceID: spaceID(902)}, []string{"User"}},
		{"resource_id", rbac.NewBinding{RoleID: roleID(1), UserID: userID(903), ResourceType: rbac.Space, ResourceID: c.ID}, []string{"Space"}},
		{"resource_id", rbac.NewBinding{RoleID: roleID(1), UserID: userID(904), ResourceType: rbac.Project, ResourceID: c.ID}, []string{"Model", "Project"}},
	}
	for _, u := range uses {
		what := "Create with " + u.field + " " + c.ID + " (" + string(u.in.ResourceType) + ")"
		b, err := e.s.Create(ctx, u.in)
		if c.Want == "ok" && slices.Contains(u.types, c.Type) {
			if err != nil {
				t.Fatalf("%s: %v; want success", what, err)
			}
			if u.field != "resource_id" && (b.RoleID != u.in.RoleID || b.UserID != u.in.UserID) {
				t.Fatalf("%s: stored %+v; want the IDs as given", what, b)
			}
			continue
		}
		wantInvalid(t, err, what, u.field)
	}
}
