package beacon

import (
	"math"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// evaluate scores a promoted pair after a new connection, updates its
// server and reports the server if it crosses the threshold.
func (d *Detector) evaluate(k pairKey, s *series, r *flow.Record, emit detect.Emit) {
	// Throttle: a pair is judged at most once per min_interval (faster
	// pairs are no beacon candidates anyway), and a pair found clearly
	// random skips a few connections (each adds little evidence).
	if s.evalAt != 0 && s.last >= s.evalAt && s.last-s.evalAt < d.minIvl {
		return
	}
	if s.skip > 0 {
		s.skip--
		return
	}
	s.evalAt = s.last
	c := s.view()
	var res result
	if int(s.nsz) >= d.cfg.MinConnections && s.last-c.first() >= d.minSpan {
		res = d.sc.score(c.d, c.sz)
	}
	d.unjudge(k, s)
	if !res.cand {
		return
	}
	sk := k.serverKey()
	srv, _ := d.servers.Put(sk)
	s.cand, s.llr = true, float32(res.llr)
	srv.sum += float64(s.llr)
	srv.cands++
	if s.llr < -skipLLR {
		s.skip = uint8(min(-s.llr/skipLLR, maxSkip))
	}
	b := bucketOf(res.median)
	if s.llr > 0 {
		srv.beacons++
		s.bucket = b
		g, _ := d.groups.Put(groupKey{port: k.port, proto: k.proto, bucket: b})
		*g++
		srv.peers.put(k.client, s.llr, s.pseudo)
	}
	if srv.bestClient == k.client || float64(s.llr) > srv.best {
		srv.best, srv.bestClient, srv.bucket = float64(s.llr), k.client, b
	}
	if s.llr > 0 {
		d.judge(sk, srv, s, r, emit)
	}
}

// A pair whose log likelihood ratio is below -skipLLR skips one
// evaluation per skipLLR, at most maxSkip: a new interval adds at most a
// few units.
const (
	skipLLR = 5
	maxSkip = 8
)

// unjudge removes a series' contribution from its server and group.
func (d *Detector) unjudge(k pairKey, s *series) {
	if !s.cand {
		return
	}
	if srv := d.servers.Get(k.serverKey()); srv != nil {
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
		gk := groupKey{port: k.port, proto: k.proto, bucket: s.bucket}
		if g := d.groups.Get(gk); g != nil {
			if *g--; *g <= 0 {
				d.groups.Delete(gk)
			}
		}
	}
	s.cand, s.llr = false, 0
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
	return float64(srv.clients) >= limit || float64(d.group(sk, srv.bucket)) >= limit
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

// Advance implements detect.Detector: every minute of event time (or
// window, if shorter) it closes the windows that ended, and every 1/8 of
// 1.5 × max_interval it forgets the pairs unseen that long.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	d.wm = max(d.wm, wm)
	if d.nextSweep == math.MinInt64 {
		d.nextSweep, d.nextExpire = wm+d.sweepEvery, wm+d.ttl/8
		return
	}
	if wm < d.nextSweep {
		return
	}
	d.nextSweep = wm + d.sweepEvery
	d.close(wm, emit, false)
	if wm >= d.nextExpire {
		d.nextExpire = wm + d.ttl/8
		d.expire(wm)
	}
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
	}
	clear(d.active[len(keep):])
	d.active = keep
}

// expire forgets the pairs unseen for 1.5 × max_interval, and the
// servers left without pairs.
func (d *Detector) expire(wm int64) {
	old := d.expired[:0]
	d.pairs.Range(func(k pairKey, p *pair) bool {
		if wm-max(p.last, p.lastTo) > d.ttl {
			old = append(old, k)
		}
		return true
	})
	for _, k := range old {
		d.deletePair(k)
	}
	clear(old)
	d.expired = old[:0]
	d.servers.Range(func(sk serverKey, srv *server) bool {
		if srv.clients <= 0 && !srv.active {
			d.servers.Delete(sk)
		}
		return true
	})
}

// Stats implements detect.Detector. Keys counts pairs, series, servers,
// clients and period groups; MaxKeys is their joint bound.
func (d *Detector) Stats() detect.Stats {
	st := d.pairs.Stats().Add(d.series.Stats()).Add(d.servers.Stats()).Add(d.hosts.Stats()).Add(d.groups.Stats())
	st.MaxKeys = 3*d.cfg.MaxKeys + 2*d.cfg.MaxSeries
	st.Evictions += d.evictions
	st.Late = d.late
	return st
}
