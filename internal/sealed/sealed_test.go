package sealed_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac/internal/sealed"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestSealOpen(t *testing.T) {
	is := is.New(t)
	s := sealed.New(key)
	for _, body := range [][]byte{nil, {1}, []byte("a body of some length, with bytes \x00\xff")} {
		token := s.Seal(body)
		is.True(!strings.ContainsAny(token, "=+/\r\n")) // unpadded base64url
		got, err := s.Open(token, 1024)
		is.NoErr(err)
		is.True(bytes.Equal(got, body)) // the body comes back
	}
}

func TestOpenRefuses(t *testing.T) {
	s := sealed.New(key)
	token := s.Seal([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	other := sealed.New([]byte("another key, just as long as the first"))
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", sealed.ErrGarbled},
		{"shorter than a MAC", token[:10], sealed.ErrGarbled},
		{"too long", token + strings.Repeat("A", 2000), sealed.ErrGarbled},
		{"a line break inside", token[:3] + "\n" + token[3:], sealed.ErrGarbled},
		{"a carriage return at the end", token + "\r", sealed.ErrGarbled},
		{"padding", token + "=", sealed.ErrGarbled},
		{"the standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(token) + "+", sealed.ErrGarbled},
		{"not base64", "!!!!" + token, sealed.ErrGarbled},
		{"one character changed", flip(token, 5), sealed.ErrForged},
		{"non-zero bits after the last byte", trailingBit(token), sealed.ErrGarbled},
		{"made with another key", other.Seal([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}), sealed.ErrForged},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Open(c.token, 1024)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open(%q) = %v, want %v", c.token, err, c.want)
			}
		})
	}
}

// flip changes the character at i to another of the alphabet.
func flip(token string, i int) string {
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// trailingBit sets the lowest bit of the last character, which a token of
// this length leaves zero: the same bytes, spelled another way.
func trailingBit(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[last|1])
}

// FuzzOpen feeds untrusted tokens to Open: it must never panic, and may
// accept only a token that Seal writes for the body it returns.
func FuzzOpen(f *testing.F) {
	s := sealed.New(key)
	good := s.Seal([]byte("position 42"))
	f.Add(good)
	f.Add(good[:3] + "\n" + good[3:])
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		body, err := s.Open(token, 1024)
		if err != nil {
			if !errors.Is(err, sealed.ErrGarbled) && !errors.Is(err, sealed.ErrForged) {
				t.Fatalf("Open(%q) failed with an error of no kind: %v", token, err)
			}
			return
		}
		if s.Seal(body) != token {
			t.Fatalf("accepted %q, which Seal does not write", token)
		}
	})
}
