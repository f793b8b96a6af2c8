// Package beacon finds command-and-control (C2) servers by the beaconing
// of the internal hosts they control: implants check in with their server
// at a fixed period, give or take a jitter, with requests of similar
// size, for as long as they run.
//
// The detector follows each (internal client, external server, service)
// pair's connections: a small first-sight entry for every pair, promoted
// to a full series (the last 32 intervals and 33 request sizes) once the
// pair has connected a few times. A promoted pair is scored by a
// likelihood ratio of "regular with jitter" against "random (Poisson)"
// connections, on timing and, with less weight, on size. A server's
// score is the best of its pairs or the sum over all of them (fan-in:
// many hosts beaconing to one server is stronger evidence than one).
// Servers contacted by a large share of all active clients (time,
// update, telemetry infrastructure) are not reported, nor are ignored
// services (NTP by default). See README.md.
package beacon

import (
	"math"
	"time"
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// Name is the detector's name.
const Name = "beacon"

// Detector is the C2 beacon detector; it implements detect.Detector.
type Detector struct {
	cfg    Config
	sc     *scorer
	ignore []service

	pairs   *detect.Table[pairKey, pair]
	series  *detect.Table[pairKey, series]
	servers *detect.Table[serverKey, server]
	hosts   *detect.Table[flow.Addr, host]
	groups  *detect.Table[groupKey, int32]

	v4, v6 int // hosts per address family

	// Durations in ms.
	minIvl, minSpan, splitGap, window, ttl, sweepEvery int64

	expired []pairKey   // scratch of the expiry
	active  []serverKey // servers with an open window

	wm         int64 // latest watermark
	nextSweep  int64 // event time of the next window check
	nextExpire int64 // event time of the next expiry of idle pairs
	late       uint64
	evictions  uint64 // pairs and series evicted by the detector itself
}

// server is a server's service: the pairs that reach it and their score.
type server struct {
	clients    int32   // pairs (distinct clients) tracked
	cands      int32   // pairs judged
	beacons    int32   // pairs judged more likely beaconing than random
	sum        float64 // sum of the judged pairs' log likelihood ratios (fan-in)
	best       float64 // best pair's log likelihood ratio
	bestClient flow.Addr
	bucket     int16 // period bucket of the best pair
	first      int64 // first connection of a beaconing pair, ms
	last       int64 // newest connection of a beaconing pair, ms
	win        int64 // start of the window the server beacons in
	active     bool  // crossed the threshold in window win
	live       bool  // reported in window win already
	nsamples   uint8
	peers      peers
	samples    *[3]flow.Record // records quoted (allocated when the server first crosses)
}

// host is an internal client: how many pairs it has (the population of
// active clients is the number of hosts).
type host struct{ refs int32 }

// New returns a detector; the configuration must be valid.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ignore, _ := parseServices(cfg.IgnoreServices)
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	d := &Detector{
		cfg:    cfg,
		sc:     newScorer(cfg.Jitter, cfg.Outliers, cfg.SizeWeight, ms(cfg.MinInterval), ms(cfg.MaxInterval)),
		ignore: ignore,
		pairs:  detect.NewTable[pairKey, pair](cfg.MaxKeys, func(a, b *pair) bool { return a.last < b.last }),
		series: detect.NewTable[pairKey, series](cfg.MaxSeries, func(a, b *series) bool { return a.last < b.last }),
		servers: detect.NewTable[serverKey, server](cfg.MaxKeys, func(a, b *server) bool {
			return !a.active && (b.active || a.clients < b.clients)
		}),
		hosts:    detect.NewTable[flow.Addr, host](cfg.MaxKeys, func(a, b *host) bool { return a.refs < b.refs }),
		groups:   detect.NewTable[groupKey, int32](cfg.MaxSeries, func(a, b *int32) bool { return *a < *b }),
		minIvl:   ms(cfg.MinInterval),
		minSpan:  ms(cfg.MinSpan),
		splitGap: ms(cfg.SplitGap),
		window:   ms(cfg.Window),
		ttl:      ms(cfg.MaxInterval) * 3 / 2,
		wm:       math.MinInt64, nextSweep: math.MinInt64,
	}
	d.sweepEvery = min(d.window, time.Minute.Milliseconds())
	d.servers.SetExtra(func(s *server) int {
		if s.samples != nil {
			return len(s.samples) * int(unsafe.Sizeof(flow.Record{}))
		}
		return 0
	})
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Observe implements detect.Detector.
func (d *Detector) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		r := &recs[i]
		if r.Class != flow.ClassOutbound && r.Class != flow.ClassTransit || r.Pseudo&flow.PseudoDst != 0 || !request(r) {
			continue
		}
		// A series takes records in any order: a record is late only
		// when it ended before the pairs unseen that long are forgotten.
		if wm != math.MinInt64 && max(r.End, r.Start) < wm-d.ttl {
			d.late++
			continue
		}
		if d.ignored(r) {
			continue
		}
		d.observe(r, emit)
	}
}

// request reports whether r goes from a client to a server: not the
// answer of a service port to an ephemeral one, not an ICMP reply.
func request(r *flow.Record) bool {
	switch r.Proto {
	case 6, 17, 132: // TCP, UDP, SCTP
		return !(r.SrcPort < 1024 && r.DstPort >= 1024)
	case 1: // ICMP: echo and timestamp requests
		t := r.DstPort >> 8
		return t == 8 || t == 13
	case 58: // ICMPv6 echo request
		return r.DstPort>>8 == 128
	}
	return true
}

func (d *Detector) ignored(r *flow.Record) bool {
	for _, s := range d.ignore {
		if s.port == r.DstPort && s.proto == r.Proto {
			return true
		}
	}
	return false
}

func (d *Detector) observe(r *flow.Record, emit detect.Emit) {
	k := pairKey{client: r.SrcAddr, server: r.DstAddr, port: r.DstPort, proto: r.Proto}
	t, end := r.Start, max(r.End, r.Start)
	b := clampU32(r.ScaledBytes())
	p, created := d.pair(k)
	if !created && d.continues(p, r, t) {
		// The same connection, split by the exporter: its bytes add up.
		p.lastTo = max(p.lastTo, end)
		if !p.full {
			p.sz[p.nsz-1] = satAdd(p.sz[p.nsz-1], b)
		} else if s := d.series.Get(k); s != nil && s.nsz > 0 {
			s.sz[s.nsz-1] = satAdd(s.sz[s.nsz-1], b)
		}
		return
	}
	if p.nsz == 0 || t >= p.last {
		p.sport, p.lastTo = r.SrcPort, end
	}
	if !p.full {
		c := p.view()
		c.insert(t, b, firstLen)
		p.store(&c)
		if int(p.nsz) < d.cfg.PromoteAfter {
			return
		}
		d.promote(k, p, r)
		return
	}
	p.last = max(p.last, t)
	s := d.series.Get(k)
	if s == nil {
		// The series was evicted: start over at first sight.
		*p = pair{sport: r.SrcPort, lastTo: end}
		c := p.view()
		c.insert(t, b, firstLen)
		p.store(&c)
		return
	}
	c := s.view()
	if !c.insert(t, b, ringLen) {
		d.late++ // older than the whole history kept
		return
	}
	s.store(&c)
	s.total++
	d.evaluate(k, s, r, emit)
}

// continues reports whether r is a further record of p's newest
// connection rather than a new connection.
func (d *Detector) continues(p *pair, r *flow.Record, t int64) bool {
	if p.nsz == 0 || r.SrcPort != p.sport || t < p.last {
		return false
	}
	if r.Proto == 6 && r.TCPFlags != 0 {
		return r.TCPFlags&flow.TCPSyn == 0
	}
	return t <= p.lastTo+d.splitGap
}

func satAdd(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint32
}

// pair returns the state of k, creating it (and evicting the
// longest-unseen pair when the table is full) if it is new.
func (d *Detector) pair(k pairKey) (*pair, bool) {
	if d.pairs.Len() >= d.cfg.MaxKeys {
		if p := d.pairs.Get(k); p != nil {
			return p, false
		}
		var victim pairKey
		var oldest int64 = math.MaxInt64
		n := 0
		d.pairs.Range(func(vk pairKey, v *pair) bool {
			if v.last < oldest {
				victim, oldest = vk, v.last
			}
			n++
			return n < 8
		})
		d.deletePair(victim)
		d.evictions++
	}
	return d.pairs.Put(k)
}

// family counts a client in (or out of) its address family.
func (d *Detector) family(a flow.Addr, n int) {
	if a.Is4() {
		d.v4 = max(d.v4+n, 0)
	} else {
		d.v6 = max(d.v6+n, 0)
	}
}

// population is the number of active internal hosts: the larger of the
// IPv4 and IPv6 client counts (a dual-stack host has an address in each).
func (d *Detector) population() int { return max(d.v4, d.v6) }

// deletePair forgets a pair and its series.
func (d *Detector) deletePair(k pairKey) {
	p := d.pairs.Get(k)
	if p == nil {
		return
	}
	if p.full {
		d.deleteSeries(k)
	}
	d.pairs.Delete(k)
}

// deleteSeries forgets a pair's series, its contribution to its server
// and its references to the server and the client.
func (d *Detector) deleteSeries(k pairKey) {
	s := d.series.Get(k)
	if s == nil {
		return
	}
	d.unjudge(k, s)
	d.series.Delete(k)
	if srv := d.servers.Get(k.serverKey()); srv != nil {
		srv.clients = max(srv.clients-1, 0)
	}
	if h := d.hosts.Get(k.client); h != nil {
		if h.refs--; h.refs <= 0 {
			d.hosts.Delete(k.client)
			d.family(k.client, -1)
		}
	}
}

// promote gives p a full series, carrying its connections over, and
// counts the client as the server's.
func (d *Detector) promote(k pairKey, p *pair, r *flow.Record) {
	if d.series.Len() >= d.cfg.MaxSeries {
		var victim pairKey
		var oldest int64 = math.MaxInt64
		n := 0
		d.series.Range(func(vk pairKey, v *series) bool {
			if v.last < oldest {
				victim, oldest = vk, v.last
			}
			n++
			return n < 8
		})
		d.deleteSeries(victim)
		if vp := d.pairs.Get(victim); vp != nil {
			*vp = pair{last: vp.last, lastTo: vp.lastTo, sport: vp.sport}
		}
		d.evictions++
	}
	// A promoted pair is a recurring client of the server: prevalence
	// counts those, among the hosts with a recurring pair.
	srv, _ := d.servers.Put(k.serverKey())
	srv.clients++
	h, created := d.hosts.Put(k.client)
	if created {
		d.family(k.client, 1)
	}
	h.refs++
	s, _ := d.series.Put(k)
	c := p.view()
	*s = series{last: p.last, lastTo: p.lastTo, firstAt: c.first(), total: uint32(p.nsz), nd: p.nd, nsz: p.nsz,
		pseudo: r.Pseudo&flow.PseudoSrc != 0}
	copy(s.d[:], p.d[:p.nd])
	copy(s.sz[:], p.sz[:p.nsz])
	p.full = true
}
