// Package ids encodes and decodes global IDs: standard padded base64 of the
// text "Type:Number" or "Type:Number:Key".
//
// Only the canonical spelling of an ID is accepted: the exact string that
// standard padded base64 produces for its decoded text. Go's base64 decoders
// accept other spellings of the same text (missing or extra padding, non-zero
// trailing bits, embedded line breaks); each of those would let one user or
// resource hide behind two IDs, so each is rejected here with a reason that
// says which rule it broke.
//
// The package is a leaf: it imports nothing from this module.
package ids

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unsafe"

	"github.com/cockroachdb/apd/v3"
)

// MaxLen is the longest encoded ID accepted. It is checked before any
// decoding, so a huge input costs nothing. 512 bytes of base64 hold 384
// bytes of text: room for long type names, a 128-bit number and a key.
const MaxLen = 512

const maxText = MaxLen / 4 * 3

// ErrMalformed is matched, under [errors.Is], by every error that says an
// ID is not a canonical global ID. The error itself is an [*Error].
var ErrMalformed = errors.New("ids: malformed global id")

// strictStd rejects non-zero trailing bits. Strict returns a copy of the
// whole encoding, so it is made once, not per call.
var strictStd = base64.StdEncoding.Strict()

// Error says why a string is not a canonical global ID.
type Error struct {
	// Reason is a short phrase such as "missing padding" or "non-zero
	// trailing bits"; it is meant for people and is stable enough to test.
	Reason string
}

func (e *Error) Error() string { return "ids: malformed global id: " + e.Reason }

// Is makes every *Error match [ErrMalformed].
func (e *Error) Is(target error) bool { return target == ErrMalformed }

// ID is a decoded global ID.
type ID struct {
	// Type is the type name: an ASCII letter, then letters and digits.
	Type string
	// Number is the numeric segment in canonical decimal: digits only, no
	// sign, no leading zeros. It may be longer than 64 bits; [ID.Int]
	// gives its exact value. Two canonical digit strings are equal exactly
	// when their values are, so comparing Number compares values.
	Number string
	// Key is the optional third segment, ASCII letters and digits, or "".
	Key string
}

// Text returns the decoded form, "Type:Number" or "Type:Number:Key".
func (id ID) Text() string {
	if id.Key == "" {
		return id.Type + ":" + id.Number
	}
	return id.Type + ":" + id.Number + ":" + id.Key
}

// String returns the canonical encoded form.
func (id ID) String() string { return base64.StdEncoding.EncodeToString([]byte(id.Text())) }

// Int returns the exact value of the numeric segment. It never goes through
// a float, so 340282366920938463463374607431768211455 stays that number.
func (id ID) Int() (*apd.BigInt, error) {
	var n apd.BigInt
	if _, ok := n.SetString(id.Number, 10); !ok || checkNumber([]byte(id.Number)) != "" {
		return nil, &Error{Reason: "number is not a canonical non-negative integer"}
	}
	return &n, nil
}

// Valid reports whether the parts make a well-formed ID.
func (id ID) Valid() error {
	if len(id.Text()) > maxText {
		return &Error{Reason: "too long"}
	}
	if r := checkType([]byte(id.Type)); r != "" {
		return &Error{Reason: r}
	}
	if r := checkNumber([]byte(id.Number)); r != "" {
		return &Error{Reason: r}
	}
	if id.Key != "" {
		if r := checkKey([]byte(id.Key)); r != "" {
			return &Error{Reason: r}
		}
	}
	return nil
}

// New returns the ID with the given parts, checked. number is parsed
// exactly as a decimal integer and must be canonical.
func New(typ, number, key string) (ID, error) {
	id := ID{Type: typ, Number: number, Key: key}
	if err := id.Valid(); err != nil {
		return ID{}, err
	}
	if _, err := id.Int(); err != nil {
		return ID{}, err
	}
	return id, nil
}

// Encode returns the canonical encoded ID with the given parts. It panics
// if the parts are not well formed; use [New] for parts from outside.
func Encode(typ, number, key string) string {
	id, err := New(typ, number, key)
	if err != nil {
		panic(err)
	}
	return id.String()
}

// Decode decodes a canonical global ID. Any other spelling is an [*Error]
// whose reason names the rule it broke. The numeric segment is parsed
// exactly (see [ID.Int]) as part of decoding.
func Decode(s string) (ID, error) {
	var buf [maxText]byte
	typ, num, key, reason := parse(s, &buf)
	if reason != "" {
		return ID{}, &Error{Reason: reason}
	}
	id := ID{Type: string(typ), Number: string(num), Key: string(key)}
	if _, err := id.Int(); err != nil {
		return ID{}, err
	}
	return id, nil
}

// parse checks that s is a canonical global ID and returns its segments as
// slices of buf. It allocates nothing, so that stores can check IDs on
// every call at map-lookup cost. reason is empty when s is canonical.
func parse(s string, buf *[maxText]byte) (typ, num, key []byte, reason string) {
	if r := checkEncoding(s); r != "" {
		return nil, nil, nil, r
	}
	// The decoder only reads src, so a view of the string's bytes spares
	// copying every ID on the hot path.
	src := unsafe.Slice(unsafe.StringData(s), len(s))
	n, err := strictStd.Decode(buf[:], src)
	if err != nil {
		// checkEncoding has ruled out everything but the trailing bits,
		// which only the strict decoder checks.
		return nil, nil, nil, "non-zero trailing bits"
	}
	text := buf[:n]
	// Splitting by hand keeps the slices on the stack.
	var seg [3][]byte
	count, start := 0, 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == ':' {
			if count == 3 {
				return nil, nil, nil, "more than three segments"
			}
			seg[count] = text[start:i]
			count++
			start = i + 1
		}
	}
	if count < 2 {
		return nil, nil, nil, "no number segment: want Type:Number or Type:Number:Key"
	}
	if r := checkType(seg[0]); r != "" {
		return nil, nil, nil, r
	}
	if r := checkNumber(seg[1]); r != "" {
		return nil, nil, nil, r
	}
	if count == 3 {
		if r := checkKey(seg[2]); r != "" {
			return nil, nil, nil, r
		}
	}
	return seg[0], seg[1], seg[2], ""
}

// checkEncoding checks everything about the base64 spelling of s that can
// be seen without decoding, so that each non-canonical form gets its own
// reason instead of a generic "illegal data at offset n".
func checkEncoding(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxLen:
		return fmt.Sprintf("longer than %d bytes", MaxLen)
	}
	pad := 0
	for i := 0; i < len(s); i++ {
		switch class[s[i]] {
		case classAlphabet:
			if pad > 0 {
				return "padding in the middle"
			}
		case classPad:
			pad++
		case classLineBreak:
			return "embedded line break"
		case classSpace:
			return "whitespace"
		case classURLSafe:
			return "URL-safe alphabet: want standard base64 (+ and /)"
		default:
			return fmt.Sprintf("not base64: byte %#02x at offset %d", s[i], i)
		}
	}
	data := len(s) - pad
	want := (4 - data%4) % 4
	switch {
	case data%4 == 1:
		return "truncated: impossible length"
	case pad < want:
		return "missing padding"
	case pad > want:
		return "extra padding"
	}
	return ""
}

// The byte classes of checkEncoding. A table makes the scan of every ID
// one load and one branch per byte.
const (
	classOther uint8 = iota
	classAlphabet
	classPad
	classLineBreak
	classSpace
	classURLSafe
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case isLetter(b) || isDigit(b) || b == '+' || b == '/':
			t[c] = classAlphabet
		case b == '=':
			t[c] = classPad
		case b == '\r' || b == '\n':
			t[c] = classLineBreak
		case b == ' ' || b == '\t' || b == '\v' || b == '\f':
			t[c] = classSpace
		case b == '-' || b == '_':
			t[c] = classURLSafe
		}
	}
	return t
}()

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func checkType(t []byte) string {
	if len(t) == 0 {
		return "empty type"
	}
	if !isLetter(t[0]) {
		return "type must start with an ASCII letter"
	}
	for _, c := range t[1:] {
		if !isLetter(c) && !isDigit(c) {
			return "type must be ASCII letters and digits"
		}
	}
	return ""
}

func checkNumber(n []byte) string {
	if len(n) == 0 {
		return "empty number"
	}
	for _, c := range n {
		if !isDigit(c) {
			return "number must be decimal digits only (no sign, exponent or fraction)"
		}
	}
	if n[0] == '0' && len(n) > 1 {
		return "number has a leading zero"
	}
	return ""
}

func checkKey(k []byte) string {
	if len(k) == 0 {
		return "empty key: omit the segment instead"
	}
	for _, c := range k {
		if !isLetter(c) && !isDigit(c) {
			return "key must be ASCII letters and digits"
		}
	}
	return ""
}
