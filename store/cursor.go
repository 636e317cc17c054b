package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/sealed"
)

// Cursors makes and reads list cursors. A cursor carries the position of
// the last binding on a page (its creation sequence number) and a digest of
// the filters that produced it, sealed with an HMAC: a garbled cursor, one
// edited by hand, or one from a list with other filters is rejected as
// invalid input instead of silently returning the wrong page.
//
// Stores that several processes share must give each process the same key.
type Cursors struct {
	sealer *sealed.Sealer
}

// NewCursors returns a codec that seals cursors with key, which should be
// at least 32 random bytes.
func NewCursors(key []byte) *Cursors { return &Cursors{sealer: sealed.New(key)} }

const (
	cursorVersion = 1
	// cursorLen is the sealed body: version, sequence number and filter
	// digest.
	cursorLen = 1 + 8 + 8
	// maxCursor is longer than any cursor the codec makes.
	maxCursor = 64
)

// Encode returns the cursor that continues q after the binding with
// sequence number seq. q must be validated (canonical IDs), so that two
// spellings of one filter make the same cursor.
func (c *Cursors) Encode(q rbac.ListQuery, seq uint64) string {
	var b [cursorLen]byte
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], seq)
	copy(b[9:17], c.filterDigest(q))
	return c.sealer.Seal(b[:])
}

// Decode returns the sequence number that cursor continues after. An
// empty cursor means the first page and gives 0. A cursor that is not one
// this codec made for the same filters gives a [*rbac.ValidationError] on
// field "cursor".
func (c *Cursors) Decode(q rbac.ListQuery, cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := c.sealer.Open(cursor, maxCursor)
	switch {
	case errors.Is(err, sealed.ErrForged):
		return 0, badCursor("garbled or not issued by this store")
	case err != nil:
		return 0, badCursor("garbled")
	case len(b) != cursorLen || b[0] != cursorVersion:
		return 0, badCursor("garbled or not issued by this store")
	case !hmac.Equal(b[9:17], c.filterDigest(q)):
		return 0, badCursor("made for a list with other filters")
	}
	return binary.BigEndian.Uint64(b[1:9]), nil
}

func badCursor(why string) error {
	return rbac.Invalid("cursor", rbac.ReasonInvalid, "cursor is "+why+"; start again from the first page")
}

// filterDigest identifies the filters of q; limit and cursor are not
// filters (a caller may change the page size between pages).
func (c *Cursors) filterDigest(q rbac.ListQuery) []byte {
	h := sha256.New()
	for _, s := range []string{string(q.ResourceType), q.UserID, q.ResourceID, q.RoleID} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)[:8]
}
