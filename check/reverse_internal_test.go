package check

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSmallestIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		n, k := rng.IntN(60), 1+rng.IntN(20)
		s := make([]int, n)
		for i := range s {
			s[i] = rng.IntN(1000)
		}
		want := slices.Clone(s)
		slices.Sort(want)
		want = want[:min(k, n)]
		got := smallest(s, k, cmp.Compare[int])
		if !slices.Equal(got, want) {
			t.Fatalf("smallest(%d of %d) = %v, want %v", k, n, got, want)
		}
	}
}
