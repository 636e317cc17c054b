package store_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rolebind/rbac/store"
)

// FuzzChangeUnmarshal reads change rows as the stores keep them in their
// log (a row can be damaged, or written by an older or a foreign store):
// decoding never panics, and a change that decodes with a known kind
// reaches a fixed point in one more encode and decode, so that what a
// store writes back is what it read.
func FuzzChangeUnmarshal(f *testing.F) {
	f.Add([]byte(`{"revision":3,"kind":"binding.created","at":"2024-06-01T12:00:00.123456Z","binding":{"id":"Um9sZUJpbmRpbmc6MTphQmNE","role_id":"Um9sZToxOlY0S2E=","user_id":"VXNlcjoxOmxQZzI=","resource_type":"SPACE","resource_id":"U3BhY2U6MTp1Rk4x","created_at":"2024-06-01T12:00:00.123456Z","updated_at":"2024-06-01T12:00:00.123456Z"}}`))
	f.Add([]byte(`{"revision":4,"kind":"role.updated","at":"2024-06-01T12:00:00Z","role":{"id":"Um9sZToxOlY0S2E=","name":"R","description":"","permissions":["SPACE_READ"],"is_predefined":false,"created_at":"2024-06-01T12:00:00Z","updated_at":"2024-06-01T12:00:00Z"}}`))
	f.Add([]byte(`{"revision":5,"kind":"project.space_set","at":"2024-06-01T12:00:00Z","project_id":"TW9kZWw6MTpGdmxM","space_id":"U3BhY2U6MTp1Rk4x"}`))
	f.Add([]byte(`{"kind":"no.such.kind"}`))
	f.Add([]byte(`{"kind":"binding.deleted","at":"not a time"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ch store.Change
		if err := json.Unmarshal(data, &ch); err != nil || !ch.Kind.Valid() {
			return
		}
		once, err := json.Marshal(ch)
		if err != nil {
			t.Fatalf("a change read from %q does not encode: %v", data, err)
		}
		var back store.Change
		if err := json.Unmarshal(once, &back); err != nil {
			t.Fatalf("a change's own encoding %s does not decode: %v", once, err)
		}
		twice, err := json.Marshal(back)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("encode, decode, encode is not a fixed point:\n%s\n%s (%v)", once, twice, err)
		}
	})
}
