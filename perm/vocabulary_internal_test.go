package perm

import (
	"strings"
	"testing"
)

// The perfect hash must be found for the default vocabulary (else every
// check pays for a map lookup), and must answer exactly as the map does.
func TestPermTableAgreesWithMap(t *testing.T) {
	v := DefaultVocabulary()
	if v.fast.slots == nil {
		t.Fatal("no perfect hash for the default vocabulary")
	}
	probes := append(v.Names(), "", "A", "PROJECT", "PROJECT_READX", "project_read", "PROJECT_REA", strings.Repeat("X", 300))
	for _, p := range probes {
		want, wok := v.bits[p]
		got, gok := v.Index(p)
		if gok != wok || (wok && got != want) {
			t.Fatalf("bit(%q) = %d, %v; map says %d, %v", p, got, gok, want, wok)
		}
	}
	small, err := NewVocabulary([]string{"A", "B_C", "LONGER_THAN_EIGHT"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"A", "B_C", "LONGER_THAN_EIGHT", "B", "C"} {
		want, wok := small.bits[p]
		got, gok := small.Index(p)
		if gok != wok || got != want && wok {
			t.Fatalf("small vocabulary: bit(%q) = %d, %v; map says %d, %v", p, got, gok, want, wok)
		}
	}
}
