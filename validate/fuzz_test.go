package validate_test

import (
	"errors"
	"testing"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/validate"
)

var fuzzSeeds = []string{
	`{"role_id": "Um9sZToxOlY0S2E=", "user_id": "VXNlcjoxOmxQZzI=", "resource_type": "PROJECT", "resource_id": "TW9kZWw6MTpGdmxM"}`,
	`{"role_id": "Um9sZToyOmRLMjQ="}`,
	`{"role_id": null, "role_id": 1, "id": "x"}`,
	`{"role_id": "\u0055m9sZToxOlY0S2E="}`,
	`[]`, `{`, `{}{}`, `"x"`,
}

// checkRejection fails unless err is a validation error that names at
// least one problem, each with a reason and a message.
func checkRejection(t *testing.T, err error) {
	var ve *rbac.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, rbac.ErrInvalid) || len(ve.Fields) == 0 {
		t.Fatalf("rejection is not a validation error with fields: %#v", err)
	}
	for _, fe := range ve.Fields {
		if fe.Reason == "" || fe.Message == "" {
			t.Fatalf("field error without reason or message: %#v", fe)
		}
	}
}

// FuzzDecodeCreate checks that decoding never panics, that a rejection is
// always a proper validation error, and that whatever is accepted passes
// the Go-level rules unchanged (it is already canonical).
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	v := validate.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		nb, err := v.DecodeCreate(data)
		if err != nil {
			checkRejection(t, err)
			return
		}
		again, err := v.NewBinding(nb)
		if err != nil || again != nb {
			t.Fatalf("accepted %q gives %+v, which does not pass validation unchanged: %+v, %v", data, nb, again, err)
		}
	})
}

// FuzzDecodeUpdate is FuzzDecodeCreate for update payloads.
func FuzzDecodeUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	v := validate.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := v.DecodeUpdate(data)
		if err != nil {
			checkRejection(t, err)
			return
		}
		again, err := v.RoleChange(c)
		if err != nil || again != c {
			t.Fatalf("accepted %q gives %+v, which does not pass validation unchanged: %+v, %v", data, c, again, err)
		}
	})
}
