package memstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/matryer/is"
)

// TestSeqList drives one index list with random appends, inserts in the
// middle and removals, at sizes that make it split and merge chunks many
// times, and compares it after every step with a plain sorted slice:
// length, order, chunk invariants, and a walk from random positions.
func TestSeqList(t *testing.T) {
	for _, tc := range []struct {
		name             string
		prefill          int
		appendP, insertP int // percent of steps; the rest remove
		steps            int
	}{
		{"mostly appends, like creates", 0, 80, 5, 20_000},
		{"inserts in the middle, like role changes", 0, 10, 60, 20_000},
		{"mostly removals, draining the list", 20_000, 10, 5, 30_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			rng := rand.New(rand.NewPCG(11, 13))
			var l seqList
			var want []uint64
			next := uint64(1000) // seqs below stay free for inserts
			for range tc.prefill {
				next += 1 + uint64(rng.IntN(3))
				l.insert(entry{seq: next, slot: uint32(next)})
				want = append(want, next)
			}
			mostChunks := 0
			for step := range tc.steps {
				switch p := rng.IntN(100); {
				case p < tc.appendP || len(want) == 0 && p < tc.appendP+tc.insertP:
					// Gaps between appended seqs leave room for inserts.
					next += 1 + uint64(rng.IntN(16))
					l.insert(entry{seq: next, slot: uint32(next)})
					want = append(want, next)
				case p < tc.appendP+tc.insertP:
					seq := uint64(rng.IntN(int(next)))
					if _, found := slices.BinarySearch(want, seq); found {
						continue
					}
					l.insert(entry{seq: seq, slot: uint32(seq)})
					want = slices.Insert(want, sortedIndex(want, seq), seq)
				default:
					if len(want) == 0 {
						is.True(!l.remove(next + 1)) // removal from an empty list
						continue
					}
					i := rng.IntN(len(want))
					is.True(l.remove(want[i]))  // removal of a present entry
					is.True(!l.remove(want[i])) // a second removal finds nothing
					want = slices.Delete(want, i, i+1)
				}
				if step%997 == 0 {
					is.NoErr(checkList(&l, want))
				}
				mostChunks = max(mostChunks, len(l.chunks))
			}
			is.NoErr(checkList(&l, want))
			is.True(mostChunks >= 20) // the list spanned many chunks
		})
	}
}

func sortedIndex(s []uint64, x uint64) int {
	i, _ := slices.BinarySearch(s, x)
	return i
}

// checkList compares l with want and checks the chunk invariants, then
// walks l from several positions.
func checkList(l *seqList, want []uint64) error {
	if l.n != len(want) {
		return fmt.Errorf("list counts %d entries, want %d", l.n, len(want))
	}
	var got []uint64
	for i, c := range l.chunks {
		if len(c.e) == 0 || len(c.e) > chunkMax {
			return fmt.Errorf("chunk %d has %d entries", i, len(c.e))
		}
		if c.first > c.e[0].seq {
			return fmt.Errorf("chunk %d: first %d above its first seq %d", i, c.first, c.e[0].seq)
		}
		if i > 0 && c.first <= got[len(got)-1] {
			return fmt.Errorf("chunk %d: first %d not above the previous seq %d", i, c.first, got[len(got)-1])
		}
		for _, e := range c.e {
			if uint64(e.slot) != e.seq {
				return fmt.Errorf("entry %d carries slot %d", e.seq, e.slot)
			}
			got = append(got, e.seq)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("list holds %d seqs that differ from the %d wanted", len(got), len(want))
	}
	// A walk after x yields exactly the seqs above x.
	probes := []uint64{0}
	if len(want) > 0 {
		probes = append(probes, want[0], want[len(want)/2], want[len(want)/2]+1, want[len(want)-1])
	}
	for _, x := range probes {
		var walked []uint64
		for it := l.after(x); ; it.next() {
			e, ok := it.peek()
			if !ok {
				break
			}
			walked = append(walked, e.seq)
		}
		if exp := want[sortedIndex(want, x+1):]; !slices.Equal(walked, exp) {
			return fmt.Errorf("walk after %d gives %d seqs, want %d", x, len(walked), len(exp))
		}
	}
	return nil
}

// TestMerged checks the walk over the two halves of an index, in seq
// order, from a position.
func TestMerged(t *testing.T) {
	is := is.New(t)
	var a, b seqList
	for _, s := range []uint64{1, 4, 5, 9} {
		a.insert(entry{seq: s})
	}
	for _, s := range []uint64{2, 3, 7, 10, 11} {
		b.insert(entry{seq: s})
	}
	var got []uint64
	m := merged{a: a.after(3), b: b.after(3)}
	for {
		e, ok := m.peek()
		if !ok {
			break
		}
		got = append(got, e.seq)
		m.next()
	}
	is.Equal(got, []uint64{4, 5, 7, 9, 10, 11})
}
