package store_test

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/store"
)

var cursorQuery = rbac.ListQuery{ResourceType: rbac.Space, UserID: "VXNlcjoxOmxQZzI=", Limit: 50}

func TestCursorRoundTrip(t *testing.T) {
	is := is.New(t)
	c := store.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	cur := c.Encode(cursorQuery, 42)
	seq, err := c.Decode(cursorQuery, cur)
	is.NoErr(err)
	is.Equal(seq, uint64(42))

	other := cursorQuery
	other.Limit = 7
	seq, err = c.Decode(other, cur)
	is.NoErr(err) // the page size may change between pages
	is.Equal(seq, uint64(42))

	seq, err = c.Decode(cursorQuery, "")
	is.NoErr(err) // no cursor is the first page
	is.Equal(seq, uint64(0))
}

func TestCursorRejects(t *testing.T) {
	c := store.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	cur := c.Encode(cursorQuery, 42)
	otherFilter := cursorQuery
	otherFilter.RoleID = "Um9sZToxOlY0S2E="
	flipped := []byte(cur)
	flipped[5] ^= 1
	tests := []struct {
		name   string
		q      rbac.ListQuery
		cursor string
	}{
		{"a cursor for other filters", otherFilter, cur},
		{"one changed character", cursorQuery, string(flipped)},
		{"a truncated cursor", cursorQuery, cur[:len(cur)-2]},
		{"garbage", cursorQuery, "not a cursor"},
		{"a cursor of another store", cursorQuery, store.NewCursors([]byte("another key of thirty-two bytes!")).Encode(cursorQuery, 42)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := c.Decode(tt.q, tt.cursor)
			var ve *rbac.ValidationError
			is.True(errors.As(err, &ve)) // invalid input
			is.True(ve.Has("cursor"))    // on field cursor
		})
	}
}

// FuzzCursorDecode feeds untrusted cursors to the decoder: it must never
// panic, must reject with a validation error on field "cursor", and may
// accept only a cursor that the codec itself makes for that position.
func FuzzCursorDecode(f *testing.F) {
	c := store.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(c.Encode(cursorQuery, 42))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, cursor string) {
		seq, err := c.Decode(cursorQuery, cursor)
		if err != nil {
			var ve *rbac.ValidationError
			if !errors.As(err, &ve) || !ve.Has("cursor") {
				t.Fatalf("rejection is not invalid input on field cursor: %v", err)
			}
			return
		}
		if cursor != "" && c.Encode(cursorQuery, seq) != cursor {
			t.Fatalf("accepted %q, which the codec does not make for position %d", cursor, seq)
		}
	})
}
