// Package beacon finds command-and-control (C2) servers by the beaconing
// of the internal hosts they control: implants check in with their server
// at a fixed period, give or take a jitter, with requests of similar
// size, for as long as they run.
//
// The detector follows each (internal client, external server, service)
// pair's connections: a 32-byte first-sight slot for every pair (a
// set-associative array indexed by a seeded hash of the pair), promoted
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
	"slices"
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
	hash   hasher

	slots   slots    // first sight: every pair
	ser     []series // promoted pairs (slab, indexed from their slot)
	free    []int32  // free entries of ser
	servers *detect.Table[serverKey, server]
	hosts   *detect.Table[flow.Addr, host]
	groups  *detect.Table[groupKey, int32]

	v4, v6 int // hosts per address family

	// Durations in ms.
	minIvl, minSpan, splitGap, window, ttl, sweepEvery int64

	active []serverKey // servers with an open window
	todo   []job       // Observe scratch
	touch  uint64      // sink of the loads that bring sets to cache

	wm          int64 // latest watermark
	nextClose   int64 // event time of the next window check
	serSweepAt  int   // next series the sweep looks at
	serDebt     int64 // series sweep budget carried over
	hand        int   // next series the eviction looks at
	late        uint64
	evictions   uint64 // series evicted for max_series
	seriesPeak  int
	seriesCount int
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
		hash:   newHasher(),
		slots:  newSlots(cfg.MaxKeys),
		servers: detect.NewTable[serverKey, server](cfg.MaxSeries, func(a, b *server) bool {
			return !a.active && (b.active || a.clients < b.clients)
		}),
		hosts:    detect.NewTable[flow.Addr, host](cfg.MaxSeries, func(a, b *host) bool { return a.refs < b.refs }),
		groups:   detect.NewTable[groupKey, int32](cfg.MaxSeries, func(a, b *int32) bool { return *a < *b }),
		minIvl:   ms(cfg.MinInterval),
		minSpan:  ms(cfg.MinSpan),
		splitGap: ms(cfg.SplitGap),
		window:   ms(cfg.Window),
		ttl:      ms(cfg.MaxInterval) * 3 / 2,
		wm:       math.MinInt64, nextClose: math.MinInt64,
		todo: make([]job, batchLen),
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

// Observe implements detect.Detector. It works in two passes over the
// batch: the first keeps the records that count and hashes their pairs,
// touching their sets of slots (independent loads the processor overlaps:
// the array is far larger than the caches), the second does the work on
// sets already in cache.
func (d *Detector) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	late := wm - d.ttl
	if wm == math.MinInt64 {
		late = math.MinInt64
	}
	for len(recs) > 0 {
		n := min(len(recs), len(d.todo))
		todo := d.todo[:0]
		var touch uint64
		for i := range recs[:n] {
			r := &recs[i]
			if r.Class != flow.ClassOutbound && r.Class != flow.ClassTransit || r.Pseudo&flow.PseudoDst != 0 || !request(r) {
				continue
			}
			// A series takes records in any order: a record is late
			// only when it started before the pairs unseen that long
			// are forgotten.
			if r.Start < late {
				d.late++
				continue
			}
			if len(d.ignore) > 0 && d.ignored(r) {
				continue
			}
			todo = append(todo, job{i: int32(i), h: d.hash.pair(&r.SrcAddr, &r.DstAddr, r.DstPort, r.Proto)})
		}
		// Tight loops of independent loads: sets, then the series of
		// promoted pairs.
		a, mask := d.slots.a, d.slots.mask
		for _, j := range todo {
			set := a[(j.h&mask)*ways:][:ways]
			touch += set[0].h + set[ways/2].h // both cache lines
		}
		for _, j := range todo {
			if p := d.slots.find(j.h); p != nil && p.promoted() {
				if i := p.seriesIndex(); int(i) < len(d.ser) {
					touch += uint64(d.ser[i].last)
				}
			}
		}
		d.touch ^= touch
		for _, j := range todo {
			d.observe(&recs[j.i], j.h, emit)
		}
		recs = recs[n:]
	}
}

// job is a record of the batch to observe and the hash of its pair.
type job struct {
	i int32
	h uint64
}

// batchLen is how many records a pass of Observe takes.
const batchLen = 512

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

func (d *Detector) observe(r *flow.Record, h uint64, emit detect.Emit) {
	t, end := r.Start, max(r.End, r.Start)
	p := d.slots.find(h)
	var s *series
	if p != nil && p.promoted() {
		if s = p.series(d.ser); s == nil {
			// Its series was dropped: start over at first sight.
			d.slots.clear(p)
			p = nil
		}
	}
	// A TCP record without SYN (when the exporter reports flags) is a
	// later part of a connection: split by an active timeout, or the last
	// ACK after a FIN that the exporter reported as a flow of its own. It
	// never starts a connection; it adds to the newest one when it is
	// that connection's, and is otherwise ignored (it may arrive after
	// the next connection started).
	contd := r.Proto == 6 && r.TCPFlags != 0 && r.TCPFlags&flow.TCPSyn == 0
	if p == nil {
		if contd {
			return
		}
		if p = d.slots.put(h, t, d.ttl, d.ser); p != nil {
			p.last, p.n, p.sz[0] = uint32(t), 1, encSize(clampU32(r.ScaledBytes()))
			p.sport, p.dur = r.SrcPort, durSeconds(end-t)
		}
		return
	}
	b := clampU32(r.ScaledBytes())
	last := p.lastAt(t)
	if d.continues(p, last, r, t) {
		// The same connection, split by the exporter: its bytes add up.
		p.dur = max(p.dur, durSeconds(end-last))
		if s == nil {
			p.sz[p.n-1] = encSize(satAdd(decSize(p.sz[p.n-1]), b))
		} else if s.nsz > 0 {
			s.sz[s.nsz-1] = satAdd(s.sz[s.nsz-1], b)
		}
		return
	}
	if contd {
		return
	}
	if t >= last {
		p.sport, p.dur, p.last = r.SrcPort, durSeconds(end-t), uint32(t)
	}
	if s == nil {
		var dd [firstLen + 1]uint32
		var sz [firstLen + 2]uint32
		c := p.view(last, &dd, &sz)
		c.insert(t, b, firstLen)
		p.store(&c)
		if int(p.n) >= d.cfg.PromoteAfter {
			d.promote(h, p, r)
		}
		return
	}
	c := s.view()
	if !c.insert(t, b, ringLen) {
		d.late++ // older than the whole history kept
		return
	}
	s.store(&c)
	s.total++
	d.evaluate(s, r, emit)
}

// continues reports whether r is a further record of p's newest
// connection (which started at last) rather than a new connection.
func (d *Detector) continues(p *slot, last int64, r *flow.Record, t int64) bool {
	if r.SrcPort != p.sport || t < last {
		return false
	}
	if r.Proto == 6 && r.TCPFlags != 0 {
		return r.TCPFlags&flow.TCPSyn == 0
	}
	return t <= last+int64(p.dur)*1000+d.splitGap
}

func satAdd(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint32
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

// evictSample is how many series are compared to choose one to evict.
const evictSample = 8

// promote gives the pair of slot p a full series, carrying its
// connections over, and counts the client as the server's.
func (d *Detector) promote(h uint64, p *slot, r *flow.Record) {
	if d.seriesCount >= d.cfg.MaxSeries {
		// Evict the longest-unseen of the next few series under a
		// clock hand (sequential reads: no cache miss each).
		victim := int32(-1)
		for range evictSample {
			if d.hand >= len(d.ser) {
				d.hand = 0
			}
			i := int32(d.hand)
			d.hand++
			if d.ser[i].inUse && (victim < 0 || d.ser[i].last < d.ser[victim].last) {
				victim = i
			}
		}
		// Admission: the victim must have been quiet for longer than
		// the pair's own newest interval; else the series are busy with
		// pairs at least as active, and the pair tries again at its next
		// connection (against the next series under the hand). Under
		// pressure this keeps series long enough to be judged instead
		// of churning them.
		if victim < 0 || r.Start-d.ser[victim].last <= int64(p.d[p.n-2]) {
			return
		}
		d.dropSeries(victim)
		d.evictions++
	}
	var i int32
	if n := len(d.free); n > 0 {
		i = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		i = int32(len(d.ser))
		if len(d.ser) == cap(d.ser) {
			// Double (append grows large slices by a quarter: more
			// copies of a slab that is large).
			d.ser = slices.Grow(d.ser, min(max(len(d.ser), 1024), d.cfg.MaxSeries-len(d.ser)))
		}
		d.ser = append(d.ser, series{})
	}
	d.seriesCount++
	d.seriesPeak = max(d.seriesPeak, d.seriesCount)
	k := pairKey{client: r.SrcAddr, server: r.DstAddr, port: r.DstPort, proto: r.Proto}
	// A promoted pair is a recurring client of the server: prevalence
	// counts those, among the hosts with a recurring pair.
	srv, _ := d.servers.Put(k.serverKey())
	srv.clients++
	hst, created := d.hosts.Put(k.client)
	if created {
		d.family(k.client, 1)
	}
	hst.refs++
	s := &d.ser[i]
	var dd [firstLen + 1]uint32
	var sz [firstLen + 2]uint32
	c := p.view(p.lastAt(r.Start), &dd, &sz)
	// The header and the connections carried over; the rest of the
	// history arrays is never read beyond nd and nsz.
	s.last, s.inUse, s.cand, s.pseudo, s.misses = c.last, true, false, r.Pseudo&flow.PseudoSrc != 0, 0
	s.nd, s.nsz, s.bucket, s.h, s.firstAt, s.evalAt = uint8(len(c.d)), uint8(len(c.sz)), 0, h, c.first(), 0
	s.total, s.nextN, s.llr, s.key = uint32(len(c.sz)), 0, 0, k
	copy(s.d[:], c.d)
	copy(s.sz[:], c.sz)
	p.flags |= slotPromoted
	p.d[0] = uint32(i)
}

// dropSeries forgets series i, its contribution to its
// server and its references to the server and the client.
func (d *Detector) dropSeries(i int32) {
	s := &d.ser[i]
	if !s.inUse {
		return
	}
	k := s.key
	// Its slot is left as it is: found stale when next used.
	srv := d.servers.Get(k.serverKey())
	d.unjudgeAt(s, srv)
	if srv != nil {
		srv.clients = max(srv.clients-1, 0)
		if srv.clients == 0 && !srv.active {
			d.servers.Delete(k.serverKey())
		}
	}
	if h := d.hosts.Get(k.client); h != nil {
		if h.refs--; h.refs <= 0 {
			d.hosts.Delete(k.client)
			d.family(k.client, -1)
		}
	}
	s.inUse, s.nd, s.nsz = false, 0, 0 // promote sets the rest
	d.free = append(d.free, i)
	d.seriesCount--
}

// seriesOf returns the series of pair k, or nil.
func (d *Detector) seriesOf(k pairKey) *series {
	if p := d.slots.find(d.hash.pair(&k.client, &k.server, k.port, k.proto)); p != nil {
		return p.series(d.ser)
	}
	return nil
}
