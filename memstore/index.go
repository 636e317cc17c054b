package memstore

import "slices"

// entry places one binding in an ordered index: seq, the binding's
// creation sequence number, orders the index; slot finds its record.
type entry struct {
	seq  uint64
	slot uint32
}

// Chunk sizes of a seqList. A chunk is small enough that shifting its
// entries on an insert or a removal costs a few hundred nanoseconds, and
// large enough that a list of a million entries has only a few thousand
// chunks, so that moving chunk headers on a split or a merge stays cheap.
const (
	chunkMax = 256
	chunkMin = chunkMax / 4
)

// chunk is a run of entries in seq order.
//
// first is a lower bound for the seqs of the chunk that is above every seq
// of the chunk before it. It is set when the chunk is made and is left
// alone when the chunk's first entry is removed: the stale value is still
// such a bound, so a removal never has to update it.
type chunk struct {
	first uint64
	e     []entry
}

// seqList is one secondary index: the bindings of one key (a user, a
// resource, a role, a resource type) in creation order. It is a two-level
// structure, a sorted array of sorted chunks, so that every operation is a
// binary search plus a short copy:
//
//   - appending a new binding (the common case: seqs only grow) is O(1);
//   - inserting in the middle (a binding that moves to another role keeps
//     its seq) and removing (a delete in the middle) are O(log n) to find
//     the place and O(chunkMax) to shift within the chunk;
//   - seeking to the first entry after a cursor's seq is O(log n), so a
//     deep page costs what the first one does.
//
// Invariants: no chunk is empty; the firsts are strictly increasing; every
// seq of chunk i lies in [chunks[i].first, chunks[i+1].first).
type seqList struct {
	chunks []chunk
	n      int
}

// find returns the index of the chunk that holds seq or would hold it:
// the last chunk whose first is at most seq, or -1 when seq lies below
// every chunk.
func (l *seqList) find(seq uint64) int {
	lo, hi := 0, len(l.chunks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.chunks[m].first <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// above returns the index of the first entry of e whose seq is above seq.
func above(e []entry, seq uint64) int {
	lo, hi := 0, len(e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m].seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insert adds x, whose seq is not in the list yet.
func (l *seqList) insert(x entry) {
	l.n++
	nc := len(l.chunks)
	if nc == 0 {
		l.chunks = append(l.chunks, chunk{first: x.seq, e: []entry{x}})
		return
	}
	last := &l.chunks[nc-1]
	if x.seq > last.e[len(last.e)-1].seq {
		// A new binding: its seq is the highest yet.
		if len(last.e) < chunkMax {
			last.e = append(last.e, x)
			return
		}
		e := make([]entry, 1, chunkMax)
		e[0] = x
		l.chunks = append(l.chunks, chunk{first: x.seq, e: e})
		return
	}
	i := l.find(x.seq)
	if i < 0 {
		i = 0
		l.chunks[0].first = x.seq
	}
	c := &l.chunks[i]
	c.e = slices.Insert(c.e, above(c.e, x.seq), x)
	if len(c.e) > chunkMax {
		half := len(c.e) / 2
		tail := make([]entry, len(c.e)-half, chunkMax)
		copy(tail, c.e[half:])
		c.e = c.e[:half]
		l.chunks = slices.Insert(l.chunks, i+1, chunk{first: tail[0].seq, e: tail})
	}
}

// remove takes the entry with the given seq out of the list and reports
// whether it was there.
func (l *seqList) remove(seq uint64) bool {
	i := l.find(seq)
	if i < 0 {
		return false
	}
	c := &l.chunks[i]
	j := above(c.e, seq) - 1
	if j < 0 || c.e[j].seq != seq {
		return false
	}
	c.e = slices.Delete(c.e, j, j+1)
	l.n--
	switch {
	case l.n == 0:
		// Let go of the memory of a list that is empty now.
		l.chunks = nil
	case len(c.e) == 0:
		l.chunks = slices.Delete(l.chunks, i, i+1)
	case len(c.e) < chunkMin:
		l.merge(i)
	}
	return true
}

// merge joins the small chunk i with a neighbour when they fit in one
// chunk, so that random deletes cannot leave a long list of nearly empty
// chunks behind.
func (l *seqList) merge(i int) {
	switch {
	case i > 0 && len(l.chunks[i-1].e)+len(l.chunks[i].e) <= chunkMax:
		l.chunks[i-1].e = append(l.chunks[i-1].e, l.chunks[i].e...)
		l.chunks = slices.Delete(l.chunks, i, i+1)
	case i+1 < len(l.chunks) && len(l.chunks[i].e)+len(l.chunks[i+1].e) <= chunkMax:
		l.chunks[i].e = append(l.chunks[i].e, l.chunks[i+1].e...)
		l.chunks = slices.Delete(l.chunks, i+1, i+2)
	}
}

// iter walks a seqList in seq order. The zero iter is exhausted.
type iter struct {
	l      *seqList
	ci, ei int
}

// after returns an iterator at the first entry whose seq is above seq.
func (l *seqList) after(seq uint64) iter {
	i := l.find(seq)
	if i < 0 {
		return iter{l: l}
	}
	j := above(l.chunks[i].e, seq)
	if j == len(l.chunks[i].e) {
		return iter{l: l, ci: i + 1}
	}
	return iter{l: l, ci: i, ei: j}
}

// peek returns the current entry, or false when the walk is over.
func (it *iter) peek() (entry, bool) {
	if it.l == nil || it.ci >= len(it.l.chunks) {
		return entry{}, false
	}
	return it.l.chunks[it.ci].e[it.ei], true
}

// next moves past the current entry.
func (it *iter) next() {
	it.ei++
	if it.ei >= len(it.l.chunks[it.ci].e) {
		it.ci++
		it.ei = 0
	}
}

// merged walks two lists as one, in seq order. The lists never share a
// seq: they are the two resource-type halves of one key's bindings.
type merged struct {
	a, b iter
}

// peek returns the entry with the lower seq of the two walks.
func (m *merged) peek() (entry, bool) {
	x, okA := m.a.peek()
	y, okB := m.b.peek()
	switch {
	case okA && (!okB || x.seq < y.seq):
		return x, true
	case okB:
		return y, true
	}
	return entry{}, false
}

// next moves past the entry peek returned.
func (m *merged) next() {
	x, okA := m.a.peek()
	y, okB := m.b.peek()
	if okA && (!okB || x.seq < y.seq) {
		m.a.next()
	} else {
		m.b.next()
	}
}
