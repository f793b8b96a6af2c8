package ddos

import (
	"math"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// Detector finds volumetric floods per destination. It implements
// detect.Detector; the engine calls it from one goroutine at a time.
type Detector struct {
	cfg       Config
	amp       *portSet
	bucketMs  int64
	windowMs  int64
	holdMs    int64
	idleMs    int64
	bucketS   float32             // bucket length in seconds
	floor     [nVec][nMet]float32 // alarm floors per bucket (+Inf: rate disabled)
	watch     [nVec][nMet]float32 // watch_fraction × floor
	mult      float32             // multiplier
	decays    [256]float32        // baseline weight left after n buckets
	halfLives float64             // buckets per half-life, inverted
	minBits   int                 // sketch bits for min_sources
	minRecs   uint32              // min_source_records

	dsts    *detect.Table[addrKey, dstState]
	sources *detect.Table[srcKey, srcState]
	attacks *detect.Table[addrKey, attack]
	adm     *admission

	closed int64 // end of the last closed window: records ending before it are late
	late   uint64
}

// New returns a detector, or the configuration's problems.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:      cfg,
		amp:      newPortSet(cfg.AmplifierPorts),
		bucketMs: cfg.Bucket.Milliseconds(),
		windowMs: cfg.Window.Milliseconds(),
		holdMs:   cfg.Hold.Milliseconds(),
		idleMs:   cfg.IdleTimeout.Milliseconds(),
		mult:     float32(cfg.Multiplier),
		minRecs:  uint32(cfg.MinSourceRecords),
		closed:   math.MinInt64,
	}
	d.bucketS = float32(d.bucketMs) / 1000
	inf := float32(math.Inf(1))
	for v, f := range cfg.floors() {
		for m, x := range [nMet]float64{f.PPS, f.BPS / 8, f.FPS} {
			d.floor[v][m], d.watch[v][m] = inf, inf
			if x > 0 {
				d.floor[v][m] = float32(x) * d.bucketS
				d.watch[v][m] = d.floor[v][m] * float32(cfg.WatchFraction)
			}
		}
	}
	d.halfLives = float64(d.bucketMs) / float64(cfg.BaselineHalfLife.Milliseconds())
	for n := range d.decays {
		d.decays[n] = float32(math.Exp2(-float64(n) * d.halfLives))
	}
	d.minBits = max(1, int(math.Round(64*(1-math.Exp(-float64(cfg.MinSources)/64)))))
	d.adm = &admission{bucket: math.MinInt64, level: admissionLevel(&d.floor, cfg.WatchFraction, cfg.Multiplier)}
	d.dsts = detect.NewTable[addrKey](cfg.MaxKeys, dstBefore)
	d.sources = detect.NewTable[srcKey](cfg.MaxSources, sourceBefore)
	d.attacks = detect.NewTable[addrKey](cfg.MaxAttacks, attackBefore)
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Observe implements detect.Detector: it counts each flood record in its
// destination's bucket and raises or extends an attack when a vector
// crosses its alarm level.
func (d *Detector) Observe(recs []flow.Record, _ int64, emit detect.Emit) {
	for i := range recs {
		r := &recs[i]
		v := vectorOf(r, d.amp)
		if v == vNone {
			continue
		}
		if r.End < d.closed {
			d.late++
			continue
		}
		d.observe(r, v, emit)
	}
}

// observe counts one flood-vector record.
func (d *Detector) observe(r *flow.Record, v int, emit detect.Emit) {
	b := detect.WindowStart(r.Start, d.bucketMs)
	scale := float32(1)
	flows := float32(1)
	if r.SamplingRate > 1 {
		// A sampled record of one packet stands for about rate flows of
		// one packet; a record of many sampled packets for one long flow.
		scale = float32(r.SamplingRate)
		flows = max(1, scale/max(1, float32(r.Packets)))
	}
	pk, by := float32(r.Packets)*scale, float32(r.Bytes)*scale
	h := hashAddr(&r.DstAddr)
	var seed [nMet]float32
	if !d.adm.isTracked(h) {
		est, admit := d.adm.add(h, b, [nMet]float32{pk, by, flows})
		if !admit {
			return
		}
		d.adm.track(h)
		seed = est
	}
	k := dstKey(r)
	st, created := d.dsts.Put(k)
	if created {
		st.bucket = b
		// The bucket so far, as the sketch estimates it (this record
		// included, counted below).
		for m, x := range [nMet]float32{pk, by, flows} {
			st.cur[v].m[m] = max(0, seed[m]-x)
		}
	} else if b > st.bucket {
		d.roll(k, st, b)
	}
	st.last = max(st.last, r.End)
	c := &st.cur[v]
	c.m[mPkts] += pk
	c.m[mBytes] += by
	c.m[mFlows] += flows
	c.srcs |= srcBit(&r.SrcAddr)
	bit := uint8(1) << v
	w := &d.watch[v]
	if c.m[mPkts] >= w[mPkts] || c.m[mBytes] >= w[mBytes] || c.m[mFlows] >= w[mFlows] || (st.hot|st.prevHot)&bit != 0 {
		d.hotPath(k, st, v, r, pk, by, emit)
	}
}

// hotPath handles a record of a vector near or above its alarm level at
// its destination: it remembers the source and raises the alarm.
func (d *Detector) hotPath(k addrKey, st *dstState, v int, r *flow.Record, pk, by float32, emit detect.Emit) {
	bit := uint8(1) << v
	c := &st.cur[v]
	if st.hot&bit == 0 {
		l := d.level(st, v)
		if ratio(c, &l) >= float32(d.cfg.WatchFraction) {
			st.hot |= bit
		}
	}
	if (st.hot|st.prevHot)&bit == 0 {
		return
	}
	d.remember(k, st, v, r, pk, by, emit)
	if st.attack&bit == 0 && st.hot&bit != 0 && d.enoughSources(c.srcs) {
		l := d.level(st, v)
		if x := ratio(c, &l); x >= 1 {
			d.alarm(k, st, v, r, x, emit)
		}
	}
}

// remember counts a record of a hot destination's source, and names the
// source once it has sent enough during an attack of a direct vector.
func (d *Detector) remember(k addrKey, st *dstState, v int, r *flow.Record, pk, by float32, emit detect.Emit) {
	s, created := d.sources.Put(srcKey{src: srcKeyOf(r), dst: k})
	if created {
		s.first = r.Start
	}
	s.first = min(s.first, r.Start)
	s.last = max(s.last, r.End)
	s.pkts += pk
	s.bytes += by
	s.records++
	s.vecs |= 1 << v
	s.dirty = true
	if st.attack == 0 {
		return
	}
	name := !s.named && s.records >= d.minRecs && st.attack&^(1<<vRefl)&s.vecs != 0
	sample := st.attack&(1<<v) != 0 && st.samples < 3
	if !name && !sample {
		return
	}
	at := d.attacks.Get(k)
	if at == nil { // evicted
		st.attack, st.samples = 0, 0
		return
	}
	if sample {
		at.samples[st.samples] = sampleOf(r)
		st.samples++
	}
	if name {
		s.named, s.dirty = true, false
		at.named++
		emit(d.sourceFinding(k, at, srcKeyOf(r), s, true))
	}
}

// alarm opens an attack on k (or adds vector v to it) and names the
// sources already remembered.
func (d *Detector) alarm(k addrKey, st *dstState, v int, r *flow.Record, x float32, emit detect.Emit) {
	at, created := d.attacks.Put(k)
	if created {
		at.open(st, v, r, d)
	}
	bit := uint8(1) << v
	at.vecs |= bit
	st.attack |= bit
	at.ratio = max(at.ratio, x)
	at.peakBucket(st, d)
	if st.samples < uint8(len(at.samples)) {
		at.samples[st.samples] = sampleOf(r)
		st.samples++
	}
	// One pass over the remembered sources: the victim's top sources,
	// and the naming of those that sent before the alarm.
	t := &top{}
	d.sources.Range(func(sk srcKey, s *srcState) bool {
		if sk.dst != k {
			return true
		}
		t.add(sk.src, s, at)
		if s.vecs&bit != 0 {
			at.first = min(at.first, s.first)
		}
		if direct(v) && !s.named && s.records >= d.minRecs && s.vecs&bit != 0 {
			s.named, s.dirty = true, false
			at.named++
			emit(d.sourceFinding(k, at, sk.src, s, true))
		}
		return true
	})
	emit(d.victimFinding(k, at, st, t))
}

// foldAttack adds st's closing bucket to its attack: series, peaks, and
// whether the flood was still on.
func (d *Detector) foldAttack(k addrKey, st *dstState) {
	at := d.attacks.Get(k)
	if at == nil {
		st.attack, st.samples = 0, 0
		return
	}
	c, _ := at.bucketCounts(st)
	for m := range nMet {
		at.tot[m] += float64(c[m])
	}
	at.series.add(st.bucket, d.bucketMs, c[mPkts])
	if c[mFlows] > 0 {
		at.dirty = true
		at.last = max(at.last, st.last)
	}
	at.peakBucket(st, d)
	if st.hot&at.vecs != 0 {
		at.lastHot = max(at.lastHot, st.bucket)
	}
}

// clock returns the detector's event time for watermark wm. The engine's
// watermark follows the latest record start, and records are filed by
// their end, so a long flow reported ahead of the others never closes a
// window early.
func (d *Detector) clock(wm int64) int64 { return wm }

// Advance implements detect.Detector: when event time closes a window,
// attacks and named sources with news are reported, attacks quiet for
// the hold time end, and idle state is dropped.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	now := d.clock(wm)
	if now == math.MinInt64 {
		return
	}
	c := detect.WindowStart(now, d.windowMs)
	if c <= d.closed {
		return
	}
	d.closed = c
	d.report(now, emit, false)
}

// Flush implements detect.Detector: every attack is reported and ended.
func (d *Detector) Flush(emit detect.Emit) {
	d.report(math.MaxInt64, emit, true)
	d.dsts.Reset()
	d.sources.Reset()
	d.attacks.Reset()
	d.adm.tracked = [2][admitCells / 64]uint64{}
}

// report closes a window at event time now (all: the end of input):
// attacks fold their last bucket and end when quiet for the hold time;
// attacks and named sources with news are reported; idle state goes.
func (d *Detector) report(now int64, emit detect.Emit, all bool) {
	d.attacks.Range(func(k addrKey, at *attack) bool {
		st := d.dsts.Get(k)
		if st != nil && st.attack != 0 && (all || st.bucket+d.bucketMs <= now) {
			// Fold the last bucket: no record has rolled it.
			d.foldAttack(k, st)
			st.hot, st.prevHot = 0, 0
			st.cur = [nVec]counters{}
			st.bucket = max(st.bucket, detect.WindowStart(now, d.bucketMs))
		}
		at.ended = all || st == nil || st.attack == 0 || at.lastHot+d.bucketMs+d.holdMs <= now
		return true
	})
	var tops map[addrKey]*top
	if d.attacks.Len() > 0 {
		tops = make(map[addrKey]*top, d.attacks.Len())
	}
	d.sources.Range(func(sk srcKey, s *srcState) bool {
		at := d.attacks.Get(sk.dst)
		if at == nil {
			if all || s.last < now-d.windowMs {
				d.sources.Delete(sk)
			}
			return true
		}
		t := tops[sk.dst]
		if t == nil {
			t = &top{}
			tops[sk.dst] = t
		}
		t.add(sk.src, s, at)
		if s.named && s.dirty {
			emit(d.sourceFinding(sk.dst, at, sk.src, s, false))
			s.dirty = false
		}
		if at.ended {
			d.sources.Delete(sk)
		}
		return true
	})
	d.attacks.Range(func(k addrKey, at *attack) bool {
		if at.dirty || at.ended {
			emit(d.victimFinding(k, at, nil, tops[k]))
			at.dirty = false
		}
		if at.ended {
			if st := d.dsts.Get(k); st != nil {
				st.attack, st.samples = 0, 0
			}
			d.attacks.Delete(k)
		}
		return true
	})
	if all {
		return
	}
	d.adm.tracked = [2][admitCells / 64]uint64{}
	d.dsts.Range(func(k addrKey, st *dstState) bool {
		if d.idle(st, now) {
			d.dsts.Delete(k)
		} else {
			st.busy = false
			d.adm.track(hashAddr(&k.addr))
		}
		return true
	})
}

// Stats implements detect.Detector: the destinations, remembered sources
// and attacks together.
func (d *Detector) Stats() detect.Stats {
	s := d.dsts.Stats().Add(d.sources.Stats()).Add(d.attacks.Stats())
	s.Late = d.late
	return s
}
