package check

import (
	"math/bits"

	"github.com/rolebind/rbac/perm"
)

// permSet is a set of permissions as a fixed-size bitset, one bit per
// permission of a vocabulary (its [perm.Vocabulary.Index]). A check is a
// bit test, and "does this role hold every permission of that one" is
// four AND-NOTs.
type permSet [perm.MaxPermissions / 64]uint64

func (s *permSet) has(b int) bool { return s[b>>6]&(1<<(uint(b)&63)) != 0 }

func (s *permSet) add(b int) { s[b>>6] |= 1 << (uint(b) & 63) }

func (s permSet) union(o permSet) permSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

func (s permSet) minus(o permSet) permSet {
	for i := range s {
		s[i] &^= o[i]
	}
	return s
}

func (s permSet) empty() bool { return s == permSet{} }

func (s permSet) len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// setOf returns the set of the given permissions of v; names outside v
// are left out (no check can ask for them, so they grant nothing).
func setOf(v *perm.Vocabulary, perms []string) permSet {
	var s permSet
	for _, p := range perms {
		if b, ok := v.Index(p); ok {
			s.add(b)
		}
	}
	return s
}

// namesOf returns the names of the permissions in s, sorted.
func namesOf(v *perm.Vocabulary, s permSet) []string {
	out := make([]string, 0, s.len())
	for b := range v.Len() {
		if s.has(b) {
			out = append(out, v.Name(b))
		}
	}
	return out
}
