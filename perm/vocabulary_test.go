package perm_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/sharedtest"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/validate"
)

func TestEmbeddedVocabularyIsTheSharedOne(t *testing.T) {
	is := is.New(t)
	ours, err := os.ReadFile("permissions.txt")
	is.NoErr(err)
	shared := sharedtest.ReadFile(t, "testdata/permissions.txt")
	is.True(bytes.Equal(ours, shared)) // perm/permissions.txt is a byte-identical copy
}

// TestDefaultVocabulary reads the embedded copy, not the shared file, so
// that it runs on a copy of the module too.
func TestDefaultVocabulary(t *testing.T) {
	is := is.New(t)
	ours, err := os.ReadFile("permissions.txt")
	is.NoErr(err)
	v := perm.DefaultVocabulary()
	is.Equal(v.Len(), 132)
	is.Equal(v.Names(), strings.Fields(string(ours))) // every line, in order
	is.True(v.Has("QUEUE_RECORD_ANNOTATE"))
	is.True(!v.Has("queue_record_annotate"))
}

func TestNewVocabulary(t *testing.T) {
	is := is.New(t)
	v, err := perm.NewVocabulary([]string{"WIDGET_READ", "A1_B2", "WIDGET_WRITE"})
	is.NoErr(err)
	is.Equal(v.Names(), []string{"A1_B2", "WIDGET_READ", "WIDGET_WRITE"})

	too := make([]string, perm.MaxPermissions+1)
	for i := range too {
		too[i] = "P_" + strings.Repeat("A", i+1)
	}
	for _, bad := range [][]string{
		nil,
		{"widget_read"},
		{"WIDGET__READ"},
		{"_WIDGET"},
		{"WIDGET_"},
		{"1WIDGET"},
		{"WIDGET-READ"},
		{"WIDGET READ"},
		{""},
		{"WIDGET_READ", "WIDGET_READ"},
		too,
	} {
		_, err := perm.NewVocabulary(bad)
		is.True(err != nil) // rejected
	}
	_, err = perm.NewVocabulary(too[:perm.MaxPermissions])
	is.NoErr(err) // exactly the maximum fits
}

func TestVocabularyIsAValidateVocabulary(t *testing.T) {
	is := is.New(t)
	var _ *perm.Vocabulary = perm.DefaultVocabulary()
	_, err := validate.Default().NewRole(perm.DefaultVocabulary(), rbac.NewRole{Name: "r", Permissions: []string{"QUEUE_READ", "SPACE_FLY"}})
	var ve *rbac.ValidationError
	is.True(errors.As(err, &ve))
	is.Equal(len(ve.Fields), 1) // only the unknown one
}

func TestDefaultCatalogue(t *testing.T) {
	is := is.New(t)
	v := perm.DefaultVocabulary()
	cat := perm.DefaultCatalogue(v)
	is.Equal(len(cat), 4)
	table := ids.DefaultTable()
	byName := map[string]rbac.Role{}
	for _, r := range cat {
		is.True(r.Predefined)
		is.True(slices.IsSorted(r.Permissions))
		_, err := table.Canonical(ids.Role, r.ID)
		is.NoErr(err) // a canonical Role ID
		byName[r.Name] = r
	}
	is.Equal(byName["Admin"].ID, perm.AdminRoleID)
	is.Equal(byName["Admin"].Permissions, v.Names()) // every permission

	// Member: written out by hand from CHECKS.md, not computed, so that a
	// wrong prefix rule in the code cannot agree with itself.
	excluded := []string{
		"ORGANIZATION_CREATE", "ORGANIZATION_DELETE", "ORGANIZATION_UPDATE",
		"PROJECT_RESTRICT",
		"ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE", "ROLE_BINDING_READ",
		"SERVICE_KEY_CREATE", "SERVICE_KEY_READ", "SERVICE_KEY_REVOKE",
		"SPACE_CREATE", "SPACE_DELETE", "SPACE_UPDATE",
		"USER_CREATE", "USER_DELETE", "USER_PERMISSION_UPDATE", "USER_READ", "USER_UPDATE",
	}
	var member []string
	for _, p := range v.Names() {
		if !slices.Contains(excluded, p) {
			member = append(member, p)
		}
	}
	is.Equal(byName["Member"].ID, perm.MemberRoleID)
	is.Equal(byName["Member"].Permissions, member)
	is.True(byName["Member"].HasPermission("SPACE_READ"))        // _READ of SPACE_* is kept
	is.True(byName["Member"].HasPermission("ORGANIZATION_READ")) // and of ORGANIZATION_*

	ro := byName["Read-only"]
	is.Equal(ro.ID, perm.ReadOnlyRoleID)
	is.Equal(len(ro.Permissions), 32) // grep -c "_READ$" permissions.txt
	for _, p := range ro.Permissions {
		is.True(strings.HasSuffix(p, "_READ"))
	}
	is.True(ro.HasPermission("AI_PROVIDER_READ") && ro.HasPermission("USER_READ"))

	is.Equal(byName["Annotator"].ID, perm.AnnotatorRoleID)
	is.Equal(byName["Annotator"].Permissions, []string{"QUEUE_READ", "QUEUE_RECORD_ANNOTATE", "QUEUE_RECORD_READ"})
}

func TestHostCatalogueAndVocabulary(t *testing.T) {
	is := is.New(t)
	v, err := perm.NewVocabulary([]string{"WIDGET_READ", "WIDGET_WRITE"})
	is.NoErr(err)
	cat := perm.DefaultCatalogue(v)
	var names []string
	for _, r := range cat {
		names = append(names, r.Name)
	}
	is.Equal(names, []string{"Admin", "Member", "Read-only"}) // Annotator, left with nothing, is left out
	is.Equal(cat[2].Permissions, []string{"WIDGET_READ"})

	custom := []rbac.Role{{ID: ids.Encode("Role", "9", ""), Name: "Widgeteer", Permissions: []string{"WIDGET_WRITE", "WIDGET_WRITE"}}}
	table := ids.DefaultTable()
	got, err := perm.CheckCatalogue(custom, v, &table)
	is.NoErr(err)
	is.Equal(len(got), 1)
	is.True(got[0].Predefined)                             // every catalogue role is predefined
	is.Equal(got[0].Permissions, []string{"WIDGET_WRITE"}) // repeats merged
	is.Equal(custom[0].Permissions[1], "WIDGET_WRITE")     // the caller's slice untouched

	for name, bad := range map[string][]rbac.Role{
		"not an id":              {{ID: "nope", Name: "x", Permissions: []string{"WIDGET_READ"}}},
		"a user id":              {{ID: ids.Encode("User", "1", ""), Name: "x", Permissions: []string{"WIDGET_READ"}}},
		"blank name":             {{ID: ids.Encode("Role", "1", ""), Name: "", Permissions: []string{"WIDGET_READ"}}},
		"untrimmed name":         {{ID: ids.Encode("Role", "1", ""), Name: " x", Permissions: []string{"WIDGET_READ"}}},
		"name not UTF-8":         {{ID: ids.Encode("Role", "1", ""), Name: "x\xff", Permissions: []string{"WIDGET_READ"}}},
		"NUL in description":     {{ID: ids.Encode("Role", "1", ""), Name: "x", Description: "a\x00b", Permissions: []string{"WIDGET_READ"}}},
		"no permission":          {{ID: ids.Encode("Role", "1", ""), Name: "x"}},
		"unknown permission":     {{ID: ids.Encode("Role", "1", ""), Name: "x", Permissions: []string{"SPACE_READ"}}},
		"id twice":               {{ID: ids.Encode("Role", "1", ""), Name: "x", Permissions: []string{"WIDGET_READ"}}, {ID: ids.Encode("Role", "1", ""), Name: "y", Permissions: []string{"WIDGET_READ"}}},
		"name twice":             {{ID: ids.Encode("Role", "1", ""), Name: "x", Permissions: []string{"WIDGET_READ"}}, {ID: ids.Encode("Role", "2", ""), Name: "x", Permissions: []string{"WIDGET_READ"}}},
		"non-canonical spelling": {{ID: ids.Encode("Role", "1", "")[:len(ids.Encode("Role", "1", ""))-1], Name: "x", Permissions: []string{"WIDGET_READ"}}},
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			_, err := perm.CheckCatalogue(bad, v, &table)
			is.True(err != nil)                                             // a bad host catalogue is refused
			is.True(strings.HasPrefix(err.Error(), "perm: catalogue role")) // and says which role
		})
	}
}
