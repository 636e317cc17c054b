// Package sealed makes and opens sealed tokens: URL-safe strings that
// carry a few bytes their maker chose, followed by an HMAC of them, so
// that a token that was garbled, edited or made with another key is
// refused instead of being believed. List cursors (package store) and
// reverse-question cursors (package check) are sealed tokens; what the
// bytes mean is theirs.
//
// A token has exactly one spelling: unpadded base64url, as Seal writes
// it. Open refuses every other spelling of the same bytes (line breaks,
// which encoding/base64 would skip; padding; non-zero trailing bits), so
// that a token can be compared as a string and no client can make a
// second one for the same position.
package sealed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// MACLen is how many bytes of HMAC-SHA-256 a token carries after its
// body: 128 bits, far beyond guessing.
const MACLen = 16

var (
	// ErrGarbled is the error of a token that is not in the form Seal
	// writes, or too long.
	ErrGarbled = errors.New("sealed: garbled token")
	// ErrForged is the error of a well-formed token whose MAC does not
	// match its body: edited, or made with another key.
	ErrForged = errors.New("sealed: token not made with this key")
)

// Sealer seals and opens tokens with one key. It is safe for concurrent
// use.
type Sealer struct {
	key []byte
}

// New returns a sealer with a copy of key, which should be at least 32
// random bytes.
func New(key []byte) *Sealer { return &Sealer{key: append([]byte(nil), key...)} }

// Seal returns the token that carries body.
func (s *Sealer) Seal(body []byte) string {
	b := make([]byte, 0, len(body)+MACLen)
	b = append(b, body...)
	b = append(b, s.mac(body)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Open returns the body of token if Seal made it with this key. A token
// longer than maxLen characters, or not spelled as Seal spells it, gives
// ErrGarbled; one whose MAC does not match gives ErrForged.
func (s *Sealer) Open(token string, maxLen int) ([]byte, error) {
	// encoding/base64 skips line breaks as it decodes: a token with one
	// would be a second spelling of the same bytes.
	if len(token) > maxLen || strings.ContainsAny(token, "\r\n") {
		return nil, ErrGarbled
	}
	// Strict refuses non-zero bits after the last byte, the other way to
	// spell the same bytes twice; RawURLEncoding refuses padding.
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) < MACLen {
		return nil, ErrGarbled
	}
	body, mac := b[:len(b)-MACLen], b[len(b)-MACLen:]
	if !hmac.Equal(mac, s.mac(body)) {
		return nil, ErrForged
	}
	return body, nil
}

func (s *Sealer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:MACLen]
}
