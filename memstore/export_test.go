package memstore

import (
	"fmt"
)

// CheckIndexes checks every internal invariant of the store: each index
// list is sorted and well chunked, holds exactly the live bindings of its
// key, and the ID, pair and key tables agree with the records. Tests call
// it after random operations, where a bookkeeping slip would otherwise
// only show up much later as a wrong page.
func (s *Store) CheckIndexes() error {
	s.mu.RLock()
	defer s.mu.RUnlock()

	live := len(s.bindingSlots)
	if got := int(s.bindings.used) - len(s.bindings.free); got != live {
		return fmt.Errorf("record table: %d slots in use, %d bindings", got, live)
	}
	for _, slot := range s.bindings.free {
		if *s.bindings.at(slot) != (record{}) {
			return fmt.Errorf("free slot %d holds a record", slot)
		}
	}
	for id, slot := range s.bindingSlots {
		r := s.bindings.at(slot)
		if r.id != id {
			return fmt.Errorf("byID[%s] is slot %d, which holds %q", id, slot, r.id)
		}
		if r.seq == 0 || r.seq > s.seq {
			return fmt.Errorf("binding %s has seq %d, store is at %d", id, r.seq, s.seq)
		}
		if p, ok := s.pairSlots[pairOf(r.user, r.res)]; !ok || p != slot {
			return fmt.Errorf("binding %s: pair table has slot %d (%v), want %d", id, p, ok, slot)
		}
	}
	if len(s.pairSlots) != live {
		return fmt.Errorf("pair table has %d entries, %d bindings", len(s.pairSlots), live)
	}

	// match says whether the record of an entry belongs in a list.
	check := func(name string, l *seqList, match func(*record) bool) (int, error) {
		if l.n == 0 && l.chunks != nil {
			return 0, fmt.Errorf("%s: empty list keeps %d chunks", name, len(l.chunks))
		}
		n := 0
		var prev uint64
		for i, c := range l.chunks {
			if len(c.e) == 0 || len(c.e) > chunkMax {
				return 0, fmt.Errorf("%s: chunk %d has %d entries", name, i, len(c.e))
			}
			if i > 0 && c.first <= prev {
				return 0, fmt.Errorf("%s: chunk %d first %d not above previous seq %d", name, i, c.first, prev)
			}
			if c.first > c.e[0].seq {
				return 0, fmt.Errorf("%s: chunk %d first %d above its first seq %d", name, i, c.first, c.e[0].seq)
			}
			for _, e := range c.e {
				if e.seq <= prev && n > 0 {
					return 0, fmt.Errorf("%s: seq %d after %d", name, e.seq, prev)
				}
				prev = e.seq
				n++
				if e.slot >= s.bindings.used {
					return 0, fmt.Errorf("%s: slot %d out of range", name, e.slot)
				}
				r := s.bindings.at(e.slot)
				if r.seq != e.seq || r.id == "" {
					return 0, fmt.Errorf("%s: entry seq %d points at slot %d with seq %d id %q", name, e.seq, e.slot, r.seq, r.id)
				}
				if !match(r) {
					return 0, fmt.Errorf("%s: binding %s does not belong", name, r.id)
				}
			}
		}
		if n != l.n {
			return 0, fmt.Errorf("%s: counts %d entries, holds %d", name, l.n, n)
		}
		return n, nil
	}

	total := 0
	for rt := range numRT {
		n, err := check(fmt.Sprintf("all[%d]", rt), &s.byType[rt], func(r *record) bool { return r.rt == rt })
		if err != nil {
			return err
		}
		total += n
	}
	if total != live {
		return fmt.Errorf("the all lists hold %d entries, %d bindings", total, live)
	}

	tables := []struct {
		name  string
		t     *keyTable
		field func(*record) uint32
	}{
		{"users", &s.byUser, func(r *record) uint32 { return r.user }},
		{"resources", &s.byResource, func(r *record) uint32 { return r.res }},
		{"roles", &s.byRole, func(r *record) uint32 { return r.role }},
	}
	for _, tb := range tables {
		total := 0
		inUse := 0
		free := map[uint32]bool{}
		for _, k := range tb.t.free {
			free[k] = true
			if tb.t.keys[k].id != "" || tb.t.keys[k].len() != 0 {
				return fmt.Errorf("%s: free key %d is in use", tb.name, k)
			}
		}
		for k := range tb.t.keys {
			if free[uint32(k)] {
				continue
			}
			inUse++
			e := &tb.t.keys[k]
			if got, ok := tb.t.index[e.id]; !ok || got != uint32(k) {
				return fmt.Errorf("%s: key %d (%s) indexed as %d (%v)", tb.name, k, e.id, got, ok)
			}
			if e.len() == 0 {
				return fmt.Errorf("%s: key %d (%s) has no bindings but is kept", tb.name, k, e.id)
			}
			for rt := range numRT {
				n, err := check(fmt.Sprintf("%s[%s][%d]", tb.name, e.id, rt), &e.lists[rt], func(r *record) bool {
					return r.rt == rt && tb.field(r) == uint32(k)
				})
				if err != nil {
					return err
				}
				total += n
			}
		}
		if inUse != len(tb.t.index) {
			return fmt.Errorf("%s: %d keys in use, %d indexed", tb.name, inUse, len(tb.t.index))
		}
		if total != live {
			return fmt.Errorf("%s: lists hold %d entries, %d bindings", tb.name, total, live)
		}
	}
	return nil
}
