package beacon

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// This file holds the first-sight stage: every (client, server, service)
// pair seen lives in a slot of a 4-way set-associative array indexed by a
// seeded 64-bit hash of the pair (a set is two adjacent 64-byte cache
// lines: 4 ways, so that a few pinned pairs cannot crowd a set). A new
// pair takes an empty way of its set, or replaces one of its pairs: one
// idle beyond the time to live, else the one with fewer connections, else
// the one seen longest ago. A collision only forgets the first connections
// of a pair (its promotion is delayed), and is counted. A pair with a full
// series is pinned in its slot, which points at the series; a slot whose
// series was dropped is found stale when next used. The array starts small
// and doubles (the slots carry their whole hash, so they move) while it is
// more than 3/4 full, up to max_keys.

// ways is the associativity of the slot array.
const ways = 4

// slot is one pair at first sight (32 bytes: two per cache line).
type slot struct {
	h     uint64           // hash of the pair
	last  uint32           // low 32 bits of the newest connection's start, ms (see lastAt)
	d     [firstLen]uint32 // intervals between the first connections, ms; promoted: d[0] is the series index
	sz    [firstLen + 1]uint16
	sport uint16 // source port of the newest connection (to merge split records)
	dur   uint16 // newest connection: start to its latest record's end, s (rounded up)
	n     uint8  // connections kept (0: the slot is empty)
	flags uint8
}

// slotPromoted marks a slot whose pair has a full series.
const slotPromoted = 1

// slotBytes is the size of a slot.
const slotBytes = int(unsafe.Sizeof(slot{}))

// lastAt returns the start of the slot's newest connection as a full
// time, given a time ref within ±24 days of it.
func (s *slot) lastAt(ref int64) int64 { return ref + int64(int32(s.last-uint32(ref))) }

func (s *slot) promoted() bool { return s.flags&slotPromoted != 0 }

// seriesIndex is the index of a promoted slot's series.
func (s *slot) seriesIndex() int32 { return int32(s.d[0]) }

// series returns the series of a promoted slot, or nil if it has none,
// or none any more: a series dropped (evicted or expired) leaves its
// slot marked promoted, and the slot is found stale when next used.
func (s *slot) series(ser []series) *series {
	if !s.promoted() {
		return nil
	}
	if i := s.seriesIndex(); int(i) < len(ser) && ser[i].inUse && ser[i].h == s.h {
		return &ser[i]
	}
	return nil
}

// view decodes the first connections of an unpromoted slot, whose
// newest start is last, into arrays with room for one more.
func (s *slot) view(last int64, d *[firstLen + 1]uint32, sz *[firstLen + 2]uint32) conns {
	n := int(s.n)
	copy(d[:], s.d[:n-1])
	for i := range n {
		sz[i] = decSize(s.sz[i])
	}
	return conns{last: last, d: d[:n-1], sz: sz[:n]}
}

// store encodes c (at most firstLen intervals) back into s.
func (s *slot) store(c *conns) {
	s.last, s.n = uint32(c.last), uint8(len(c.sz))
	copy(s.d[:], c.d)
	for i, b := range c.sz {
		s.sz[i] = encSize(b)
	}
}

// encSize compresses a byte count to 16 bits: exact below 2048, else 11
// significant bits and an exponent (relative error below 0.05 %).
func encSize(x uint32) uint16 {
	if x < 1<<11 {
		return uint16(x)
	}
	e := bits.Len32(x) - 11 // 1..21
	return uint16(e<<11 | int(x>>(e-1))&0x7ff)
}

// decSize reverses encSize (rounding down).
func decSize(c uint16) uint32 {
	e := c >> 11
	if e == 0 {
		return uint32(c)
	}
	return (uint32(c&0x7ff) + 1<<11) << (e - 1)
}

// durSeconds returns ms in seconds, rounded up, within a uint16.
func durSeconds(ms int64) uint16 {
	return uint16(min(max(ms+999, 0)/1000, math.MaxUint16))
}

// hasher is a seeded hash of pairs (so that no one outside can aim
// pairs at one set).
type hasher struct{ k [6]uint64 }

func newHasher() hasher {
	var h hasher
	for i := range h.k {
		h.k[i] = rand.Uint64() | 1
	}
	return h
}

// pair returns the hash of a (client, server, port, protocol) pair.
func (h *hasher) pair(client, server *flow.Addr, port uint16, proto uint8) uint64 {
	x := detect.Mum(binary.LittleEndian.Uint64(client[:8])^h.k[0], binary.LittleEndian.Uint64(client[8:])^h.k[1])
	y := detect.Mum(binary.LittleEndian.Uint64(server[:8])^h.k[2], binary.LittleEndian.Uint64(server[8:])^h.k[3])
	return detect.Mum(x^h.k[4]^(uint64(port)<<8|uint64(proto)), y^h.k[5])
}

// slots is the first-sight array.
type slots struct {
	a         []slot
	mask      uint64 // sets - 1
	max       int    // slots at most
	used      int    // slots not empty
	peak      int
	evictions uint64 // live pairs replaced by a new pair of their set
	crowded   uint64 // new pairs not kept: every way held a pair with a series
	sweepAt   int    // next slot the sweep looks at
	sweepDebt int64  // sweep budget carried over (slots × ms)
}

// initialSlots is the size of a new slot array.
const initialSlots = 1 << 12

func newSlots(maxKeys int) slots {
	m := ways
	for m*2 <= maxKeys {
		m *= 2
	}
	n := min(initialSlots, m)
	return slots{a: make([]slot, n), mask: uint64(n/ways - 1), max: m}
}

// find returns the slot of hash h, or nil.
func (t *slots) find(h uint64) *slot {
	set := t.a[(h&t.mask)*ways:][:ways]
	for i := range set {
		if set[i].h == h && set[i].n != 0 {
			return &set[i]
		}
	}
	return nil
}

// put returns an empty slot for hash h (not in the array) that starts at
// t, replacing a pair of its set (not one with a series in ser: the one
// idle beyond ttl, else the one with fewer connections, else the one seen
// longest ago), or nil when every way holds a pair with a series. Pairs
// idle beyond ttl are replaced without counting an eviction.
func (t *slots) put(h uint64, at, ttl int64, ser []series) *slot {
	if t.used >= len(t.a)/4*3 && len(t.a) < t.max {
		t.grow()
	}
	set := t.a[(h&t.mask)*ways:][:ways]
	var victim *slot
	var oldest int64 = math.MaxInt64
	for i := range set {
		s := &set[i]
		if s.n == 0 {
			victim = s
			break
		}
		if s.promoted() {
			continue // pinned while its series lives: checked below
		}
		// The pair with fewer connections goes first (a one-off pair
		// before one that recurs), then the one seen longest ago; a pair
		// idle beyond ttl goes whatever its connections.
		l := s.lastAt(at)
		if victim == nil || at-l > ttl && at-oldest <= ttl ||
			(at-l > ttl) == (at-oldest > ttl) && (s.n < victim.n || s.n == victim.n && l < oldest) {
			victim, oldest = s, l
		}
	}
	if victim == nil {
		// Every way promoted: a way whose series was dropped is free.
		for i := range set {
			if set[i].series(ser) == nil {
				victim = &set[i]
				t.clear(victim) // forgotten already: no eviction
				break
			}
		}
	}
	switch {
	case victim == nil:
		t.crowded++
		return nil
	case victim.n == 0:
		t.used++
		t.peak = max(t.peak, t.used)
	case at-oldest <= ttl:
		t.evictions++
	}
	*victim = slot{h: h}
	return victim
}

// clear empties s.
func (t *slots) clear(s *slot) {
	if s.n != 0 {
		t.used--
	}
	*s = slot{}
}

// grow doubles the array, moving every slot to its new set (a set's
// slots go to two sets, so nothing is lost).
func (t *slots) grow() {
	old := t.a
	t.a = make([]slot, 2*len(old))
	t.mask = uint64(len(t.a)/ways - 1)
	for i := range old {
		s := &old[i]
		if s.n == 0 {
			continue
		}
		set := t.a[(s.h&t.mask)*ways:][:ways]
		for j := range set {
			if set[j].n == 0 {
				set[j] = *s
				break
			}
		}
	}
	t.sweepAt = 0
}

// sweep empties up to n slots of pairs without a series in ser and
// unseen since before, starting where the previous sweep stopped.
func (t *slots) sweep(n int, before int64, ser []series) {
	for ; n > 0; n-- {
		if t.sweepAt >= len(t.a) {
			t.sweepAt = 0
		}
		s := &t.a[t.sweepAt]
		t.sweepAt++
		if s.n != 0 && s.lastAt(before) < before && (!s.promoted() || s.series(ser) == nil) {
			t.clear(s)
		}
	}
}
