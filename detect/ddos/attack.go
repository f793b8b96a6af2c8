package ddos

import (
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// attack is an open attack on one victim: 472 bytes.
type attack struct {
	victim  addrKey
	first   int64 // start of the first record of the alarm bucket's vector
	last    int64 // end of the latest attack record
	lastHot int64 // start of the latest bucket at watch level
	tot     [nMet]float64
	peak    [nMet]float32 // peak rates per second (packets, bytes, flows)
	base    [nMet]float32 // baseline per second of the first vector at the alarm
	lvl     [nMet]float32 // alarm level per second of the first vector at the alarm
	ratio   float32       // highest peak/level ratio
	srcPeak float32       // most distinct sources estimated in a bucket
	named   uint32        // sources named
	port    uint16        // reflection: the amplifier port of the first record
	vecs    uint8         // vectors that alarmed
	main    uint8         // the first vector
	dirty   bool          // news since the last report
	ended   bool          // quiet for the hold time (set while reporting)
	series  series
	samples [3]sample
}

// attackBefore evicts the attack quiet for longest first.
func attackBefore(a, b *attack) bool { return a.lastHot < b.lastHot }

// directVecs returns the attack's vectors whose sources are bots.
func (at *attack) directVecs() uint8 { return at.vecs &^ (1 << vRefl) }

// open starts an attack of vector v at st.
func (at *attack) open(st *dstState, v int, r *flow.Record, d *Detector) {
	at.first, at.last, at.lastHot = r.Start, r.End, st.bucket
	at.main = uint8(v)
	if v == vRefl {
		at.port = r.SrcPort
	}
	l := d.level(st, v)
	for m := range nMet {
		at.base[m] = st.cur[v].base[m] / d.bucketS
		at.lvl[m] = l[m] / d.bucketS
	}
	at.series = series{}
}

// bucketCounts sums st's current bucket over the attack's vectors.
func (at *attack) bucketCounts(st *dstState) (c [nMet]float32, srcs uint64) {
	for v := range nVec {
		if at.vecs&(1<<v) != 0 {
			for m := range nMet {
				c[m] += st.cur[v].m[m]
			}
			srcs |= st.cur[v].srcs
		}
	}
	return c, srcs
}

// peakBucket takes st's current bucket into the peaks.
func (at *attack) peakBucket(st *dstState, d *Detector) {
	c, srcs := at.bucketCounts(st)
	for m := range nMet {
		at.peak[m] = max(at.peak[m], c[m]/d.bucketS)
		at.ratio = max(at.ratio, at.peak[m]/at.lvl[m])
	}
	at.srcPeak = max(at.srcPeak, float32(sourcesOf(srcs)))
}

// series is an attack's packet rate over time: at most 32 points, their
// stride doubling (points merged pairwise) when the attack outgrows them.
type series struct {
	t0, stride int64
	n          int32
	v          [32]float32 // packets per point
}

func (s *series) add(t, bucketMs int64, x float32) {
	if s.stride == 0 {
		s.t0, s.stride = t, bucketMs
	}
	t = max(t, s.t0)
	i := (t - s.t0) / s.stride
	for i >= int64(len(s.v)) {
		h := len(s.v) / 2
		for j := range h {
			s.v[j] = s.v[2*j] + s.v[2*j+1]
		}
		clear(s.v[h:])
		s.stride *= 2
		s.n = (s.n + 1) / 2
		i = (t - s.t0) / s.stride
	}
	s.v[i] += x
	s.n = max(s.n, int32(i+1))
}

// evidence renders the series as packets per second, with an extra point
// for a bucket not folded yet (x packets in the bucket at t).
func (s *series) evidence(t, bucketMs int64, x float32) *detect.Series {
	c := *s
	if x > 0 {
		c.add(t, bucketMs, x)
	}
	if c.n == 0 {
		return nil
	}
	out := &detect.Series{Name: "pps", Stride: c.stride, T: make([]int64, c.n), V: make([]float64, c.n)}
	sec := float64(c.stride) / 1000
	for i := range int(c.n) {
		out.T[i] = c.t0 + int64(i)*c.stride
		out.V[i] = float64(c.v[i]) / sec
	}
	return out
}

// sample is a compact quote of an attack record (the victim is the
// attack's key).
type sample struct {
	start, end   int64
	src          flow.Addr
	pkts, bytes  uint64
	rate, epoch  uint32
	sport, dport uint16
	proto, flags uint8
	class        flow.Class
	pseudo       flow.Pseudo
}

func sampleOf(r *flow.Record) sample {
	return sample{start: r.Start, end: r.End, src: r.SrcAddr, pkts: r.Packets, bytes: r.Bytes, rate: r.SamplingRate,
		epoch: r.KeyEpoch, sport: r.SrcPort, dport: r.DstPort, proto: r.Proto, flags: r.TCPFlags, class: r.Class, pseudo: r.Pseudo}
}

func (s *sample) evidence(victim addrKey) detect.Sample {
	r := flow.Record{Start: s.start, End: s.end, SrcAddr: s.src, DstAddr: victim.addr, Packets: s.pkts, Bytes: s.bytes,
		SamplingRate: s.rate, KeyEpoch: s.epoch, SrcPort: s.sport, DstPort: s.dport, Proto: s.proto, TCPFlags: s.flags,
		Class: s.class, Pseudo: s.pseudo}
	return detect.SampleOf(&r)
}

// top keeps a victim's ten sources sending the most packets.
type top struct {
	n int
	e [10]topEntry
}

type topEntry struct {
	k    addrKey
	pkts float32
	role string
}

func (t *top) add(s *srcState, at *attack) {
	if t == nil || s.vecs&at.vecs == 0 {
		return
	}
	role := "reflector"
	if s.vecs&at.directVecs() != 0 {
		role = "source"
	}
	if t.n == len(t.e) && s.pkts <= t.e[t.n-1].pkts {
		return
	}
	i := min(t.n, len(t.e)-1)
	for i > 0 && t.e[i-1].pkts < s.pkts {
		t.e[i] = t.e[i-1]
		i--
	}
	t.e[i] = topEntry{k: s.src, pkts: s.pkts, role: role}
	t.n = min(t.n+1, len(t.e))
}

func (t *top) peers() []detect.Peer {
	if t == nil || t.n == 0 {
		return nil
	}
	out := make([]detect.Peer, t.n)
	for i := range t.n {
		e := &t.e[i]
		out[i] = detect.PeerOf(e.k.addr, e.k.pseudo(), e.role, float64(e.pkts))
	}
	return out
}
