package space

// The lookup tables hold the set's merged, sorted, disjoint ranges. A
// lookup finds the first range whose end is at or past the address and
// checks that its start is at or before it. An index over the address's
// top 16 bits narrows the search to the ranges that reach that /16 (v4)
// or /16 (v6): usually zero to two, so a lookup is two index loads and
// one or two range loads. All of it is flat slices: no pointers for the
// garbage collector, no allocation per lookup.

// indexSize is the number of index slots: one per value of the top 16
// bits, plus one end marker.
const indexSize = 1<<16 + 1

// table4 holds IPv4 ranges [lo[i], hi[i]].
type table4 struct {
	idx    []uint32 // idx[h]: first range with hi >= h<<16; idx[1<<16] = len(lo)
	lo, hi []uint32
}

func newTable4(spans []span) table4 {
	t := table4{lo: make([]uint32, len(spans)), hi: make([]uint32, len(spans))}
	for i, s := range spans {
		t.lo[i], t.hi[i] = uint32(s.lo.lo), uint32(s.hi.lo)
	}
	t.idx = make([]uint32, indexSize)
	i := 0
	for h := range 1 << 16 {
		for i < len(t.hi) && t.hi[i]>>16 < uint32(h) {
			i++
		}
		t.idx[h] = uint32(i)
	}
	t.idx[1<<16] = uint32(len(t.hi))
	return t
}

func (t *table4) contains(x uint32) bool {
	if len(t.idx) == 0 {
		return false
	}
	h := x >> 16
	i, j := t.idx[h], t.idx[h+1]
	// The range holding x, if any, is the first with hi >= x; it lies in
	// [i, j] since range j (if it exists) reaches past this /16.
	for i < j {
		m := (i + j) >> 1
		if t.hi[m] < x {
			i = m + 1
		} else {
			j = m
		}
	}
	return int(i) < len(t.lo) && t.lo[i] <= x
}

// table6 holds IPv6 ranges [lo[i], hi[i]], indexed by the top 16 bits.
type table6 struct {
	idx    []uint32 // idx[h]: first range with hi >= h<<112; idx[1<<16] = len(lo)
	lo, hi []u128
}

func newTable6(spans []span) table6 {
	t := table6{lo: make([]u128, len(spans)), hi: make([]u128, len(spans))}
	for i, s := range spans {
		t.lo[i], t.hi[i] = s.lo, s.hi
	}
	t.idx = make([]uint32, indexSize)
	i := 0
	for h := range 1 << 16 {
		for i < len(t.hi) && t.hi[i].hi>>48 < uint64(h) {
			i++
		}
		t.idx[h] = uint32(i)
	}
	t.idx[1<<16] = uint32(len(t.hi))
	return t
}

func (t *table6) contains(xh, xl uint64) bool {
	if len(t.idx) == 0 {
		return false
	}
	h := xh >> 48
	i, j := t.idx[h], t.idx[h+1]
	for i < j {
		m := (i + j) >> 1
		if e := t.hi[m]; e.hi < xh || (e.hi == xh && e.lo < xl) {
			i = m + 1
		} else {
			j = m
		}
	}
	if int(i) >= len(t.lo) {
		return false
	}
	s := t.lo[i]
	return s.hi < xh || (s.hi == xh && s.lo <= xl)
}
