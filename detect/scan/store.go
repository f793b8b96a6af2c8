package scan

import (
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// hasher is the detector's detect.Hasher.
type hasher struct{ detect.Hasher }

// key hashes a key.
func (h *hasher) key(k *key) uint64 { return h.Addr(&k.addr, k.tag) }

// sources keeps the state of the sources tracked, keyed by the seeded
// 64-bit hash of their key: a detect.Table bounds them, evicts and counts
// (its values are indexes into the slab of states), and an
// open-addressing index (linear probing, 4-byte cells holding slot + 1)
// finds a source's slot without a map lookup; a hit is checked against
// the key the state holds. Removed sources leave tombstones until the
// index is rebuilt (each sweep, or when three quarters of its cells are
// used; at most half after a rebuild). Slot indexes are stable, so the
// index needs no update when the slab grows.
//
// Pointers returned by get, at and put stay valid until the next put.
type sources struct {
	hash    *hasher
	tab     *detect.Table[uint64, int32]
	vals    []state
	free    []int32
	cells   []uint32
	mask    uint64
	used    int    // cells not empty (sources and tombstones)
	puts    uint64 // sources inserted: a slot found before a put may be stale
	onEvict func(h uint64, st *state)
}

// tomb marks the cell of a removed source.
const (
	tomb     = 1<<32 - 1
	minCells = 64
)

func newSources(max int, hash *hasher, before func(a, b *state) bool) *sources {
	s := &sources{hash: hash, cells: make([]uint32, minCells), mask: minCells - 1}
	s.tab = detect.NewTable[uint64](max, func(a, b *int32) bool { return before(&s.vals[*a], &s.vals[*b]) })
	s.tab.SetOnEvict(func(h uint64, i *int32) {
		if s.onEvict != nil {
			s.onEvict(h, &s.vals[*i])
		}
		s.release(h, *i)
	})
	return s
}

// find returns the slot of the key of address a and tag (hash h), or -1.
func (s *sources) find(h uint64, a *flow.Addr, tag uint64) int32 {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		c := s.cells[i]
		if c == 0 {
			return -1
		}
		if c != tomb {
			if k := &s.vals[c-1].k; k.addr == *a && k.tag == tag {
				return int32(c - 1)
			}
		}
	}
}

// cell returns h's first index cell: a load that brings it into the
// cache ahead of find.
func (s *sources) cell(h uint64) uint32 { return s.cells[h&s.mask] }

// at returns the state in slot i.
func (s *sources) at(i int32) *state { return &s.vals[i] }

// get returns the state of k (hash h), or nil.
func (s *sources) get(h uint64, k *key) *state {
	if i := s.find(h, &k.addr, k.tag); i >= 0 {
		return &s.vals[i]
	}
	return nil
}

// put returns the state of k (hash h), inserting a zero state (and
// evicting another source when full) if k is absent.
func (s *sources) put(h uint64, k *key) *state {
	if i := s.find(h, &k.addr, k.tag); i >= 0 {
		return &s.vals[i]
	}
	p, _ := s.tab.Put(h) // may evict: release frees a slot
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.vals))
		s.vals = append(s.vals, state{})
	}
	*p = i
	s.vals[i].k, s.vals[i].live = *k, true
	s.puts++
	if 4*(s.used+1) > 3*len(s.cells) {
		s.reindex(nil)
	} else {
		s.link(h, i)
	}
	return &s.vals[i]
}

// link puts slot i (hash h) in the first free cell of its probe sequence.
func (s *sources) link(h uint64, i int32) {
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		if c := s.cells[j]; c == 0 || c == tomb {
			if c == 0 {
				s.used++
			}
			s.cells[j] = uint32(i + 1)
			return
		}
	}
}

// release frees slot i (hash h), removed from the table.
func (s *sources) release(h uint64, i int32) {
	s.vals[i] = state{}
	s.free = append(s.free, i)
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		switch s.cells[j] {
		case uint32(i + 1):
			s.cells[j] = tomb
			return
		case 0:
			return
		}
	}
}

// delete removes the source of hash h.
func (s *sources) delete(h uint64) {
	p := s.tab.Get(h)
	if p == nil {
		return
	}
	i := *p
	s.tab.Delete(h)
	s.release(h, i)
}

// each calls f for every source, in slab order (sequential memory, unlike
// the table's map), until f returns false. f may delete the source it was
// given, and no other; it must not put.
func (s *sources) each(f func(h uint64, st *state) bool) {
	for i := range s.vals {
		if st := &s.vals[i]; st.live && !f(s.hash.key(&st.k), st) {
			return
		}
	}
}

// len returns the number of sources.
func (s *sources) len() int { return s.tab.Len() }

// reindex sizes the index for the sources held (2 to 4 cells a source)
// and fills it again without tombstones, calling f (if not nil) for each
// source.
func (s *sources) reindex(f func(h uint64, st *state)) {
	n := minCells
	for n < 2*(s.tab.Len()+1) {
		n *= 2
	}
	if n <= cap(s.cells) {
		s.cells = s.cells[:n]
		clear(s.cells)
	} else {
		s.cells = make([]uint32, n)
	}
	s.mask, s.used = uint64(n-1), 0
	for i := range s.vals {
		if st := &s.vals[i]; st.live {
			h := s.hash.key(&st.k)
			s.link(h, int32(i))
			if f != nil {
				f(h, st)
			}
		}
	}
}

// reset removes every source (the slab and index are kept).
func (s *sources) reset() {
	s.tab.Reset()
	clear(s.vals)
	s.vals, s.free = s.vals[:0], s.free[:0]
	clear(s.cells)
	s.used = 0
}

// stats returns the table's estimate plus the states of the sources held
// and the index.
func (s *sources) stats() detect.Stats {
	st := s.tab.Stats()
	st.StateBytes += int64(st.Keys)*int64(unsafe.Sizeof(state{})) + int64(len(s.cells))*4
	return st
}
