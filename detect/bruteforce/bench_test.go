package bruteforce

import (
	"math"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// BenchmarkObserve runs the detector over the screened "bruteforce"
// scenario (an hour: background plus the three attacks) in
// batches of 1024, advancing the watermark as the engine does.
func BenchmarkObserve(b *testing.B) {
	cfg := scenario.DefaultSuite()[2]
	recs := eval.ScreenedFor(b, cfg, nil, 0)
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	emit := func(detect.Finding) {}
	const batch = flow.DefaultBatchSize
	// The watermark after each batch, as the engine computes it (not
	// the detector's cost, so outside the timed loop).
	lateness := time.Minute.Milliseconds()
	nb := len(recs) / batch
	wms := make([]int64, nb)
	maxEnd := int64(math.MinInt64)
	for i := range wms {
		for _, r := range recs[i*batch : (i+1)*batch] {
			maxEnd = max(maxEnd, r.End)
		}
		wms[i] = maxEnd - lateness
	}
	k := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if k == nb {
			d.Flush(emit)
			d.close, d.expired, k = math.MinInt64, math.MinInt64, 0
		}
		d.Observe(recs[k*batch:(k+1)*batch], wms[k], emit)
		d.Advance(wms[k], emit)
		k++
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / batch
	b.ReportMetric(ns, "ns/record")
	if s := d.Stats(); s.Keys > 0 {
		b.ReportMetric(s.BytesPerKey(), "B/key")
	}
}
