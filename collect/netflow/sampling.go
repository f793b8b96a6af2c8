package netflow

import "github.com/acd-org/acd/flow"

// maxSamplersPerDomain bounds the sampler table of one observation domain.
const maxSamplersPerDomain = 256

// maxInterfacesPerDomain bounds the interface table of one observation
// domain (ingress and egress entries together).
const maxInterfacesPerDomain = 4096

// Interface scopes of an options record.
const (
	scopeNone uint8 = iota
	scopeIn         // ingressInterface 10, or v9 scope type 2 (Interface)
	scopeOut        // egressInterface 14
)

// ifTable holds the sampling rates an exporter gave per interface in
// options data scoped by interface (ifIndex -> rate).
type ifTable struct {
	in, out map[uint32]uint32
}

// rateOf returns the rate of a record's interfaces: the ingress table for
// its input interface, else the egress table for its output interface; 0
// if neither is known.
func (t *ifTable) rateOf(inIf, outIf uint32) uint32 {
	if len(t.in) > 0 {
		if r, ok := t.in[inIf]; ok {
			return r
		}
	}
	if len(t.out) > 0 {
		return t.out[outIf]
	}
	return 0
}

// learn stores rate for interface ifIndex of scope sc; it reports whether
// the table changed. Past maxInterfacesPerDomain an arbitrary entry is
// forgotten.
func (t *ifTable) learn(sc uint8, ifIndex, rate uint32) bool {
	m := &t.in
	if sc == scopeOut {
		m = &t.out
	}
	old, ok := (*m)[ifIndex]
	if ok && old == rate {
		return false
	}
	if *m == nil {
		*m = make(map[uint32]uint32)
	}
	if !ok && len(t.in)+len(t.out) >= maxInterfacesPerDomain {
		victim := t.in
		if len(victim) == 0 {
			victim = t.out
		}
		for k := range victim { // evict an arbitrary one
			delete(victim, k)
			break
		}
	}
	(*m)[ifIndex] = rate
	return true
}

// ifRate sets r's sampling from the interface table of its domain, if it
// has a rate for r's interfaces.
func (c *setCtx) ifRate(r *flow.Record) {
	if rate := c.ifs.rateOf(r.InIf, r.OutIf); rate > 0 {
		r.SamplingRate, r.SamplingSource = rate, flow.SamplingExporter
	}
}

// learnOptions learns what an options record v says: sampling rates
// (for one sampler id, one interface, or the whole domain) and the system
// init time.
func (d *Decoder) learnOptions(e *exporter, dom *domain, v *recVals) {
	if v.hasInit {
		dom.initMs, dom.hasInit = v.init, true
	}
	rate := v.rate()
	if rate == 0 {
		return
	}
	e.rate = rate
	if !v.hasSampler && v.scope == scopeNone {
		if dom.rate != rate {
			dom.rate = rate
			d.observe(e, flow.EventSamplingLearned, 1)
		}
		return
	}
	// Scoped by a sampler or an interface: the last such rate is the
	// domain's fallback when it has no domain-wide rate.
	dom.anyRate = rate
	changed := false
	if v.scope != scopeNone {
		if dom.ifs == nil {
			dom.ifs = &ifTable{}
		}
		changed = dom.ifs.learn(v.scope, v.scopeIf, rate)
	}
	if v.hasSampler && dom.learnSampler(v.sampler, rate) {
		changed = true
	}
	if changed {
		d.observe(e, flow.EventSamplingLearned, 1)
	}
}

// learnSampler stores rate for sampler id in dom's sampler table; it
// reports whether the table changed.
func (dom *domain) learnSampler(id uint64, rate uint32) bool {
	if old, ok := dom.samplers[id]; ok && old == rate {
		return false
	}
	if dom.samplers == nil {
		dom.samplers = make(map[uint64]uint32)
	}
	if _, ok := dom.samplers[id]; !ok && len(dom.samplers) >= maxSamplersPerDomain {
		for k := range dom.samplers { // evict an arbitrary one
			delete(dom.samplers, k)
			break
		}
	}
	dom.samplers[id] = rate
	return true
}
