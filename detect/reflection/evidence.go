package reflection

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

const (
	maxPeers   = 10
	maxSamples = 3
)

// ref is one reflector of a victim, for the victim's evidence.
type ref struct {
	k rkey
	e *reflector
}

// emitVictim names the victim of vk and its unsolicited reflectors not
// named in this window yet: the ones never named (those that came before
// the alarm included) and the ones with new responses since a previous
// window. A reflector is named at most once per window: its counts are
// cumulative, so the next window's finding carries them forward.
func (d *Detector) emitVictim(vk vkey, v *victim, emit detect.Emit) {
	var refs []ref
	d.refls.Range(func(k rkey, e *reflector) bool {
		if k.svc != vk.svc || k.victim != vk.addr || k.vkey() != vk || !d.unsolicited(e) {
			return true
		}
		refs = append(refs, ref{k, e})
		if e.named == noWindow || e.dirty && e.named < v.ws {
			e.named, e.dirty = v.ws, false
			emit(d.reflectorFinding(&k, e, v))
		}
		return true
	})
	v.dirty = false
	emit(d.victimFinding(vk, v, refs))
}

// score says how far the victim's window is beyond the thresholds: 0.5
// at the thresholds, 1 at 16 times the weakest of them.
func (d *Detector) score(v *victim) float64 {
	ex := distinct(&v.sketch) / float64(d.cfg.MinReflectors)
	if d.cfg.MinBps > 0 {
		ex = min(ex, d.peakBps(v)/d.cfg.MinBps)
	}
	return 0.5 + 0.5*detect.Clamp01(math.Log(ex)/math.Log(16))
}

func (d *Detector) peakBps(v *victim) float64 { return float64(v.peak) * 8000 / float64(d.bucket) }

func (d *Detector) victimFinding(vk vkey, v *victim, refs []ref) detect.Finding {
	svc := &d.svcs[vk.svc]
	slices.SortFunc(refs, func(a, b ref) int {
		return cmp.Or(cmp.Compare(b.e.bytes, a.e.bytes), bytes.Compare(a.k.refl[:], b.k.refl[:]))
	})
	var peakPkts float32
	last := 0
	for i := range d.nb {
		peakPkts = max(peakPkts, v.bkt[i].pkts)
		if v.bkt[i].bytes > 0 {
			last = i
		}
	}
	series := &detect.Series{Name: "bps", Stride: d.bucket}
	for i := 0; i <= last; i++ {
		series.T = append(series.T, v.ws+int64(i)*d.bucket)
		series.V = append(series.V, math.Round(float64(v.bkt[i].bytes)*8000/float64(d.bucket)))
	}
	mean, hint := sizes(svc, v.flows, v.pkts, v.bytes)
	ev := detect.Evidence{
		Detector: Name, Role: detect.RoleDDoSVictim, Score: d.score(v),
		Reason: fmt.Sprintf("%s reflection attack: %d reflectors sent unsolicited amplified responses from UDP port %d (peak %s, mean %.0f bytes/packet, about %.0fx amplification)",
			svc.Name, len(refs), svc.Port, bps(d.peakBps(v)), mean, hint),
		First: detect.Millis(v.first), Last: detect.Millis(v.last),
		Counts: map[string]float64{
			"reflectors":          float64(len(refs)),
			"reflectors_window":   math.Round(distinct(&v.sketch)),
			"flows":               v.flows,
			"packets":             v.pkts,
			"bytes":               v.bytes,
			"requests":            v.reqs,
			"peak_bps":            math.Round(d.peakBps(v)),
			"peak_pps":            math.Round(float64(peakPkts) * 1000 / float64(d.bucket)),
			"mean_response_bytes": math.Round(mean),
			"amplification_hint":  math.Round(hint*10) / 10,
			"port":                float64(svc.Port),
			"window_s":            float64(d.w) / 1000,
		},
		Series: series,
	}
	for i := range min(len(refs), maxPeers) {
		r := &refs[i]
		ev.Peers = append(ev.Peers, detect.PeerOf(r.k.refl, r.k.pseudo&flow.PseudoSrc != 0, "reflector", r.e.bytes))
	}
	for i := range min(len(refs), maxSamples) {
		ev.Samples = append(ev.Samples, detect.SampleOf(&refs[i].e.sample))
	}
	return detect.Finding{Addr: vk.addr, Pseudo: vk.pseudo, KeyEpoch: vk.epoch, Role: detect.RoleDDoSVictim, Evidence: ev}
}

func (d *Detector) reflectorFinding(k *rkey, e *reflector, v *victim) detect.Finding {
	svc := &d.svcs[k.svc]
	mean, hint := sizes(svc, e.flows, e.pkts, e.bytes)
	asked := 0.0
	if e.flows > 0 {
		asked = min(1, e.reqs/e.flows)
	}
	ev := detect.Evidence{
		Detector: Name, Role: detect.RoleReflector, Score: detect.Clamp01(0.9 * d.score(v) * (1 - asked)),
		Reason: fmt.Sprintf("misused open %s server (UDP port %d) reflecting unsolicited amplified responses (mean %.0f bytes/packet, about %.0fx) at the victim of a reflection attack: report it to its abuse contact rather than block it",
			svc.Name, svc.Port, mean, hint),
		First: detect.Millis(e.first), Last: detect.Millis(e.last),
		Counts: map[string]float64{
			"flows":               e.flows,
			"packets":             e.pkts,
			"bytes":               e.bytes,
			"requests":            e.reqs,
			"mean_response_bytes": math.Round(mean),
			"amplification_hint":  math.Round(hint*10) / 10,
			"port":                float64(svc.Port),
		},
		Peers:   []detect.Peer{detect.PeerOf(k.victim, k.pseudo&flow.PseudoDst != 0, "victim", e.bytes)},
		Samples: []detect.Sample{detect.SampleOf(&e.sample)},
	}
	f := detect.Finding{Addr: k.refl, Role: detect.RoleReflector, Evidence: ev}
	if k.pseudo&flow.PseudoSrc != 0 {
		f.Pseudo, f.KeyEpoch = true, k.epoch
	}
	return f
}

// sizes returns the mean response packet size and the amplification
// hint (response bytes per flow over the service's request size).
func sizes(svc *service, flows, pkts, byts float64) (mean, hint float64) {
	if pkts > 0 {
		mean = byts / pkts
	}
	if flows > 0 {
		hint = byts / flows / float64(svc.RequestSize)
	}
	return mean, hint
}

// bps renders a bit rate.
func bps(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", x/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", x)
}
