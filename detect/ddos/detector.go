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

	hash    hasher
	dsts    *store[dstState]              // by destination key hash
	sources *store[srcState]              // by (source, destination) hash
	attacks *detect.Table[uint64, attack] // by destination key hash
	adm     *admission

	closed int64 // end of the last closed window: records ending before it are late
	late   uint64
	sink   uint64 // sum of the prefetching loads (kept so they are not optimized away)
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
	d.hash = hasher{detect.NewHasher()}
	d.dsts = newStore(cfg.MaxKeys, dstBefore)
	d.sources = newStore(cfg.MaxSources, sourceBefore)
	d.attacks = detect.NewTable[uint64](cfg.MaxAttacks, attackBefore)
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Observe implements detect.Detector: it counts each flood record in its
// destination's bucket and raises or extends an attack when a vector
// crosses its alarm level.
//
// The batch is taken in runs of prefetchRun records, in passes whose
// loads do not depend on each other, so that the CPU overlaps their cache
// misses instead of waiting for each in turn: the first pass hashes the
// destination of each flood record and loads its index cell, the second
// finds its state (or loads the admission sketch's cells), the third and
// fourth do the same for the (source, destination) pairs of hot
// destinations; then the records are counted.
func (d *Detector) Observe(recs []flow.Record, _ int64, emit detect.Emit) {
	var vs [prefetchRun]uint8
	var hs, ps [prefetchRun]uint64
	var slots [prefetchRun]int32
	for len(recs) > 0 {
		run := recs[:min(len(recs), prefetchRun)]
		recs = recs[len(run):]
		var sink uint64
		for i := range run {
			r := &run[i]
			v := vectorOf(r, d.amp)
			if v != vNone && r.End < d.closed {
				d.late++
				v = vNone
			}
			vs[i] = uint8(v)
			if v != vNone {
				hs[i] = d.hash.dst(r)
				sink += d.dsts.cell(hs[i])
			}
		}
		for i := range run {
			ps[i] = 0
			if vs[i] == vNone {
				continue
			}
			slots[i] = d.dsts.find(hs[i])
			if slots[i] < 0 {
				sink += d.adm.touch(hs[i])
				continue
			}
			st := d.dsts.at(slots[i])
			sink += st.cur[vs[i]].srcs
			if st.attack|st.hot|st.prevHot != 0 {
				ps[i] = d.hash.pair(d.hash.src(&run[i]), hs[i])
				sink += d.sources.cell(ps[i])
			}
		}
		for i := range run {
			if ps[i] != 0 {
				sink += uint64(d.sources.find(ps[i]))
			}
		}
		d.sink += sink
		puts := d.dsts.puts
		for i := range run {
			v := int(vs[i])
			if v == vNone {
				continue
			}
			var st *dstState
			switch {
			case d.dsts.puts != puts: // a slot found may have been evicted and reused
				st = d.dsts.get(hs[i])
			case slots[i] >= 0:
				st = d.dsts.at(slots[i])
			}
			d.observe(&run[i], v, hs[i], st, emit)
		}
	}
}

// prefetchRun is how many records Observe prefetches at a time.
const prefetchRun = 32

// observe counts one flood-vector record; k is its destination's hash,
// st its state (nil: not tracked).
func (d *Detector) observe(r *flow.Record, v int, k uint64, st *dstState, emit detect.Emit) {
	scale := float32(1)
	flows := float32(1)
	if r.SamplingRate > 1 {
		// A sampled record of one packet stands for about rate flows of
		// one packet; a record of many sampled packets for one long flow.
		scale = float32(r.SamplingRate)
		flows = max(1, scale/max(1, float32(r.Packets)))
	}
	pk, by := float32(r.Packets)*scale, float32(r.Bytes)*scale
	if st == nil {
		est, admit := d.adm.add(k, r.Start, d.bucketMs, [nMet]float32{pk, by, flows})
		if !admit {
			return
		}
		st, _ = d.dsts.put(k)
		st.key, st.bucket = dstKey(r), detect.WindowStart(r.Start, d.bucketMs)
		// The bucket so far, as the sketch estimates it (this record
		// included, counted below).
		for m, x := range [nMet]float32{pk, by, flows} {
			st.cur[v].m[m] = max(0, est[m]-x)
		}
	} else if r.Start >= st.bucket+d.bucketMs {
		// A later bucket (a record of an earlier one counts in the
		// current bucket).
		b := st.bucket + d.bucketMs
		if r.Start >= b+d.bucketMs {
			b = detect.WindowStart(r.Start, d.bucketMs)
		}
		d.roll(k, st, b)
	}
	st.vecs |= 1 << v
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
func (d *Detector) hotPath(k uint64, st *dstState, v int, r *flow.Record, pk, by float32, emit detect.Emit) {
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
func (d *Detector) remember(k uint64, st *dstState, v int, r *flow.Record, pk, by float32, emit detect.Emit) {
	s, created := d.sources.put(d.hash.pair(d.hash.src(r), k))
	if created {
		s.src, s.dst, s.first = srcKeyOf(r), k, r.Start
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
		emit(d.sourceFinding(at, s, true))
	}
}

// alarm opens an attack on k (or adds vector v to it) and names the
// sources already remembered.
func (d *Detector) alarm(k uint64, st *dstState, v int, r *flow.Record, x float32, emit detect.Emit) {
	at, created := d.attacks.Put(k)
	if created {
		at.open(st, v, r, d)
		at.victim = st.key
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
	d.sources.each(func(_ uint64, s *srcState) bool {
		if s.dst != k {
			return true
		}
		t.add(s, at)
		if s.vecs&bit != 0 {
			at.first = min(at.first, s.first)
		}
		if direct(v) && !s.named && s.records >= d.minRecs && s.vecs&bit != 0 {
			s.named, s.dirty = true, false
			at.named++
			emit(d.sourceFinding(at, s, true))
		}
		return true
	})
	emit(d.victimFinding(at, st, t))
}

// foldAttack adds st's closing bucket to its attack: series, peaks, and
// whether the flood was still on.
func (d *Detector) foldAttack(k uint64, st *dstState) {
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

// Advance implements detect.Detector: when event time closes a window,
// attacks and named sources with news are reported, attacks quiet for
// the hold time end, and idle state is dropped. Event time is the
// watermark: the engine's follows the latest record start, and records
// are filed by their end, so a long flow reported ahead of the others
// never closes a window early.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	if wm == math.MinInt64 {
		return
	}
	c := detect.WindowStart(wm, d.windowMs)
	if c <= d.closed {
		return
	}
	d.closed = c
	d.report(wm, emit, false)
}

// Flush implements detect.Detector: every attack is reported and ended.
func (d *Detector) Flush(emit detect.Emit) {
	d.report(math.MaxInt64, emit, true)
	d.dsts.reset()
	d.sources.reset()
	d.attacks.Reset()
}

// report closes a window at event time now (all: the end of input):
// attacks fold their last bucket and end when quiet for the hold time;
// attacks and named sources with news are reported; idle state goes.
func (d *Detector) report(now int64, emit detect.Emit, all bool) {
	d.attacks.Range(func(k uint64, at *attack) bool {
		st := d.dsts.get(k)
		if st != nil && st.attack != 0 && (all || st.bucket+d.bucketMs <= now) {
			// Fold the last bucket: no record has rolled it.
			d.foldAttack(k, st)
			st.hot, st.prevHot, st.vecs = 0, 0, 0
			st.clearBucket()
			st.bucket = max(st.bucket, detect.WindowStart(now, d.bucketMs))
		}
		at.ended = all || st == nil || st.attack == 0 || at.lastHot+d.bucketMs+d.holdMs <= now
		return true
	})
	var tops map[uint64]*top
	if d.attacks.Len() > 0 {
		tops = make(map[uint64]*top, d.attacks.Len())
	}
	d.sources.each(func(sk uint64, s *srcState) bool {
		at := d.attacks.Get(s.dst)
		if at == nil {
			if all || s.last < now-d.windowMs {
				d.sources.delete(sk)
			}
			return true
		}
		t := tops[s.dst]
		if t == nil {
			t = &top{}
			tops[s.dst] = t
		}
		t.add(s, at)
		if s.named && s.dirty {
			emit(d.sourceFinding(at, s, false))
			s.dirty = false
		}
		if at.ended {
			d.sources.delete(sk)
		}
		return true
	})
	d.attacks.Range(func(k uint64, at *attack) bool {
		if at.dirty || at.ended {
			emit(d.victimFinding(at, nil, tops[k]))
			at.dirty = false
		}
		if at.ended {
			if st := d.dsts.get(k); st != nil {
				st.attack, st.samples = 0, 0
			}
			d.attacks.Delete(k)
		}
		return true
	})
	if all {
		return
	}
	d.dsts.each(func(k uint64, st *dstState) bool {
		if d.idle(st, now) {
			d.dsts.delete(k)
		} else {
			st.busy = false
		}
		return true
	})
	// Shrink the indexes to the keys left, and clear the marks of
	// collisions with keys gone.
	d.dsts.reindex()
	d.sources.reindex()
}

// Stats implements detect.Detector: the destinations, remembered sources
// and attacks together.
func (d *Detector) Stats() detect.Stats {
	s := d.dsts.stats().Add(d.sources.stats()).Add(d.attacks.Stats())
	s.Late = d.late
	return s
}
