package beacon

import (
	"math"
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// evaluate scores a promoted pair after a new connection, updates its
// server and reports the server if it crosses the threshold.
func (d *Detector) evaluate(s *series, r *flow.Record, emit detect.Emit) {
	// Throttle: a pair is judged at most once per min_interval (faster
	// pairs are no beacon candidates anyway), and a pair found clearly
	// random skips a few connections (each adds little evidence).
	if s.total < s.nextN || s.evalAt != 0 && s.last >= s.evalAt && s.last-s.evalAt < d.minIvl {
		return
	}
	if int(s.nsz) < d.cfg.MinConnections {
		s.nextN = s.total + uint32(d.cfg.MinConnections-int(s.nsz))
		return
	}
	c := s.view()
	if s.last-c.first() < d.minSpan {
		d.unjudge(s) // the history kept got shorter
		return
	}
	s.evalAt = s.last
	res := d.sc.score(c.d, c.sz)
	k := &s.key
	sk := k.serverKey()
	srv := d.servers.Get(sk)
	// Replace the pair's previous verdict by the new one: its server's
	// sums and its period group (left alone when it stays in place).
	b := bucketOf(res.median)
	wasPos, isPos := s.cand && s.llr > 0, res.cand && res.llr > 0
	if s.cand && srv != nil {
		srv.sum -= float64(s.llr)
		srv.cands = max(srv.cands-1, 0)
		if wasPos {
			srv.beacons = max(srv.beacons-1, 0)
			if !isPos {
				srv.peers.remove(k.client)
			}
		}
		if srv.bestClient == k.client {
			srv.best = 0
		}
	}
	if wasPos && (!isPos || b != s.bucket) {
		d.ungroup(k, s.bucket)
	}
	if isPos && (!wasPos || b != s.bucket) {
		g, _ := d.groups.Put(groupKey{port: k.port, proto: k.proto, bucket: b})
		*g++
	}
	s.cand, s.llr, s.bucket = false, 0, b
	// The next evaluation: after every connection while the pair is
	// young, then once its history has grown by about a third; a pair
	// not beaconing (yet) skips 1, 2, 4, ... 32 connections more, or as
	// many as new intervals could need to make up for the evidence
	// against it. The pairs of a server with too many clients to be
	// reported wait the longest (a beaconing one stays counted in its
	// period group, which is what it is needed for).
	step := max(1, (int(s.nsz)-evalYoung)/evalGrowth)
	wide := srv != nil && d.widespread(srv)
	switch {
	case !isPos:
		s.misses = min(s.misses+1, 6)
		step = max(step, 1+min(1<<(s.misses-1), int(min(-res.llr/skipLLR, maxSkip))))
		if wide && s.misses >= 3 {
			// A busy random pair of a widespread server (a resolver, a
			// proxy): nothing its verdict could change.
			step = 4 * maxSkip
		}
	case wide:
		s.misses = 0
		step = max(step, maxSkip)
	default:
		s.misses = 0
	}
	s.nextN = s.total + uint32(step)
	if !res.cand {
		return
	}
	if srv == nil {
		srv, _ = d.servers.Put(sk)
	}
	s.cand, s.llr = true, float32(res.llr)
	srv.sum += float64(s.llr)
	srv.cands++
	if isPos {
		srv.beacons++
		srv.peers.put(k.client, s.llr, s.pseudo)
	}
	if srv.bestClient == k.client || float64(s.llr) > srv.best {
		srv.best, srv.bestClient, srv.bucket = float64(s.llr), k.client, b
	}
	if isPos {
		d.judge(sk, srv, s, r, emit)
	}
}

// A pair found not beaconing skips 1, 2, 4... connections, and at least
// one per skipLLR of evidence against it (a new interval adds at most a
// few units), at most maxSkip.
const (
	skipLLR = 5
	maxSkip = 32
	// evalGrowth, evalYoung: a pair is evaluated again once the history
	// beyond its first evalYoung connections has grown by 1/evalGrowth
	// (after every connection while it is young).
	evalGrowth = 3
	evalYoung  = 3
)

// unjudge removes a series' contribution from its server and group.
func (d *Detector) unjudge(s *series) {
	if s.cand {
		d.unjudgeAt(s, d.servers.Get(s.key.serverKey()))
	}
}

// unjudgeAt is unjudge with the series' server at hand (nil if gone).
func (d *Detector) unjudgeAt(s *series, srv *server) {
	if !s.cand {
		return
	}
	k := &s.key
	if srv != nil {
		srv.sum -= float64(s.llr)
		srv.cands = max(srv.cands-1, 0)
		if s.llr > 0 {
			srv.beacons = max(srv.beacons-1, 0)
			srv.peers.remove(k.client)
		}
		if srv.bestClient == k.client {
			srv.best = 0
		}
	}
	if s.llr > 0 {
		d.ungroup(k, s.bucket)
	}
	s.cand, s.llr = false, 0
}

// ungroup takes a pair out of its period group.
func (d *Detector) ungroup(k *pairKey, bucket int16) {
	gk := groupKey{port: k.port, proto: k.proto, bucket: bucket}
	if g := d.groups.Get(gk); g != nil {
		if *g--; *g <= 0 {
			d.groups.Delete(gk)
		}
	}
}

// group returns how many pairs beacon to service sk at about the period
// of bucket b (the bucket and its neighbours), whatever the server.
func (d *Detector) group(sk serverKey, b int16) int {
	n := 0
	for x := b - 1; x <= b+1; x++ {
		if g := d.groups.Get(groupKey{port: sk.port, proto: sk.proto, bucket: x}); g != nil {
			n += int(*g)
		}
	}
	return n
}

// llr is a server's evidence: its best pair or the sum over its pairs
// (fan-in), once at least half of its recurring clients have been judged
// (so that the sum and the prevalence are measured on mature data);
// before that, only a best pair of twice the threshold counts.
func (d *Detector) llr(srv *server) float64 {
	if 2*srv.cands >= srv.clients {
		return max(srv.best, srv.sum)
	}
	if srv.best >= 2*d.cfg.Threshold {
		return srv.best
	}
	return 0
}

// prevalent reports whether srv is shared infrastructure: contacted by
// so large a share of the active hosts, or on a service and period so
// many hosts beacon at (to this server or others: load-balanced and
// dual-stack services have many addresses), that it is fleet software,
// not a few implants.
func (d *Detector) prevalent(sk serverKey, srv *server) bool {
	if d.cfg.MaxPrevalence <= 0 {
		return false
	}
	limit := max(float64(d.cfg.PrevalenceMinClients), d.cfg.MaxPrevalence*float64(d.population()))
	return d.widespread(srv) || float64(d.group(sk, srv.bucket)) >= limit
}

// widespread reports whether srv has too many recurring clients to be
// reported (the client part of prevalent).
func (d *Detector) widespread(srv *server) bool {
	return d.cfg.MaxPrevalence > 0 &&
		float64(srv.clients) >= max(float64(d.cfg.PrevalenceMinClients), d.cfg.MaxPrevalence*float64(d.population()))
}

// judge reports srv when its evidence crosses the threshold (once per
// window; the window's close reports it again with final figures).
func (d *Detector) judge(sk serverKey, srv *server, s *series, r *flow.Record, emit detect.Emit) {
	if d.llr(srv) < d.cfg.Threshold || d.prevalent(sk, srv) {
		return
	}
	first := s.view().first()
	if !srv.active {
		srv.active, srv.live = true, false
		srv.win = detect.WindowStart(s.last, d.window)
		srv.first, srv.last = first, s.last
		d.active = append(d.active, sk)
	}
	srv.first, srv.last = min(srv.first, first), max(srv.last, s.last)
	if srv.samples == nil {
		srv.samples = new([3]flow.Record)
	}
	if srv.nsamples < uint8(len(srv.samples)) {
		srv.samples[srv.nsamples] = *r
		srv.nsamples++
	}
	if !srv.live {
		srv.live = true
		emit(d.finding(sk, srv, false))
	}
}

// Advance implements detect.Detector: it forgets the pairs unseen for
// 1.5 × max_interval (an incremental sweep: the slots and the series are
// each swept once per 1/8 of that), and every minute of event time (or
// window, if shorter) it closes the windows that ended.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	if d.wm == math.MinInt64 {
		d.wm, d.nextClose = wm, wm+d.sweepEvery
		return
	}
	if wm <= d.wm {
		return
	}
	d.sweep(wm, wm-d.wm)
	d.wm = wm
	if wm < d.nextClose {
		return
	}
	d.nextClose = wm + d.sweepEvery
	d.close(wm, emit, false)
}

// Flush implements detect.Detector: every open window is reported.
func (d *Detector) Flush(emit detect.Emit) { d.close(d.wm, emit, true) }

// close reports the servers whose window ended before wm (all of them
// with all), with final figures.
func (d *Detector) close(wm int64, emit detect.Emit, all bool) {
	keep := d.active[:0]
	for _, sk := range d.active {
		srv := d.servers.Get(sk)
		if srv == nil || !srv.active {
			continue
		}
		if !all && srv.win+d.window > wm {
			keep = append(keep, sk)
			continue
		}
		if !d.prevalent(sk, srv) && d.llr(srv) >= d.cfg.Threshold {
			emit(d.finding(sk, srv, true))
		}
		srv.active, srv.live, srv.nsamples = false, false, 0
		if srv.clients <= 0 {
			d.servers.Delete(sk)
		}
	}
	clear(d.active[len(keep):])
	d.active = keep
}

// sweep goes on with the sweeps of the slots and the series after the
// watermark moved by moved ms: each array is swept whole once per 1/8 of
// the time to live.
func (d *Detector) sweep(wm, moved int64) {
	period := max(d.ttl/8, 1)
	before := wm - d.ttl
	moved = min(moved, period)
	d.slots.sweepDebt += moved * int64(len(d.slots.a))
	if n := d.slots.sweepDebt / period; n > 0 {
		d.slots.sweepDebt -= n * period
		d.slots.sweep(int(n), before, d.ser)
	}
	d.serDebt += moved * int64(len(d.ser))
	n := d.serDebt / period
	d.serDebt -= n * period
	for ; n > 0 && len(d.ser) > 0; n-- {
		if d.serSweepAt >= len(d.ser) {
			d.serSweepAt = 0
		}
		i := int32(d.serSweepAt)
		d.serSweepAt++
		if s := &d.ser[i]; s.inUse && s.last < before {
			d.dropSeries(i)
		}
	}
}

// Stats implements detect.Detector. Keys counts the slots in use, the
// series, servers, clients and period groups; StateBytes counts the
// whole slot array and series slab (used or not) and the tables.
func (d *Detector) Stats() detect.Stats {
	st := d.servers.Stats().Add(d.hosts.Stats()).Add(d.groups.Stats())
	st.Keys += d.slots.used + d.seriesCount
	st.PeakKeys += d.slots.peak + d.seriesPeak
	st.MaxKeys += d.slots.max + d.cfg.MaxSeries
	st.StateBytes += int64(len(d.slots.a))*int64(slotBytes) +
		int64(cap(d.ser))*int64(unsafe.Sizeof(series{})) + int64(cap(d.free))*4
	st.Evictions += d.evictions + d.slots.evictions + d.slots.crowded
	st.Late = d.late
	return st
}
