package ddos

import (
	"unsafe"

	"github.com/acd-org/acd/detect"
)

// store keeps per-key state keyed by a seeded 64-bit hash, built for a
// hot path that looks a key up for most records. A detect.Table bounds
// the keys, evicts and counts (its values are indexes into the store's
// slab); an open-addressing index (linear probing, 8-byte cells) finds a
// key's slab slot without a map lookup. A cell holds the high half of the
// key's hash and its slot; the slab entry holds the full hash, checked on
// every hit. Removed keys leave tombstones until the index is rebuilt
// (when a window closes, or when it fills: at most half its cells are
// used, at most a third after a rebuild). Slot indexes are stable, so
// the index needs no update when the slab grows.
//
// Pointers returned by get, at and put stay valid until the next put on
// the same store.
type store[V any] struct {
	tab   *detect.Table[uint64, int32]
	vals  []entry[V]
	free  []int32
	cells []uint64
	mask  uint64
	used  int    // cells not empty (keys and tombstones)
	puts  uint64 // keys inserted: a slot found before a put may be stale
}

// entry is a slab slot: the key's hash (never 0: 0 marks a free slot)
// and its value.
type entry[V any] struct {
	h uint64
	v V
}

// Cell layout: the high 32 bits of the key's hash and the slot + 1 in the
// low 32 bits. An empty cell is 0, a tombstone has slot 0 and tag 1.
const (
	cellSlot = 1<<32 - 1
	tomb     = 1 << 32
	minCells = 16
)

// newStore returns a store of at most max keys; before orders evictions
// (see detect.NewTable).
func newStore[V any](max int, before func(a, b *V) bool) *store[V] {
	s := &store[V]{cells: make([]uint64, minCells), mask: minCells - 1}
	var less func(a, b *int32) bool
	if before != nil {
		less = func(a, b *int32) bool { return before(&s.vals[*a].v, &s.vals[*b].v) }
	}
	s.tab = detect.NewTable[uint64](max, less)
	s.tab.SetOnEvict(func(h uint64, i *int32) { s.release(h, *i) })
	return s
}

// find returns the slot of h, or -1.
func (s *store[V]) find(h uint64) int32 {
	tag := h >> 32
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		c := s.cells[i]
		if c == 0 {
			return -1
		}
		if c>>32 == tag && c&cellSlot != 0 {
			if j := int32(c&cellSlot) - 1; s.vals[j].h == h {
				return j
			}
		}
	}
}

// cell returns h's first index cell: a load that brings it into the
// cache ahead of find.
func (s *store[V]) cell(h uint64) uint64 { return s.cells[h&s.mask] }

// at returns the value in slot i.
func (s *store[V]) at(i int32) *V { return &s.vals[i].v }

// get returns the value of h, or nil.
func (s *store[V]) get(h uint64) *V {
	if i := s.find(h); i >= 0 {
		return &s.vals[i].v
	}
	return nil
}

// put returns the value of h, inserting a zero value (and evicting
// another key when full) if h is absent; created says which.
func (s *store[V]) put(h uint64) (v *V, created bool) {
	if i := s.find(h); i >= 0 {
		return &s.vals[i].v, false
	}
	p, _ := s.tab.Put(h) // may evict: release frees a slot
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.vals))
		s.vals = append(s.vals, entry[V]{})
	}
	*p = i
	s.vals[i].h = h
	s.puts++
	if 2*(s.used+1) > len(s.cells) {
		s.reindex()
	} else {
		s.link(h, i)
	}
	return &s.vals[i].v, true
}

// link puts h (slot i) in the first free cell of its probe sequence.
func (s *store[V]) link(h uint64, i int32) {
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		if c := s.cells[j]; c == 0 || c == tomb {
			if c == 0 {
				s.used++
			}
			s.cells[j] = h>>32<<32 | uint64(i+1)
			return
		}
	}
}

// release frees slot i of key h (removed from the table).
func (s *store[V]) release(h uint64, i int32) {
	s.vals[i] = entry[V]{}
	s.free = append(s.free, i)
	want := h>>32<<32 | uint64(i+1)
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		switch s.cells[j] {
		case want:
			s.cells[j] = tomb
			return
		case 0:
			return
		}
	}
}

// delete removes h.
func (s *store[V]) delete(h uint64) {
	p := s.tab.Get(h)
	if p == nil {
		return
	}
	i := *p
	s.tab.Delete(h)
	s.release(h, i)
}

// each calls f for every key, in slab order (sequential memory, unlike
// the table's map), until f returns false. f may delete the key it was
// given, and no other; it must not put.
func (s *store[V]) each(f func(h uint64, v *V) bool) {
	for i := range s.vals {
		if e := &s.vals[i]; e.h != 0 && !f(e.h, &e.v) {
			return
		}
	}
}

// reindex sizes the index for the keys held (3 to 6 cells a key) and
// fills it again without tombstones.
func (s *store[V]) reindex() {
	n := minCells
	for n < 3*(s.tab.Len()+1) {
		n *= 2
	}
	if n <= cap(s.cells) {
		s.cells = s.cells[:n]
		clear(s.cells)
	} else {
		s.cells = make([]uint64, n)
	}
	s.mask, s.used = uint64(n-1), 0
	for i := range s.vals {
		if h := s.vals[i].h; h != 0 {
			s.link(h, int32(i))
		}
	}
}

// reset removes every key (the slab and index are kept).
func (s *store[V]) reset() {
	s.tab.Reset()
	clear(s.vals)
	s.vals, s.free = s.vals[:0], s.free[:0]
	clear(s.cells)
	s.used = 0
}

// stats returns the store's part of a detector's Stats: the table's
// estimate, the slab entries of the keys held and the index.
func (s *store[V]) stats() detect.Stats {
	st := s.tab.Stats()
	var e entry[V]
	st.StateBytes += int64(st.Keys)*int64(unsafe.Sizeof(e)) + int64(len(s.cells))*8
	return st
}
