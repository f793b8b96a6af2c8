package netflow

import "github.com/acd-org/acd/flow"

// maxSamplersPerDomain bounds the sampler table of one observation domain.
const maxSamplersPerDomain = 256

// learnOptions learns what an options record v says: sampling rates
// (for one sampler id, or for the whole domain) and the system init time.
func (d *Decoder) learnOptions(e *exporter, dom *domain, v *recVals) {
	if v.hasInit {
		dom.initMs, dom.hasInit = v.init, true
	}
	rate := v.rate()
	if rate == 0 {
		return
	}
	e.rate = rate
	if !v.hasSampler {
		if dom.rate != rate {
			dom.rate = rate
			d.observe(e, flow.EventSamplingLearned, 1)
		}
		return
	}
	dom.anyRate = rate
	if old, ok := dom.samplers[v.sampler]; ok && old == rate {
		return
	}
	if dom.samplers == nil {
		dom.samplers = make(map[uint64]uint32)
	}
	if _, ok := dom.samplers[v.sampler]; !ok && len(dom.samplers) >= maxSamplersPerDomain {
		for k := range dom.samplers { // evict an arbitrary one
			delete(dom.samplers, k)
			break
		}
	}
	dom.samplers[v.sampler] = rate
	d.observe(e, flow.EventSamplingLearned, 1)
}
