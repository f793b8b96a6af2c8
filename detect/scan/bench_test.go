package scan

import (
	"math"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
)

// BenchmarkObserve measures Observe (and the Advance calls the engine
// makes) on screened records of the "scans" scenario: background plus
// scans, in batches of 1024. The records are replayed shifted in time,
// so the state stays in its steady state. Each batch is first copied to
// a buffer outside the timer, as the decoder and the screening stage
// leave it in the cache in the pipeline.
func BenchmarkObserve(b *testing.B) {
	recs := eval.ScreenedFor(b, eval.Scenario(b, "scans"), nil, 1<<19)
	span := recs[len(recs)-1].Start - recs[0].Start + 3_600_000
	d := newDet(b, nil)
	emit := func(detect.Finding) {}
	maxEnd, wm := int64(math.MinInt64), int64(math.MinInt64)
	const batch = flow.DefaultBatchSize
	// The engine's watermark: the latest record start less a minute.
	lateness := int64(60_000)
	n, pos := 0, 0
	buf := make([]flow.Record, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if pos >= len(recs) {
			b.StopTimer()
			for i := range recs {
				recs[i].Start += span
				recs[i].End += span
			}
			pos = 0
			b.StartTimer()
		}
		end := min(pos+batch, len(recs))
		b.StopTimer()
		bt := buf[:copy(buf, recs[pos:end])]
		b.StartTimer()
		d.Observe(bt, wm, emit)
		for i := range bt {
			maxEnd = max(maxEnd, bt[i].Start)
		}
		if w := maxEnd - lateness; w > wm {
			wm = w
			d.Advance(wm, emit)
		}
		n += len(bt)
		pos = end
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	st := d.Stats()
	b.ReportMetric(st.BytesPerKey(), "bytes/key")
	b.ReportMetric(float64(st.Late)/float64(n), "late/record")
}
