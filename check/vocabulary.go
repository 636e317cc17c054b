package check

import (
	_ "embed"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// MaxPermissions is the largest vocabulary a [Vocabulary] holds: the size
// of a [PermSet] in bits. The default vocabulary has 132.
const MaxPermissions = 256

// PermSet is a set of permissions as a fixed-size bitset, one bit per
// permission of a [Vocabulary]. A check is a bit test, and "does this role
// hold every permission of that one" is four AND-NOTs.
type PermSet [MaxPermissions / 64]uint64

// Has reports whether the set holds the permission with bit number b.
func (s *PermSet) Has(b int) bool { return s[b>>6]&(1<<(uint(b)&63)) != 0 }

// Add puts the permission with bit number b in the set.
func (s *PermSet) Add(b int) { s[b>>6] |= 1 << (uint(b) & 63) }

// Union returns the permissions in s or in o.
func (s PermSet) Union(o PermSet) PermSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

// Minus returns the permissions in s that are not in o.
func (s PermSet) Minus(o PermSet) PermSet {
	for i := range s {
		s[i] &^= o[i]
	}
	return s
}

// Empty reports whether the set holds nothing.
func (s PermSet) Empty() bool { return s == PermSet{} }

// Len returns the number of permissions in the set.
func (s PermSet) Len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

//go:embed permissions.txt
var defaultPermissions string

// Vocabulary is the fixed set of permission names, each mapped to a bit of
// a [PermSet]. It is immutable and safe for concurrent use. It satisfies
// validate.Vocabulary, so role payloads are checked against the same set
// that checks use.
type Vocabulary struct {
	names []string // by bit number, sorted
	bits  map[string]int
}

var defaultVocabulary = mustVocabulary(strings.Fields(defaultPermissions))

// DefaultVocabulary returns the 132 permissions of the Arize AX API, as
// listed in permissions.txt beside this file.
func DefaultVocabulary() *Vocabulary { return defaultVocabulary }

func mustVocabulary(perms []string) *Vocabulary {
	v, err := NewVocabulary(perms)
	if err != nil {
		panic(err)
	}
	return v
}

// NewVocabulary returns a vocabulary of the given permissions, for a host
// whose API has other permissions than the default. Each must be upper
// snake case (A-Z and 0-9 in words joined by single underscores, starting
// with a letter, such as QUEUE_RECORD_READ) and appear once; there must be
// at least one and at most [MaxPermissions].
func NewVocabulary(perms []string) (*Vocabulary, error) {
	switch {
	case len(perms) == 0:
		return nil, fmt.Errorf("check: vocabulary is empty")
	case len(perms) > MaxPermissions:
		return nil, fmt.Errorf("check: vocabulary has %d permissions, more than %d", len(perms), MaxPermissions)
	}
	names := slices.Clone(perms)
	slices.Sort(names)
	v := &Vocabulary{names: names, bits: make(map[string]int, len(names))}
	for i, p := range names {
		if !upperSnake(p) {
			return nil, fmt.Errorf("check: permission %q is not upper snake case", p)
		}
		if i > 0 && names[i-1] == p {
			return nil, fmt.Errorf("check: permission %q appears more than once", p)
		}
		v.bits[p] = i
	}
	return v, nil
}

func upperSnake(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' || s[len(s)-1] == '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' && s[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// Has reports whether p is a permission of the vocabulary.
func (v *Vocabulary) Has(p string) bool {
	_, ok := v.bits[p]
	return ok
}

// Bit returns the bit number of permission p, or false when p is not in
// the vocabulary.
func (v *Vocabulary) Bit(p string) (int, bool) {
	b, ok := v.bits[p]
	return b, ok
}

// Len returns the number of permissions.
func (v *Vocabulary) Len() int { return len(v.names) }

// Names returns every permission, sorted.
func (v *Vocabulary) Names() []string { return slices.Clone(v.names) }

// Set returns the set of the given permissions and the ones that are not
// in the vocabulary, if any.
func (v *Vocabulary) Set(perms []string) (s PermSet, unknown []string) {
	for _, p := range perms {
		if b, ok := v.bits[p]; ok {
			s.Add(b)
		} else {
			unknown = append(unknown, p)
		}
	}
	return s, unknown
}

// All returns the set of every permission of the vocabulary.
func (v *Vocabulary) All() PermSet {
	var s PermSet
	for b := range v.names {
		s.Add(b)
	}
	return s
}

// List returns the names of the permissions in s, sorted.
func (v *Vocabulary) List(s PermSet) []string {
	out := make([]string, 0, s.Len())
	for b, name := range v.names {
		if s.Has(b) {
			out = append(out, name)
		}
	}
	return out
}
