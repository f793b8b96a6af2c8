package space

// The lookup tables hold the set's merged, sorted, disjoint ranges. A
// lookup finds the first range whose end is at or past the address and
// checks that its start is at or before it. An index over the address's
// top bits narrows the search to the ranges that reach that /16 (v4) or
// /20 (v6, within 2000::/4): usually zero to two, so a lookup is two index loads and
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

// table6 holds IPv6 ranges [lo[i], hi[i]]. Nearly all unicast traffic
// and every RIR delegation is in 2000::/4, so the index covers that /4
// with one slot per /20 (bits 4 to 19); an address elsewhere is searched
// among all ranges.
type table6 struct {
	idx    []uint32 // idx[h]: first range with hi >= 2000::/4 + h<<108; idx[1<<16]: first with hi >= 3000::
	lo, hi []u128
}

// slot6 returns the index slot of an address whose top 64 bits are xh,
// and whether it is in 2000::/4.
func slot6(xh uint64) (uint64, bool) {
	return (xh >> 44) & 0xffff, xh>>60 == 2
}

func newTable6(spans []span) table6 {
	t := table6{lo: make([]u128, len(spans)), hi: make([]u128, len(spans))}
	for i, s := range spans {
		t.lo[i], t.hi[i] = s.lo, s.hi
	}
	t.idx = make([]uint32, indexSize)
	i := 0
	for h := range indexSize {
		start := uint64(2)<<60 | uint64(h)<<44 // h = 1<<16 gives 3000::
		for i < len(t.hi) && t.hi[i].hi < start {
			i++
		}
		t.idx[h] = uint32(i)
	}
	return t
}

func (t *table6) contains(xh, xl uint64) bool {
	if len(t.idx) == 0 {
		return false
	}
	var i, j uint32
	if h, ok := slot6(xh); ok {
		i, j = t.idx[h], t.idx[h+1]
	} else {
		j = uint32(len(t.hi))
	}
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
