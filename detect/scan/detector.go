package scan

import (
	"math"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// minObserved is the fewest distinct hosts (or ports) a rule needs to
// have actually seen: with sampled records distinct counts are scaled by
// the sampling rate, and one sampled SYN must not stand for a thousand
// hosts.
const minObserved = 5

// key is a source address: a real address (tag 0), or a pseudonym with
// its key epoch (tag 1<<32 | epoch). The table is keyed by its seeded
// hash; the state keeps it (evidence, and to check index hits).
type key struct {
	addr flow.Addr
	tag  uint64
}

func (k key) pseudo() bool  { return k.tag&detect.PseudoTag != 0 }
func (k key) epoch() uint32 { return uint32(k.tag) }

// state is what the detector keeps per source: two short windows (the
// current one and the one before, still open for late records), one long
// window, and a little evidence. What every record touches comes first.
type state struct {
	k      key
	rate   uint32 // largest sampling rate seen
	tgtN   uint8  // targets recorded so far (ring index)
	tgtPs  uint8  // bit i: tgt[i] is a pseudonym
	busy   bool   // a window holds trackBits distinct targets: other flows count
	live   bool   // the slab slot holds a source
	fast   [2]slot
	slow   slot // every record counted is in it: its last time is the source's
	tgt    [2]flow.Addr
	sample sample
}

// seen returns the latest record time counted, ms (eviction order).
func (st *state) seen() int64 { return st.slow.start + int64(st.slow.last) }

// reported says whether the source has findings in its open windows.
func (st *state) reported() bool {
	return (st.fast[0].flags|st.fast[1].flags|st.slow.flags)&(slotEmitted|slotReported) != 0
}

// Detector finds scanners. It implements detect.Detector; like every
// detector it is not safe for concurrent use (the engine serializes it).
type Detector struct {
	cfg     Config
	cls     classifier
	win     int64 // short window, ms
	slowWin int64 // long window, ms
	unknown float32
	// series intervals per millisecond, short and long windows
	perMs, slowPerMs float64
	est              [sketchBits + 1]float64
	hash             hasher
	tab              *sources
	late             uint64
	// emit is Observe's emit while it runs: a reported source evicted
	// to make room reports its open windows through it.
	emit  detect.Emit
	sink  uint64 // sum of the prefetching loads (kept so they are not optimized away)
	swept int64  // WindowStart(wm, win) at the last sweep
	// filter has a bit set for (the hash of) every busy key in the table,
	// and stale bits of keys removed since it was last rebuilt (each
	// sweep): records that are no probes skip the table lookup when their
	// source's bit is clear, which it is for most of them.
	filter []uint64
	// trackBits is how many distinct hosts or ports (set sketch bits) a
	// source's window needs before its other flows are counted: sources
	// probing a handful of targets (DNS clients and their resolvers)
	// cannot cross a threshold, and their other flows cost a lookup each.
	trackBits uint16
	// bits is the smallest number of set sketch bits that can cross each
	// threshold without sampling (a quick test before the estimates).
	bits struct{ hosts, ports, slowHosts, slowPorts int }
}

// New returns a detector for cfg.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg: cfg,
		cls: classifier{maxPackets: uint64(cfg.MaxProbePackets), maxBytes: uint64(cfg.MaxProbeBytes),
			udp: cfg.UDP, icmp: cfg.ICMP},
		win:       cfg.Window.Milliseconds(),
		slowWin:   cfg.SlowWindow.Milliseconds(),
		unknown:   float32(cfg.UnknownWeight),
		perMs:     seriesLen / float64(cfg.Window.Milliseconds()),
		slowPerMs: seriesLen / float64(cfg.SlowWindow.Milliseconds()),
		est:       estimates(),
		swept:     math.MinInt64,
		filter:    make([]uint64, minFilterWords),
	}
	d.bits.hosts, d.bits.ports = d.bitsFor(cfg.MinHosts), d.bitsFor(cfg.MinPorts)
	d.bits.slowHosts, d.bits.slowPorts = d.bitsFor(cfg.SlowMinHosts), d.bitsFor(cfg.SlowMinPorts)
	d.trackBits = uint16(min(trackTargets, d.bits.hosts, d.bits.ports, d.bits.slowHosts, d.bits.slowPorts))
	d.hash = hasher{detect.NewHasher()}
	d.tab = newSources(cfg.MaxKeys, &d.hash, func(a, b *state) bool {
		if ra, rb := a.reported(), b.reported(); ra != rb {
			return rb
		}
		return a.seen() < b.seen()
	})
	d.tab.onEvict = d.evicted
	return d, nil
}

// trackTargets is the most distinct targets a source's window needs
// before its other flows count against its failed share (fewer when a
// threshold is lower).
const trackTargets = 8

// minFilterWords is the smallest key filter (4096 bits).
const minFilterWords = 64

// bitsFor returns the fewest set bits whose estimate reaches n (more than
// a sketch holds when n is 0: the rule is off).
func (d *Detector) bitsFor(n int) int {
	if n <= 0 {
		return sketchBits + 1
	}
	for b, e := range d.est {
		if e >= float64(n) {
			return b
		}
	}
	return sketchBits
}

// filterBit returns the filter word and bit of key hash h (bits the
// index does not use first).
func (d *Detector) filterBit(h uint64) (int, uint64) {
	i := h >> 24 & uint64(len(d.filter)*64-1)
	return int(i / 64), 1 << (i % 64)
}

// evicted reports the open windows of a reported source evicted to make
// room (their final findings), when Observe is running.
func (d *Detector) evicted(_ uint64, st *state) {
	if d.emit == nil || !st.reported() {
		return
	}
	for i := range st.fast {
		if st.fast[i].used() {
			d.close(st.k, st, &st.fast[i], false, d.emit)
		}
	}
	if st.slow.used() {
		d.close(st.k, st, &st.slow, true, d.emit)
	}
}

// busy reports whether a window of st holds trackBits distinct targets.
func (d *Detector) busy(st *state) bool {
	for _, s := range []*slot{&st.fast[0], &st.fast[1], &st.slow} {
		if s.used() && (s.nh >= d.trackBits || s.np >= d.trackBits) {
			return true
		}
	}
	return false
}

// rebuildFilter sizes the filter for the keys now tracked (8 to 16 bits
// a key) and sets the bits of the busy ones; it rebuilds the index in the
// same pass.
func (d *Detector) rebuildFilter() {
	words := minFilterWords
	for words*64 < d.tab.len()*8 {
		words *= 2
	}
	if words <= cap(d.filter) {
		d.filter = d.filter[:words]
		clear(d.filter)
	} else {
		d.filter = make([]uint64, words)
	}
	d.tab.reindex(func(h uint64, st *state) {
		if st.busy = d.busy(st); st.busy {
			w, b := d.filterBit(h)
			d.filter[w] |= b
		}
	})
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Stats implements detect.Detector.
func (d *Detector) Stats() detect.Stats {
	s := d.tab.stats()
	s.StateBytes += int64(len(d.filter) * 8)
	s.Late = d.late
	return s
}

func srcKey(r *flow.Record) key { return key{r.SrcAddr, detect.AddrTag(r, flow.PseudoSrc)} }

func dstKey(r *flow.Record) key { return key{r.DstAddr, detect.AddrTag(r, flow.PseudoDst)} }

func rateOf(r *flow.Record) uint32 { return max(r.SamplingRate, 1) }

// Observe implements detect.Detector.
//
// The batch is taken in runs of prefetchRun records, in passes whose
// loads do not depend on each other, so that the CPU overlaps their cache
// misses instead of waiting for each in turn: the first pass classifies
// each record, hashes its key (the source; the destination of an ICMP
// unreachable), drops the other flows of sources not busy (the filter)
// and loads the key's index cell; the second finds the key's state and
// loads it; then the records are counted.
func (d *Detector) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	// Short windows starting before closed have ended by wm: their
	// records are late.
	closed := int64(math.MinInt64)
	if wm != math.MinInt64 {
		closed = detect.WindowStart(wm, d.win)
	}
	d.emit = emit
	var kinds [prefetchRun]kind
	var ports [prefetchRun]uint16
	var hs [prefetchRun]uint64
	var slots [prefetchRun]int32
	for len(recs) > 0 {
		run := recs[:min(len(recs), prefetchRun)]
		recs = recs[len(run):]
		var sink uint64
		for i := range run {
			r := &run[i]
			kd, port := d.cls.classify(r)
			var h uint64
			if kd == kUnreach {
				h = d.hash.Addr(&r.DstAddr, detect.AddrTag(r, flow.PseudoDst))
			} else {
				h = d.hash.Addr(&r.SrcAddr, detect.AddrTag(r, flow.PseudoSrc))
				if w, b := d.filterBit(h); kd == kOther && d.filter[w]&b == 0 {
					kd = kSkip
				}
			}
			kinds[i], ports[i], hs[i] = kd, port, h
			if kd != kSkip {
				sink += uint64(d.tab.cell(h))
			}
		}
		for i := range run {
			if kinds[i] == kSkip {
				continue
			}
			a, tag := addrOf(&run[i], kinds[i])
			if slots[i] = d.tab.find(hs[i], a, tag); slots[i] >= 0 {
				st := d.tab.at(slots[i])
				// Each line of the windows a record may update.
				sink += uint64(st.fast[0].start+st.fast[1].start+st.slow.start) +
					uint64(st.fast[0].series[0]+st.fast[1].series[0]+st.slow.series[0])
			}
		}
		d.sink += sink
		puts := d.tab.puts
		for i := range run {
			kd := kinds[i]
			if kd == kSkip {
				continue
			}
			r := &run[i]
			var st *state
			if d.tab.puts != puts { // a slot found may have been evicted and reused
				k := keyOf(r, kd)
				st = d.tab.get(hs[i], &k)
			} else if slots[i] >= 0 {
				st = d.tab.at(slots[i])
			}
			if (kd == kOther && (st == nil || !st.busy)) || (kd == kUnreach && st == nil) {
				continue
			}
			// A record is filed under the time it ended, the time the
			// engine's watermark follows; probes end when they start.
			t := max(r.Start, r.End)
			if t < closed {
				d.late++
				continue
			}
			if st == nil {
				k := keyOf(r, kd)
				st = d.tab.put(hs[i], &k)
			}
			d.count(st, r, t, kd, ports[i], hs[i], emit)
		}
	}
	d.emit = nil
}

// prefetchRun is how many records Observe prefetches at a time.
const prefetchRun = 32

// kSkip marks a record Observe skips (an other flow of a source that is
// not busy).
const kSkip kind = 255

// keyOf returns the key a record of kind kd counts for.
func keyOf(r *flow.Record, kd kind) key {
	if kd == kUnreach {
		return dstKey(r)
	}
	return srcKey(r)
}

// addrOf returns the address and key tag a record of kind kd counts for.
func addrOf(r *flow.Record, kd kind) (*flow.Addr, uint64) {
	if kd == kUnreach {
		return &r.DstAddr, detect.AddrTag(r, flow.PseudoDst)
	}
	return &r.SrcAddr, detect.AddrTag(r, flow.PseudoSrc)
}

// count counts record r of kind kd, filed at time t, for the source st
// (hash h).
func (d *Detector) count(st *state, r *flow.Record, t int64, kd kind, port uint16, h uint64, emit detect.Emit) {
	k := st.k
	n := rateOf(r)
	st.rate = max(st.rate, n)
	fs := d.fastSlot(k, st, t, emit)
	ss := d.slowSlot(k, st, t, emit)
	switch kd {
	case kOther:
		fs.touch(t, d.win)
		ss.touch(t, d.slowWin)
		fs.other = satAdd(fs.other, n)
		ss.other = satAdd(ss.other, n)
		return // nothing crosses a threshold
	case kUnreach:
		fs.touch(t, d.win)
		ss.touch(t, d.slowWin)
		// The answer makes one of the source's probes a failed one.
		add := (1 - d.unknown) * float32(n)
		fs.fail = min(fs.fail+add, float32(fs.probes))
		ss.fail = min(ss.fail+add, float32(ss.probes))
	default:
		d.probe(st, r, t, kd, port, n, fs, ss)
		if !st.busy && (fs.nh >= d.trackBits || fs.np >= d.trackBits || ss.nh >= d.trackBits || ss.np >= d.trackBits) {
			st.busy = true
			w, b := d.filterBit(h)
			d.filter[w] |= b
		}
	}
	d.check(k, st, fs, ss, emit)
}

// probe counts a probe in the source's windows and keeps a little
// evidence.
func (d *Detector) probe(st *state, r *flow.Record, t int64, kd kind, port uint16, n uint32, fs, ss *slot) {
	var fail float32
	switch kd {
	case kFailed:
		fail = float32(n)
	case kUnknown:
		fail = d.unknown * float32(n)
	}
	hh, ph := hashAddr(&r.DstAddr), hashPort(r.Proto, port)
	if fs.addProbe(hh, ph, port, r.Proto, n, fail, bucket(fs.touch(t, d.win), d.perMs)) {
		i := st.tgtN % uint8(len(st.tgt))
		if st.tgtN < 255 {
			st.tgtN++
		}
		st.tgt[i] = r.DstAddr
		if r.Pseudo&flow.PseudoDst != 0 {
			st.tgtPs |= 1 << i
		} else {
			st.tgtPs &^= 1 << i
		}
	}
	ss.addProbe(hh, ph, port, r.Proto, n, fail, bucket(ss.touch(t, d.slowWin), d.slowPerMs))
	if !st.sample.ok() {
		st.sample.set(r)
	}
}

// fastSlot returns the short-window slot for time t, opening it (and
// closing the older of two open windows) when needed. A record older than
// both open windows is folded into the older one.
func (d *Detector) fastSlot(k key, st *state, t int64, emit detect.Emit) *slot {
	a, b := &st.fast[0], &st.fast[1]
	if a.used() && uint64(t-a.start) < uint64(d.win) {
		return a
	}
	if b.used() && uint64(t-b.start) < uint64(d.win) {
		return b
	}
	ws := detect.WindowStart(t, d.win)
	switch {
	case !a.used():
		a.reset(ws)
		return a
	case !b.used():
		b.reset(ws)
		return b
	}
	old := a
	if b.start < a.start {
		old = b
	}
	if ws > old.start {
		d.close(k, st, old, false, emit)
		old.reset(ws)
	}
	return old
}

// slowSlot returns the long-window slot for time t; records of an
// earlier long window than the open one are folded into it.
func (d *Detector) slowSlot(k key, st *state, t int64, emit detect.Emit) *slot {
	s := &st.slow
	if s.used() && uint64(t-s.start) < uint64(d.slowWin) {
		return s
	}
	ws := detect.WindowStart(t, d.slowWin)
	if !s.used() {
		s.reset(ws)
		st.sample = sample{}
	} else if ws > s.start {
		d.close(k, st, s, true, emit)
		s.reset(ws)
		st.sample = sample{}
	}
	return s
}

// check emits a finding when a window crosses a threshold for the first
// time.
func (d *Detector) check(k key, st *state, fs, ss *slot, emit detect.Emit) {
	if st.rate <= 1 && int(fs.nh) < d.bits.hosts && int(fs.np) < d.bits.ports &&
		int(ss.nh) < d.bits.slowHosts && int(ss.np) < d.bits.slowPorts {
		return // no sketch holds enough yet
	}
	if fs.flags&slotEmitted == 0 {
		if m := d.measure(st, fs, false); m.crossed {
			fs.flags |= slotEmitted
			ss.flags |= slotReported
			emit(d.finding(k, st, fs, m))
		}
	}
	if ss.flags&slotEmitted == 0 {
		if m := d.measure(st, ss, true); m.crossed {
			ss.flags |= slotEmitted
			if ss.flags&slotReported == 0 {
				emit(d.finding(k, st, ss, m))
			}
		}
	}
}

// close ends a window: a window that was reported is reported once more
// with its final counts.
func (d *Detector) close(k key, st *state, s *slot, slow bool, emit detect.Emit) {
	if s.flags&slotEmitted != 0 {
		if m := d.measure(st, s, slow); m.crossed {
			emit(d.finding(k, st, s, m))
		}
	}
	s.flags = 0
}

// Advance implements detect.Detector: it closes the windows that end at
// or before wm and forgets sources without open windows.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	b := detect.WindowStart(wm, d.win)
	if b == d.swept {
		return
	}
	d.swept = b
	d.tab.each(func(h uint64, st *state) bool {
		k := st.k
		open := false
		for i := range st.fast {
			s := &st.fast[i]
			if s.used() && s.start <= wm-d.win {
				d.close(k, st, s, false, emit)
			}
			open = open || s.used()
		}
		if s := &st.slow; s.used() && s.start <= wm-d.slowWin {
			d.close(k, st, s, true, emit)
		}
		if !open && !st.slow.used() {
			d.tab.delete(h)
		}
		return true
	})
	d.rebuildFilter()
}

// Flush implements detect.Detector: it closes every window.
func (d *Detector) Flush(emit detect.Emit) {
	d.tab.each(func(h uint64, st *state) bool {
		k := st.k
		for i := range st.fast {
			if st.fast[i].used() {
				d.close(k, st, &st.fast[i], false, emit)
			}
		}
		if st.slow.used() {
			d.close(k, st, &st.slow, true, emit)
		}
		d.tab.delete(h)
		return true
	})
	d.tab.reset()
	d.rebuildFilter()
}
