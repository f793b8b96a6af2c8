package reflection

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// noWindow marks "never" for window starts.
const noWindow = math.MinInt64

// vkey is one victim of one amplifier service. epoch is the pseudonym's
// key epoch (0 for a real address).
type vkey struct {
	addr   flow.Addr
	epoch  uint32
	pseudo bool
	svc    uint8
}

// bucket is one step of the victim's rate series (scaled counts).
type bucket struct {
	bytes, pkts float32
}

// victim is the state of one vkey: the counts of its current window.
type victim struct {
	ws          int64 // start of the current window
	first, last int64 // event times: first start and last end of the amplified responses counted
	hot         int64 // start of the window it last alarmed in (noWindow: never)
	flows       float64
	pkts        float64
	bytes       float64
	reqs        float64 // requests the victim sent to the service's port (scaled records)
	peak        float32 // bytes of the busiest bucket
	dirty       bool    // counted records since the last finding
	bkt         [maxBuckets]bucket
	sketch      [sketchBits / 64]uint64 // distinct reflectors (linear counting)
}

// rkey is one reflector sending amplified responses to one victim.
type rkey struct {
	refl, victim flow.Addr
	epoch        uint32
	pseudo       flow.Pseudo // PseudoSrc: refl is a pseudonym; PseudoDst: victim is
	svc          uint8
}

func (k *rkey) vkey() vkey {
	vk := vkey{addr: k.victim, svc: k.svc}
	if k.pseudo&flow.PseudoDst != 0 {
		vk.pseudo, vk.epoch = true, k.epoch
	}
	return vk
}

// reflector is the state of one rkey, accumulated since it was first
// seen (it is forgotten after Memory without amplified responses).
type reflector struct {
	first, last int64
	flows       float64
	pkts        float64
	bytes       float64
	reqs        float64     // requests the victim sent to this reflector (scaled records)
	named       int64       // start of the window it was last named in (noWindow: never)
	dirty       bool        // counted records since the last finding
	sample      flow.Record // its largest response
}

// service is a Service prepared for the hot path.
type service struct {
	Service
	minSize uint64
}

// Detector finds reflection/amplification attacks: many reflectors
// sending large unsolicited responses from an amplifier port to one
// victim. It names the victim (detect.RoleDDoSVictim) and every
// reflector (detect.RoleReflector).
type Detector struct {
	cfg       Config
	w, bucket int64 // ms
	memory    int64 // ms
	nb        int   // buckets per window
	port      [65536]uint8
	svcs      []service // index 0 unused
	victims   *detect.Table[vkey, victim]
	refls     *detect.Table[rkey, reflector]
	open      int64 // start of the first window still open; earlier records are late
	late      uint64
	// lastVK/lastV cache the victim of the previous response (nil when
	// a victim was inserted, deleted or evicted since: the pointer may
	// be stale).
	lastVK vkey
	lastV  *victim
}

var _ detect.Detector = (*Detector)(nil)

// New returns a detector, or the configuration's problems.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg: cfg, w: cfg.Window.Milliseconds(), bucket: cfg.Bucket.Milliseconds(), memory: cfg.Memory.Milliseconds(),
		svcs: make([]service, 1, len(cfg.Services)+1), open: noWindow,
	}
	d.nb = int(d.w / d.bucket)
	for _, s := range cfg.Services {
		d.port[s.Port] = uint8(len(d.svcs))
		d.svcs = append(d.svcs, service{Service: s, minSize: uint64(s.MinSize)})
	}
	d.victims = detect.NewTable[vkey, victim](cfg.MaxKeys, func(a, b *victim) bool { return a.last < b.last })
	d.refls = detect.NewTable[rkey, reflector](cfg.MaxReflectors, func(a, b *reflector) bool { return a.last < b.last })
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Stats implements detect.Detector: both tables, summed.
func (d *Detector) Stats() detect.Stats {
	s := d.victims.Stats().Add(d.refls.Stats())
	s.Late = d.late
	return s
}

// Observe implements detect.Detector. Only UDP records from or to an
// amplifier port are looked at; everything else costs two compares.
func (d *Detector) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		r := &recs[i]
		if r.Proto != 17 || r.Packets == 0 {
			continue
		}
		if s := d.port[r.SrcPort]; s != 0 {
			d.response(r, s, emit)
		}
		if s := d.port[r.DstPort]; s != 0 && d.victims.Len() > 0 {
			d.request(r, s)
		}
	}
}

// rate is the record's sampling rate (at least 1).
func rate(r *flow.Record) float64 {
	if r.SamplingRate <= 1 {
		return 1
	}
	return float64(r.SamplingRate)
}

// response counts a record from amplifier service s: when its packets are
// larger than the service's normal answer, it is an amplified response
// from reflector r.SrcAddr to victim r.DstAddr.
func (d *Detector) response(r *flow.Record, s uint8, emit detect.Emit) {
	svc := &d.svcs[s]
	if r.Bytes/r.Packets < svc.minSize {
		return
	}
	t := max(r.End, r.Start) // a record is filed when it is known: at its end
	ws := detect.WindowStart(t, d.w)
	if ws < d.open {
		d.late++
		return
	}
	scale := rate(r)
	pk, by := float64(r.Packets)*scale, float64(r.Bytes)*scale
	vk := vkey{addr: r.DstAddr, svc: s}
	rk := rkey{refl: r.SrcAddr, victim: r.DstAddr, pseudo: r.Pseudo & (flow.PseudoSrc | flow.PseudoDst), svc: s}
	if r.Pseudo != 0 {
		rk.epoch = r.KeyEpoch
	}
	if r.Pseudo&flow.PseudoDst != 0 {
		vk.pseudo, vk.epoch = true, r.KeyEpoch
	}

	var v *victim
	created := false
	if d.lastV != nil && d.lastVK == vk {
		v = d.lastV // consecutive responses to one victim: no lookup
	} else {
		v, created = d.victims.Put(vk)
		if created {
			d.lastV = nil // the slab may have moved
		}
		d.lastVK, d.lastV = vk, v
	}
	if created {
		*v = victim{ws: ws, first: r.Start, last: t, hot: noWindow}
	} else if ws > v.ws {
		d.roll(vk, v, ws, emit)
	}
	b := 0
	if ws == v.ws {
		b = min(int((t-ws)/d.bucket), d.nb-1)
	}
	bk := &v.bkt[b]
	bk.bytes += float32(by)
	bk.pkts += float32(pk)
	v.peak = max(v.peak, bk.bytes)
	v.flows += scale
	v.pkts += pk
	v.bytes += by
	v.first, v.last = min(v.first, r.Start), max(v.last, t)
	v.dirty = true
	h := hashAddr(&r.SrcAddr)
	v.sketch[(h>>6)%(sketchBits/64)] |= 1 << (h & 63)

	e, created := d.refls.Put(rk)
	if created {
		*e = reflector{first: r.Start, last: t, named: noWindow, sample: *r}
	} else if r.Bytes > e.sample.Bytes {
		e.sample = *r
	}
	e.flows += scale
	e.pkts += pk
	e.bytes += by
	e.first, e.last = min(e.first, r.Start), max(e.last, t)
	e.dirty = true

	switch {
	case v.hot != v.ws && d.alarm(v):
		v.hot = v.ws
		d.emitVictim(vk, v, emit)
	case v.hot >= v.ws-d.w && e.named < v.ws && d.unsolicited(e):
		// The victim is under attack (alarmed in this window or the
		// previous one): a new reflector is named at once.
		e.named = v.ws
		e.dirty = false
		emit(d.reflectorFinding(&rk, e, v))
	}
}

// request counts a record to amplifier service s from a tracked victim:
// the victim asking (a resolver, a monitoring station) is not attacked.
func (d *Detector) request(r *flow.Record, s uint8) {
	vk := vkey{addr: r.SrcAddr, svc: s}
	if r.Pseudo&flow.PseudoSrc != 0 {
		vk.pseudo, vk.epoch = true, r.KeyEpoch
	}
	v := d.lastV
	if v == nil || d.lastVK != vk {
		v = d.victims.Get(vk)
	}
	if v == nil {
		return
	}
	if detect.WindowStart(max(r.End, r.Start), d.w) < d.open {
		d.late++
		return
	}
	scale := rate(r)
	v.reqs += scale
	rk := rkey{refl: r.DstAddr, victim: r.SrcAddr, svc: s}
	if r.Pseudo&flow.PseudoDst != 0 {
		rk.pseudo |= flow.PseudoSrc
	}
	if r.Pseudo&flow.PseudoSrc != 0 {
		rk.pseudo |= flow.PseudoDst
	}
	if rk.pseudo != 0 {
		rk.epoch = r.KeyEpoch
	}
	if e := d.refls.Get(rk); e != nil {
		e.reqs += scale
	}
}

// alarm reports whether the victim's current window crosses every
// threshold: rate, few requests, many reflectors (cheapest test first).
func (d *Detector) alarm(v *victim) bool {
	return float64(v.peak)*8000/float64(d.bucket) >= d.cfg.MinBps &&
		v.reqs <= d.cfg.MaxRequestRatio*v.flows &&
		distinct(&v.sketch) >= float64(d.cfg.MinReflectors)
}

// unsolicited reports whether the victim asked this reflector for few
// enough of its responses.
func (d *Detector) unsolicited(e *reflector) bool {
	return e.reqs <= d.cfg.MaxRequestRatio*e.flows
}

// distinct estimates the distinct reflectors of a sketch (linear
// counting; a full sketch reports its saturation value).
func distinct(s *[sketchBits / 64]uint64) float64 {
	ones := 0
	for _, w := range s {
		ones += bits.OnesCount64(w)
	}
	zeros := sketchBits - ones
	if zeros == 0 {
		zeros = 1
	}
	return -sketchBits * math.Log(float64(zeros)/sketchBits)
}

// hashAddr mixes an address into 64 bits for the sketch.
func hashAddr(a *flow.Addr) uint64 {
	x := binary.LittleEndian.Uint64(a[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(a[8:]), 29)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
