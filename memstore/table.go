package memstore

import (
	"strings"

	"github.com/rolebind/rbac"
)

// rtIndex numbers the resource types, so that a record keeps its type in
// one byte and an index keeps one list per type.
type rtIndex uint8

const (
	rtSpace rtIndex = iota
	rtProject
	numRT
)

var rtNames = [numRT]rbac.ResourceType{rtSpace: rbac.Space, rtProject: rbac.Project}

// rtOf returns the index of a valid resource type.
func rtOf(rt rbac.ResourceType) rtIndex {
	if rt == rbac.Project {
		return rtProject
	}
	return rtSpace
}

// record is one stored binding. It keeps no strings but its ID: the user,
// resource and role are numbers in the key tables, which hold each
// distinct ID once however many bindings share it, and the timestamps are
// microseconds since the Unix epoch (the precision every store keeps).
type record struct {
	id      string
	seq     uint64
	created int64
	updated int64
	user    uint32
	res     uint32
	role    uint32
	rt      rtIndex
}

// Records live in fixed pages, so that the table grows without ever
// copying the records it holds (a single slice would briefly need twice
// the memory at each doubling, and keep up to twice what it uses).
const (
	pageBits = 10
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// recordTable holds the records, each at a slot number that stays fixed
// while the binding exists. Slots of deleted bindings are reused.
type recordTable struct {
	pages [][]record
	used  uint32 // slots handed out at least once
	free  []uint32
}

func (t *recordTable) at(slot uint32) *record {
	return &t.pages[slot>>pageBits][slot&pageMask]
}

// alloc returns a free slot, holding a zero record.
func (t *recordTable) alloc() uint32 {
	if n := len(t.free); n > 0 {
		slot := t.free[n-1]
		t.free = t.free[:n-1]
		return slot
	}
	if t.used&pageMask == 0 {
		t.pages = append(t.pages, make([]record, pageSize))
	}
	t.used++
	return t.used - 1
}

// release frees a slot. Zeroing the record lets go of its ID string.
func (t *recordTable) release(slot uint32) {
	*t.at(slot) = record{}
	t.free = append(t.free, slot)
}

// key is one distinct user, resource or role ID, with its bindings in
// creation order, one list per resource type. (A resource's bindings are
// all of its own type, so it uses one of the two.)
type key struct {
	id    string
	lists [numRT]seqList
}

func (k *key) len() int { return k.lists[rtSpace].n + k.lists[rtProject].n }

// keyTable interns IDs: each distinct ID is kept once, under a number
// that records refer to, and is dropped when its last binding goes.
type keyTable struct {
	index map[string]uint32
	keys  []key
	free  []uint32
}

func newKeyTable() keyTable { return keyTable{index: make(map[string]uint32)} }

// lookup returns the number of id, if some binding refers to it.
func (t *keyTable) lookup(id string) (uint32, bool) {
	k, ok := t.index[id]
	return k, ok
}

// acquire returns the number of id, adding it if needed. The table keeps
// its own copy of a new ID, so that a caller's string that shares memory
// with a larger buffer (a request body) does not keep that buffer alive.
func (t *keyTable) acquire(id string) uint32 {
	if k, ok := t.index[id]; ok {
		return k
	}
	id = strings.Clone(id)
	var k uint32
	if n := len(t.free); n > 0 {
		k = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		k = uint32(len(t.keys))
		t.keys = append(t.keys, key{})
	}
	t.keys[k].id = id
	t.index[id] = k
	return k
}

// releaseIfUnused drops key k when no binding refers to it any more.
func (t *keyTable) releaseIfUnused(k uint32) {
	e := &t.keys[k]
	if e.len() > 0 {
		return
	}
	delete(t.index, e.id)
	*e = key{}
	t.free = append(t.free, k)
}
