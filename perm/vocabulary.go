package perm

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
)

// MaxPermissions is the largest vocabulary: package check keeps a role's
// permissions as a fixed-size bitset of this many bits, so that a check is
// one bit test. The default vocabulary has 132.
const MaxPermissions = 256

//go:embed permissions.txt
var defaultPermissions string

// Vocabulary is the fixed set of permission names, each with an index
// (its place in sorted order) that package check uses as a bit number. It
// is immutable and safe for concurrent use. Role payloads are validated
// against the same vocabulary that checks use.
type Vocabulary struct {
	names []string // by bit number, sorted
	bits  map[string]int
	fast  permTable
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
		return nil, fmt.Errorf("perm: vocabulary is empty")
	case len(perms) > MaxPermissions:
		return nil, fmt.Errorf("perm: vocabulary has %d permissions, more than %d", len(perms), MaxPermissions)
	}
	names := slices.Clone(perms)
	slices.Sort(names)
	v := &Vocabulary{names: names, bits: make(map[string]int, len(names))}
	for i, p := range names {
		if !upperSnake(p) {
			return nil, fmt.Errorf("perm: permission %q is not upper snake case", p)
		}
		if i > 0 && names[i-1] == p {
			return nil, fmt.Errorf("perm: permission %q appears more than once", p)
		}
		v.bits[p] = i
	}
	v.fast = newPermTable(names)
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
	_, ok := v.Index(p)
	return ok
}

// Index returns the index of permission p (its place among [Vocabulary.Names],
// from 0 to Len()-1), or false when p is not in the vocabulary. It is the
// lookup of every permission check: a perfect hash when one was found for
// the vocabulary (a few multiplications and one string comparison), the
// map otherwise. It allocates nothing.
func (v *Vocabulary) Index(p string) (int, bool) {
	if v.fast.slots != nil {
		return v.fast.find(v.names, p)
	}
	b, ok := v.bits[p]
	return b, ok
}

// permTable is a perfect hash of a vocabulary: every permission lands in
// its own slot of a small table (a few kilobytes, so it stays in the
// first-level cache), which holds its bit number plus one. Looking a name
// up is one hash and one comparison with the name in that slot, cheaper
// than a general map, and every check starts with it.
type permTable struct {
	seed  uint64
	shift uint
	slots []uint16
}

func newPermTable(names []string) permTable {
	for bits := 12; bits <= 16; bits++ {
		slots := make([]uint16, 1<<bits)
		for seed := uint64(1); seed <= 200; seed++ {
			clear(slots)
			t := permTable{seed: seed*0x9e3779b97f4a7c15 | 1, shift: uint(64 - bits), slots: slots}
			ok := true
			for i, p := range names {
				h := t.hash(p)
				if t.slots[h] != 0 {
					ok = false
					break
				}
				t.slots[h] = uint16(i + 1)
			}
			if ok {
				return t
			}
		}
	}
	return permTable{} // no perfect hash: the map serves
}

func (t *permTable) find(names []string, p string) (int, bool) {
	i := int(t.slots[t.hash(p)]) - 1
	if i < 0 || names[i] != p {
		return -1, false
	}
	return i, true
}

// hash mixes the whole string, eight bytes at a time.
func (t *permTable) hash(s string) uint64 {
	const k = 0xff51afd7ed558ccd
	h := uint64(len(s)) * t.seed
	n := len(s)
	i := 0
	for ; i+8 <= n; i += 8 {
		h = (h ^ le64(s[i:i+8])) * k
		h ^= h >> 31
	}
	if i < n {
		var w uint64
		if n >= 8 {
			w = le64(s[n-8:])
		} else {
			for j := n - 1; j >= 0; j-- {
				w = w<<8 | uint64(s[j])
			}
		}
		h = (h ^ w) * k
		h ^= h >> 31
	}
	h *= t.seed
	return h >> t.shift
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Len returns the number of permissions.
func (v *Vocabulary) Len() int { return len(v.names) }

// Names returns every permission, sorted.
func (v *Vocabulary) Names() []string { return slices.Clone(v.names) }

// Name returns the permission with index i; it panics when i is out of
// range, as a slice index does.
func (v *Vocabulary) Name(i int) string { return v.names[i] }
