package ddos

import (
	"math"
	"math/bits"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// addrKey is an address as the detector tells it apart: a pseudonym of
// one key epoch is another address than the same bits in another epoch
// or real. Tables are keyed by its seeded hash; the values keep it for
// evidence.
type addrKey struct {
	addr flow.Addr
	tag  uint64 // 1<<32 | key epoch for a pseudonym, 0 for a real address
}

func (k addrKey) pseudo() bool  { return k.tag != 0 }
func (k addrKey) epoch() uint32 { return uint32(k.tag) }

// dstKey returns the key of a record's destination.
func dstKey(r *flow.Record) addrKey {
	return addrKey{addr: r.DstAddr, tag: detect.AddrTag(r, flow.PseudoDst)}
}

// srcKeyOf returns the key of a record's source.
func srcKeyOf(r *flow.Record) addrKey {
	return addrKey{addr: r.SrcAddr, tag: detect.AddrTag(r, flow.PseudoSrc)}
}

// hasher is the detector's detect.Hasher. Its hashes are odd: never 0,
// which marks a free slab slot.
type hasher struct{ detect.Hasher }

// dst hashes a record's destination key (as dstKey).
func (h *hasher) dst(r *flow.Record) uint64 {
	return h.Addr(&r.DstAddr, detect.AddrTag(r, flow.PseudoDst)) | 1
}

// src hashes a record's source key (as srcKeyOf).
func (h *hasher) src(r *flow.Record) uint64 {
	return h.Addr(&r.SrcAddr, detect.AddrTag(r, flow.PseudoSrc)) | 1
}

// pair hashes a (source, destination) pair of key hashes.
func (h *hasher) pair(src, dst uint64) uint64 { return h.Pair(src, dst) | 1 }

// Metrics counted per vector and bucket.
const (
	mPkts  = iota // scaled packets
	mBytes        // scaled bytes
	mFlows        // records (scaled for sampled single-packet flows)
	nMet
)

// counters are one vector's counts in the current bucket and its
// baseline, together so that a record touches one cache line of them.
type counters struct {
	srcs uint64        // linear-counting sketch of the sources
	m    [nMet]float32 // current bucket
	base [nMet]float32 // baseline: EWMA of bucket counts
}

// clearBucket empties the current bucket's counters.
func (st *dstState) clearBucket() {
	for v := range st.cur {
		st.cur[v].m, st.cur[v].srcs = [nMet]float32{}, 0
	}
	st.vecs = 0
}

// dstState is what the detector keeps per destination: the current
// bucket's counters, the baseline, and which vectors are hot or under
// attack: 240 bytes, what a record touches first.
type dstState struct {
	bucket  int64          // start of the current bucket (ms)
	last    int64          // latest record end (ms)
	hot     uint8          // vectors at watch level in the current bucket
	prevHot uint8          // ... in the previous bucket
	attack  uint8          // vectors of the open attack
	samples uint8          // samples taken for the open attack
	busy    bool           // a bucket reached the admission level since the last window close
	vecs    uint8          // vectors counted in the current bucket
	based   uint8          // vectors with a baseline
	cur     [nVec]counters // current bucket and baseline per vector
	key     addrKey        // the destination
}

// srcState counts what a source sent to a hot destination.
type srcState struct {
	src         addrKey // the source
	dst         uint64  // the destination's key hash
	first, last int64   // record start of the first, end of the last
	pkts, bytes float32 // scaled
	records     uint32
	vecs        uint8 // vectors seen
	named       bool  // reported as ddos-source in the open attack
	dirty       bool  // records since the last report
}

// sourceBefore evicts the sources with fewest records first, named ones
// last.
func sourceBefore(a, b *srcState) bool {
	if a.named != b.named {
		return !a.named
	}
	return a.records < b.records
}

// dstBefore evicts the destinations seen least recently first, those
// under attack last.
func dstBefore(a, b *dstState) bool {
	if (a.attack != 0) != (b.attack != 0) {
		return a.attack == 0
	}
	return a.last < b.last
}

// level returns the per-bucket alarm level of vector v at st: the floor,
// or multiplier × the baseline when higher (+Inf for disabled rates).
func (d *Detector) level(st *dstState, v int) (l [nMet]float32) {
	for m := range nMet {
		l[m] = max(d.floor[v][m], d.mult*st.cur[v].base[m])
	}
	return l
}

// ratio returns the highest count/level ratio of c.
func ratio(c *counters, l *[nMet]float32) float32 {
	var r float32
	for m := range nMet {
		r = max(r, c.m[m]/l[m])
	}
	return r
}

// decay returns the baseline weight left after n buckets.
func (d *Detector) decay(n int64) float32 {
	if n < int64(len(d.decays)) {
		return d.decays[n]
	}
	return float32(math.Exp2(-float64(n) * d.halfLives))
}

// roll closes st's current bucket and opens bucket b: the baseline learns
// the closed bucket (unless under attack), an attack's series and peaks
// take it.
func (d *Detector) roll(k uint64, st *dstState, b int64) {
	gap := int64(1)
	if b != st.bucket+d.bucketMs {
		gap = (b - st.bucket) / d.bucketMs
	}
	if st.attack != 0 {
		d.foldAttack(k, st)
	} else if st.vecs|st.based != 0 {
		// Only the vectors counted or with a baseline change.
		w := d.decays[1]
		rest := d.decay(gap - 1)
		for vs := st.vecs | st.based; vs != 0; vs &= vs - 1 {
			v := bits.TrailingZeros8(vs)
			for m := range nMet {
				st.cur[v].base[m] = (st.cur[v].base[m]*w + st.cur[v].m[m]*(1-w)) * rest
			}
		}
		st.based |= st.vecs
	}
	for vs := st.vecs; vs != 0; vs &= vs - 1 {
		v := bits.TrailingZeros8(vs)
		for m := range nMet {
			st.busy = st.busy || st.cur[v].m[m] >= d.adm.level[m]
		}
		st.cur[v].m, st.cur[v].srcs = [nMet]float32{}, 0
	}
	if gap == 1 {
		st.prevHot = st.hot
	} else {
		st.prevHot = 0
	}
	st.hot, st.vecs = 0, 0
	st.bucket = b
}

// idle reports whether st can be dropped when a window closes at now:
// no attack, no bucket at the admission level in the window, and a
// baseline that stays under every floor.
func (d *Detector) idle(st *dstState, now int64) bool {
	if st.attack != 0 {
		return false
	}
	if st.last < now-d.idleMs {
		return true
	}
	if st.busy || st.hot != 0 || st.prevHot != 0 {
		return false
	}
	for vs := st.based; vs != 0; vs &= vs - 1 {
		v := bits.TrailingZeros8(vs)
		for m := range nMet {
			if d.mult*st.cur[v].base[m] >= d.floor[v][m] {
				return false
			}
		}
	}
	return true
}

// enoughSources reports whether a sketch estimates at least min_sources.
func (d *Detector) enoughSources(sketch uint64) bool {
	return bits.OnesCount64(sketch) >= d.minBits
}

// sourcesOf estimates the distinct sources of a sketch.
func sourcesOf(sketch uint64) float64 {
	z := 64 - bits.OnesCount64(sketch)
	if z == 0 {
		z = 1 // saturated: about 266 or more
	}
	return math.Round(-64 * math.Log(float64(z)/64))
}
