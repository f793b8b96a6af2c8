package bruteforce

import (
	"fmt"
	"math"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// finding builds the finding about k's source from its state and window
// sums.
func (d *Detector) finding(k *key, st *state, w window) detect.Finding {
	svc := d.svcs[k.svc].name
	n := float64(max(st.total, 1))
	share := w.share()
	ev := detect.Evidence{
		Detector: Name,
		Role:     detect.RoleBruteforce,
		Score:    d.score(w),
		Reason: fmt.Sprintf("%d short %s connections (login attempts) to one server within %v, at most %d in %v, %.0f%% of its %s connections there",
			w.attempts, svc, d.cfg.LongWindow, w.peak, d.cfg.Bucket, 100*share, svc),
		First: detect.Millis(st.first),
		Last:  detect.Millis(st.last),
		Counts: map[string]float64{
			"attempts":            float64(w.attempts),
			"attempts_peak":       float64(w.peak),
			"attempts_total":      float64(st.total),
			"other_connections":   float64(w.other),
			"attempt_share":       math.Round(share*1e4) / 1e4,
			"answered":            float64(st.answered),
			"destinations":        1,
			"packets_per_attempt": math.Round(float64(st.packets)/n*10) / 10,
			"bytes_per_attempt":   math.Round(float64(st.bytes) / n),
			"active_buckets":      float64(w.active),
		},
		Series: d.series(st, w),
		Peers:  []detect.Peer{detect.PeerOf(k.dst, k.pseudo&pseudoDst != 0, "target", float64(w.attempts))},
	}
	for i := range int(st.nsamples) {
		ev.Samples = append(ev.Samples, sampleOf(k, &st.samples[i]))
	}
	f := detect.Finding{Addr: k.src, Pseudo: k.pseudo&pseudoSrc != 0, Role: detect.RoleBruteforce, Evidence: ev}
	if f.Pseudo {
		f.KeyEpoch = k.epoch
	}
	return f
}

// series returns the attempts per bucket from the first bucket with
// attempts in the long window to the head.
func (d *Detector) series(st *state, w window) *detect.Series {
	if w.span == 0 {
		return nil
	}
	s := &detect.Series{Name: "attempts per " + d.cfg.Bucket.String(), Stride: d.bucketMs,
		T: make([]int64, w.span), V: make([]float64, w.span)}
	for i := range w.span {
		b := st.head - int64(w.span-1-i)
		s.T[i] = b * d.bucketMs
		s.V[i] = float64(st.attempts[b&(ringLen-1)])
	}
	return s
}

// sampleOf rebuilds a quoted record from a compact sample.
func sampleOf(k *key, s *sample) detect.Sample {
	r := flow.Record{
		Start: s.start, End: s.end, Packets: uint64(s.packets), Bytes: uint64(s.bytes),
		SrcAddr: k.src, DstAddr: k.dst, SrcPort: s.sport, DstPort: s.dport, Proto: 6,
		TCPFlags: s.flags, SamplingRate: s.sampling, Class: s.class,
	}
	if k.pseudo&pseudoSrc != 0 {
		r.Pseudo |= flow.PseudoSrc
	}
	if k.pseudo&pseudoDst != 0 {
		r.Pseudo |= flow.PseudoDst
	}
	return detect.SampleOf(&r)
}
