package scenario

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/acd-org/acd/flow"
)

const never = math.MaxInt64

// eventer makes one actor's events: event pushes the records of the event
// at t (ns since the epoch; every record's Start at or after t) and returns
// the time of the next event, or never.
type eventer interface {
	event(a *actor, t int64) int64
}

// actor is one independent stream of events with its pending records.
type actor struct {
	gen      eventer
	rng      rng
	evt, end int64                // next event and end of the actor's window (ns)
	pend     []flow.Record        // min-heap on Start
	attack   int                  // index in Config.Attacks, -1 for background
	roles    map[flow.Addr]string // labelled addresses of the attack
}

// push adds r to the pending records, a min-heap on Start.
func (a *actor) push(r flow.Record) {
	a.pend = append(a.pend, r)
	p := a.pend
	for i := len(p) - 1; i > 0; {
		up := (i - 1) / 2
		if p[up].Start <= p[i].Start {
			break
		}
		p[up], p[i] = p[i], p[up]
		i = up
	}
}

// popPending removes and returns the earliest pending record.
func (a *actor) popPending() flow.Record {
	p := a.pend
	r := p[0]
	last := len(p) - 1
	p[0] = p[last]
	p = p[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(p) {
			break
		}
		c := l
		if l+1 < len(p) && p[l+1].Start < p[l].Start {
			c = l + 1
		}
		if p[i].Start <= p[c].Start {
			break
		}
		p[i], p[c] = p[c], p[i]
		i = c
	}
	a.pend = p
	return r
}

// key is the time of the actor's next record (ns), never when done.
func (a *actor) key() int64 {
	if len(a.pend) > 0 {
		return min(a.pend[0].Start*1e6, a.evt)
	}
	return a.evt
}

// step makes one move: it returns the next record when it is due before
// the next event (out), or generates that event (the actor's key then
// changes), or reports that the actor is done.
func (a *actor) step() (r flow.Record, out, done bool) {
	if len(a.pend) > 0 && a.pend[0].Start*1e6 <= a.evt {
		return a.popPending(), true, false
	}
	if a.evt >= a.end {
		a.evt = never
		return r, false, len(a.pend) == 0
	}
	a.evt = a.gen.event(a, a.evt)
	return r, false, false
}

// Generator streams a scenario's records. It is not safe for concurrent
// use.
type Generator struct {
	cfg    Config
	heap   []*actor
	keys   []int64
	labels []Label
}

// New validates cfg and returns a Generator positioned at the scenario's
// start.
func New(cfg Config) (*Generator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg}
	g.heap = append(background(cfg), attackActors(cfg)...)
	g.keys = make([]int64, len(g.heap))
	for i, a := range g.heap {
		g.keys[i] = a.key()
	}
	for i := len(g.heap)/2 - 1; i >= 0; i-- {
		g.down(i)
	}
	return g, nil
}

// Config returns the scenario with its defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// End returns the end of the scenario in event time.
func (g *Generator) End() time.Time { return g.cfg.Start.Add(g.cfg.Duration) }

// Next fills recs with the scenario's next records in non-decreasing Start
// order and returns how many it wrote; 0 when the scenario is over. It
// implements flowgen.Source but ignores now: records carry the scenario's
// event time (pace a sender with a virtual clock starting at
// Config.Start).
func (g *Generator) Next(recs []flow.Record, _ time.Time) int {
	n := 0
	for n < len(recs) && len(g.heap) > 0 {
		a := g.heap[0]
		r, out, done := a.step()
		if done {
			last := len(g.heap) - 1
			g.heap[0], g.keys[0] = g.heap[last], g.keys[last]
			g.heap, g.keys = g.heap[:last], g.keys[:last]
			g.down(0)
			continue
		}
		if out {
			recs[n] = r
			n++
		}
		g.keys[0] = a.key()
		g.down(0)
	}
	return n
}

func (g *Generator) down(i int) {
	h, k := g.heap, g.keys
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && k[r] < k[l] {
			c = r
		}
		if k[i] <= k[c] {
			return
		}
		h[i], h[c] = h[c], h[i]
		k[i], k[c] = k[c], k[i]
		i = c
	}
}

// Labels returns the ground truth, sorted by attack, role and address:
// every address a perfect detector reports. It replays the attacks alone
// (not the background) on first call.
func (g *Generator) Labels() []Label {
	if g.labels == nil {
		g.labels = computeLabels(g.cfg)
	}
	return slices.Clone(g.labels)
}

func computeLabels(cfg Config) []Label {
	type key struct {
		addr   flow.Addr
		attack int
	}
	seen := map[key]*Label{}
	for _, a := range attackActors(cfg) {
		for {
			r, out, done := a.step()
			if done {
				break
			}
			if !out {
				continue
			}
			for _, addr := range [2]flow.Addr{r.SrcAddr, r.DstAddr} {
				role, ok := a.roles[addr]
				if !ok {
					continue
				}
				t := r.StartTime()
				k := key{addr, a.attack}
				if l := seen[k]; l != nil {
					l.First, l.Last = minTime(l.First, t), maxTime(l.Last, t)
					continue
				}
				seen[k] = &Label{Addr: addr, Role: role, Attack: a.attack, Kind: cfg.Attacks[a.attack].Kind, First: t, Last: t}
			}
		}
	}
	out := make([]Label, 0, len(seen))
	for _, l := range seen {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b Label) int {
		return cmp.Or(cmp.Compare(a.Attack, b.Attack), cmp.Compare(a.Role, b.Role), a.Addr.Netip().Compare(b.Addr.Netip()))
	})
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// flowRec builds a record starting at t (ns) lasting dur (ms).
func flowRec(t, dur int64, src, dst flow.Addr, sp, dp uint16, proto uint8, pkts, bytes uint64, flags uint8) flow.Record {
	r := flow.Record{
		Start: t / 1e6, Bytes: bytes, Packets: pkts,
		SrcAddr: src, DstAddr: dst, Exporter: exporter,
		SrcPort: sp, DstPort: dp, Proto: proto, TCPFlags: flags,
		InIf: 1, OutIf: 2, SrcAS: 64500, DstAS: 64512,
	}
	r.End = r.Start + dur
	if isInternal(src) {
		r.InIf, r.OutIf, r.SrcAS, r.DstAS = 2, 1, 64512, 64500
	}
	return r
}

// isInternal reports whether a is in 198.18.0.0/15 or 2001:db8:100::/48.
func isInternal(a flow.Addr) bool {
	if a.Is4() {
		return a[12] == 198 && a[13]&0xfe == 18
	}
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8 && a[4] == 0x01 && a[5] == 0x00
}

// hdr returns the IP+transport header size for v6 or v4.
func hdr(v6 bool, tcp bool) uint64 {
	h := uint64(20)
	if v6 {
		h = 40
	}
	if tcp {
		return h + 20
	}
	return h + 8
}
