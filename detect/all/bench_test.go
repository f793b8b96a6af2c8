package all

import (
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
)

// BenchmarkDetect measures the whole detection stage, every detector on,
// on one core, over eval.BenchMix: records/s is the figure (the goal is 2 M records/s). The
// records are replayed with their times shifted by the mix's duration on
// every pass, so event time keeps moving forward.
func BenchmarkDetect(b *testing.B) {
	cfg := eval.BenchMix()
	recs := eval.ScreenedFor(b, cfg, nil, 0)
	dets, err := DefaultConfig().Build()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := detect.New(detect.DefaultConfig(), dets, detect.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]flow.Record, flow.DefaultBatchSize)
	span := cfg.Duration.Milliseconds()
	b.ResetTimer()
	var done int
	for pos, pass := 0, int64(0); done < b.N; {
		n := min(len(batch), len(recs)-pos, b.N-done)
		copy(batch, recs[pos:pos+n])
		if pass > 0 {
			shift := pass * span
			for i := range batch[:n] {
				batch[i].Start += shift
				batch[i].End += shift
			}
		}
		eng.Observe(batch[:n])
		done += n
		if pos += n; pos == len(recs) {
			pos, pass = 0, pass+1
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(eng.Book().Len()), "suspects")
}
